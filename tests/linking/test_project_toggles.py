"""Every project toggle, turned off, stops what it names on every path: the issue page, the API, webhooks
(auto-link), the ToolsPlus import and what is written on the Jira issue."""

import io

import pytest
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse

from deliveries.models import Delivery
from linking import services
from linking.models import ConversationLink
from linking.services import IssueTarget
from linking.toolsplus_import import TOOLSPLUS_PROPERTY

pytestmark = pytest.mark.django_db

URL = "https://app.intercom.com/a/inbox/sandbox1/inbox/shared/all/conversation/{}"


def _off(connected, toggle: str) -> None:
    setattr(connected.project, toggle, False)
    connected.project.save(update_fields=[toggle])


def _linked(issue) -> set[str]:
    return set(ConversationLink.objects.filter(issue_id=issue["id"]).values_list("conversation_id", flat=True))


# --- comment_from_jira ------------------------------------------------------------------------------------


@pytest.fixture
def commentable(connected):
    """An issue with one linked conversation, and the project's comments turned off."""
    issue = connected.issue()
    connected.link(issue, connected.intercom.add_conversation()["id"])
    _off(connected, "comment_from_jira")
    return issue


def test_comment_from_jira_off_refuses_notes_from_the_issue_page(admin_client, commentable):
    response = admin_client.post(reverse("issue_comment", args=[commentable["key"]]), {"body": "Hi"}, follow=True)
    assert Delivery.objects.count() == 0
    assert "Comments from Jira are turned off for project SUP" in response.content.decode()


def test_comment_from_jira_off_refuses_the_preview_too(admin_client, commentable):
    url = reverse("issue_comment", args=[commentable["key"]])
    response = admin_client.post(url, {"body": "Hi", "preview": "1"}, follow=True)
    assert "Comments from Jira are turned off" in response.content.decode()


def test_comment_from_jira_off_hides_the_comment_form_and_says_why(admin_client, commentable):
    page = admin_client.get(reverse("issue_detail", args=[commentable["key"]])).content.decode()
    assert "comment-form" not in page
    assert "Comments from Jira are turned off for project SUP" in page


def test_comment_from_jira_off_refuses_notes_and_replies_from_the_api(admin_client, connected, commentable):
    connected.project.customer_replies_allowed = True
    connected.project.save()
    api = reverse("api_issue_comment", args=[commentable["key"]])
    for message_type in ("note", "comment"):
        response = admin_client.post(api, {"body": "Hi", "message_type": message_type}, content_type="application/json")
        assert response.status_code == 403
        assert "Comments from Jira are turned off for project SUP" in response.json()["detail"]
    assert Delivery.objects.count() == 0


# --- linking_enabled --------------------------------------------------------------------------------------


def test_linking_off_refuses_links_from_the_issue_page_and_hides_the_form(admin_client, connected):
    issue = connected.issue()
    _off(connected, "linking_enabled")
    response = admin_client.post(f"/issues/{issue['key']}/link", {"conversation": "55"}, follow=True)
    page = response.content.decode()
    assert "Linking is turned off for project SUP" in page and "link-form" not in page
    assert _linked(issue) == set()


def test_linking_off_refuses_links_from_the_api(admin_client, connected):
    issue = connected.issue()
    _off(connected, "linking_enabled")
    response = admin_client.post("/api/links/", {"issue": issue["key"], "conversation": "55"},
                                 content_type="application/json")
    assert response.status_code == 409 and "Linking is turned off" in response.json()["detail"]
    assert _linked(issue) == set()


def test_linking_off_stops_auto_links_from_webhooks(connected, deliver):
    _off(connected, "linking_enabled")
    issue = connected.issue(description=URL.format(501))
    deliver()
    connected.jira.add_comment(issue["key"], URL.format(502))
    deliver()
    assert _linked(issue) == set()


def test_linking_off_stops_the_toolsplus_import(connected, eager):
    issue = connected.issue()
    connected.jira.issue(issue["key"])["properties"][TOOLSPLUS_PROPERTY] = {"count": 1, "conversationIds": ["101"]}
    _off(connected, "linking_enabled")
    out = io.StringIO()
    with eager(execute=True):
        call_command("import_toolsplus", "--site", str(connected.site.pk), stdout=out)
    assert _linked(issue) == set()
    assert f"{issue['key']}: linking is turned off for project SUP" in out.getvalue()


# --- auto_link_urls ---------------------------------------------------------------------------------------


def test_auto_link_off_stops_links_from_descriptions_and_comments(connected, deliver):
    _off(connected, "auto_link_urls")
    issue = connected.issue(description=URL.format(503))
    deliver()
    connected.jira.add_comment(issue["key"], URL.format(504))
    deliver()
    connected.jira.edit_fields(issue["key"], {"description": URL.format(505)})
    deliver()
    assert _linked(issue) == set()


def test_auto_link_off_leaves_linking_by_hand_alone(admin_client, connected):
    issue = connected.issue()
    _off(connected, "auto_link_urls")
    admin_client.post(f"/issues/{issue['key']}/link", {"conversation": "56"})
    assert _linked(issue) == {"56"}


# --- customer_replies_allowed (off by default) ------------------------------------------------------------


def test_replies_off_refuses_replies_from_the_issue_page_and_the_api(admin_client, connected):
    issue = connected.issue()
    connected.link(issue, connected.intercom.add_conversation()["id"])
    assert connected.project.customer_replies_allowed is False
    page = admin_client.post(reverse("issue_comment", args=[issue["key"]]),
                             {"body": "Hi", "message_type": "comment"}, follow=True).content.decode()
    assert "Customer-visible replies are turned off for project SUP" in page
    assert 'value="comment"' not in page  # the form offers no reply
    api = admin_client.post(reverse("api_issue_comment", args=[issue["key"]]),
                            {"body": "Hi", "message_type": "comment"}, content_type="application/json")
    assert api.status_code == 403
    assert Delivery.objects.count() == 0


# --- conversation_view ------------------------------------------------------------------------------------


def test_conversation_view_off_shows_no_conversation_details_on_the_issue_page(admin_client, connected):
    issue = connected.issue()
    conversation = connected.intercom.add_conversation(
        subject="Refund not received", contact=connected.intercom.add_contact(name="Grace Hopper")
    )
    connected.link(issue, conversation["id"])
    _off(connected, "conversation_view")
    page = admin_client.get(f"/issues/{issue['key']}/").content.decode()
    assert f"Conversation {conversation['id']}" in page and "Conversation details are turned off" in page
    assert "Grace Hopper" not in page and "Refund not received" not in page


def test_conversation_view_off_keeps_customer_details_out_of_the_jira_remote_link(connected, eager):
    issue = connected.issue()
    conversation = connected.intercom.add_conversation(
        subject="Refund not received", contact=connected.intercom.add_contact(name="Grace Hopper")
    )
    _off(connected, "conversation_view")
    target = IssueTarget(site=connected.site, issue_id=issue["id"], issue_key=issue["key"], project_key="SUP")
    with eager(execute=True), transaction.atomic():
        services.link_create(target=target, workspace=connected.workspace, conversation_id=conversation["id"],
                             source="ui")
    (remote,) = connected.sim_issue(issue["key"])["remotelinks"]
    assert remote["object"]["title"] == f"Intercom: Conversation {conversation['id']}"
    assert "Grace Hopper" not in str(remote) and "Refund not received" not in str(remote)
