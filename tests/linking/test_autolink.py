"""Events from Jira: auto-link from descriptions and comments, keep keys current, drop deleted issues' links."""

import json

import pytest

from linking.models import ConversationLink
from pipeline import process

pytestmark = pytest.mark.django_db

URL = "https://app.intercom.com/a/inbox/sandbox1/inbox/shared/all/conversation/{}#part_id=comment-1"


def _linked(issue_id) -> set[str]:
    return set(ConversationLink.objects.filter(issue_id=issue_id).values_list("conversation_id", flat=True))


def test_a_url_in_a_new_issues_description_links_the_conversation(connected, deliver):
    issue = connected.issue(description=f"Seen by a customer: {URL.format(501)}")
    assert "processed" in deliver()
    link = ConversationLink.objects.get(issue_id=issue["id"])
    assert (link.conversation_id, link.source, link.origin, link.issue_key) == (
        "501",
        "url",
        "description",
        issue["key"],
    )
    assert len(connected.sim_issue(issue["key"])["remotelinks"]) == 1


def test_a_url_in_a_comment_links_the_conversation(connected, deliver):
    issue = connected.issue()
    deliver()
    connected.jira.add_comment(issue["key"], f"Another one: {URL.format(502)}")
    deliver()
    assert _linked(issue["id"]) == {"502"}


def test_a_url_of_another_workspace_does_not_link(connected, deliver):
    issue = connected.issue(description="https://app.intercom.com/a/inbox/otherws/inbox/conversation/9")
    deliver()
    assert _linked(issue["id"]) == set()


def test_auto_link_is_off_when_the_project_turns_it_off(connected, deliver):
    connected.project.auto_link_urls = False
    connected.project.save()
    issue = connected.issue(description=URL.format(503))
    deliver()
    assert _linked(issue["id"]) == set()


def test_removing_the_url_from_the_description_undoes_only_the_link_it_made(connected, deliver, admin_client):
    issue = connected.issue(description=f"{URL.format(601)} and {URL.format(602)}")
    deliver()
    # 603 is linked by hand on the issue page, never written in the description.
    response = admin_client.post(f"/issues/{issue['key']}/link", {"conversation": "603"})
    assert response.status_code == 302
    connected.jira.edit_fields(issue["key"], {"description": "Nothing here any more"})
    deliver()
    assert _linked(issue["id"]) == {"603"}


def test_a_link_made_on_the_issue_page_survives_its_url_leaving_the_description(connected, deliver, admin_client):
    issue = connected.issue()
    deliver()
    admin_client.post(f"/issues/{issue['key']}/link", {"conversation": URL.format(604)})
    connected.jira.edit_fields(issue["key"], {"description": f"See {URL.format(604)}"})
    deliver()
    connected.jira.edit_fields(issue["key"], {"description": "gone"})
    deliver()
    assert _linked(issue["id"]) == {"604"}
    assert ConversationLink.objects.get(issue_id=issue["id"]).source == "ui"


def test_a_moved_issue_keeps_its_links_under_the_new_key(connected, deliver):
    connected.jira.add_project("OPS", "Operations")
    issue = connected.issue(description=URL.format(701))
    deliver()
    new_key = connected.jira.move_issue(issue["key"], "OPS")
    deliver()
    link = ConversationLink.objects.get(issue_id=issue["id"])
    assert (link.issue_key, link.project_key) == (new_key, "OPS")


def test_deleting_the_issue_drops_its_links(connected, deliver):
    issue = connected.issue(description=URL.format(801))
    deliver()
    assert _linked(issue["id"]) == {"801"}
    connected.jira.delete_issue(issue["key"])
    deliver()
    assert _linked(issue["id"]) == set()


def test_our_own_app_users_comments_never_create_links(connected, deliver):
    issue = connected.issue()
    deliver()
    connected.jira.add_comment(issue["key"], URL.format(901), as_user=connected.jira.app_user["accountId"])
    deliver()
    assert _linked(issue["id"]) == set()


def test_a_data_center_comment_event_without_its_issue_still_links_after_reading_the_issue(client, intercom_sim, eager):
    """Server/DC `comment_created` names only the comment; a task reads the issue to find its project."""
    from sandbox.jira import APP_USER_TOKEN, JiraSimulator
    from tests import factories
    from tests.linking.conftest import HookReceiver
    from tests.webhooks import post_jira

    with JiraSimulator(deployment="datacenter") as jira:
        site = factories.JiraSiteFactory(
            base_url=jira.url,
            deployment="datacenter",
            api_token=APP_USER_TOKEN,
            app_account_id=jira.app_user["accountId"],
        )
        workspace = factories.IntercomWorkspaceFactory(
            workspace_id="sandbox1", api_base_url=intercom_sim.url, access_token=intercom_sim.default_token
        )
        sup = next(p for p in jira.projects.values() if p["key"] == "SUP")
        factories.ProjectConnectionFactory(site=site, workspace=workspace, project_id=sup["id"], project_key="SUP")
        receiver = HookReceiver()
        try:
            jira.add_webhook(receiver.url, events=["comment_created"])
            issue = jira.create_issue("SUP", "DC issue")
            jira.add_comment(issue["key"], f"From the inbox: {URL.format(1001)}")
            bodies = receiver.take()
        finally:
            receiver.stop()
        delivered = json.loads(bodies[0])
        assert len(bodies) == 1 and delivered["webhookEvent"] == "comment_created" and "issue" not in delivered
        with eager(execute=False):
            response = post_jira(client, site, None, body=bodies[0])
        with eager(execute=True):
            assert process.webhook_event_process(response.json()["id"]) == "processed"
        link = ConversationLink.objects.get(issue_id=issue["id"])
        assert (link.conversation_id, link.issue_key, link.origin) == (
            "1001",
            issue["key"],
            f"comment:{jira.issue(issue['key'])['comments'][0]['id']}",
        )
