"""The issue view: access follows Jira, cards show the chosen fields, Intercom HTML renders inert."""

import re

import pytest
from django.core.cache import cache
from django.test import override_settings

from linking.models import ConversationLink
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(connected):
    """A Jira user mapped to their own Jira account, with the Agent role."""
    user = factories.UserFactory(role="Agent")
    jira_user = connected.jira.add_user("Bea Agent", "bea@example.com")
    factories.ProfileFactory(user=user, jira_account_id=jira_user["accountId"])
    user.jira_account_id = jira_user["accountId"]
    return user


def test_a_user_whose_jira_account_may_browse_the_issue_sees_its_conversations(connected, agent, client):
    issue = connected.issue()
    conversation = connected.intercom.add_conversation(subject="Cannot pay")
    connected.link(issue, conversation["id"])
    client.force_login(agent)
    page = client.get(f"/issues/{issue['key']}/").content.decode()
    assert "Cannot pay" in page
    assert "https://app.intercom.com/a/inbox/sandbox1/inbox/conversation/" + conversation["id"] in page


def test_a_user_whose_jira_account_may_not_browse_the_issue_is_refused_and_told_why(connected, agent, client):
    issue = connected.issue()
    conversation = connected.intercom.add_conversation(subject="Secret customer")
    connected.link(issue, conversation["id"])
    connected.jira.set_permissions(agent.jira_account_id, "SUP", set())
    client.force_login(agent)
    response = client.get(f"/issues/{issue['key']}/")
    assert response.status_code == 403
    page = response.content.decode()
    assert "Secret customer" not in page
    assert f"Your Jira account may not browse {issue['key']}" in page


def test_a_user_without_a_jira_account_is_refused_and_told_to_get_one_mapped(connected, client):
    issue = connected.issue()
    user = factories.UserFactory(role="Agent")
    client.force_login(user)
    response = client.get(f"/issues/{issue['key']}/")
    assert response.status_code == 403
    assert "not mapped to a Jira account" in response.content.decode()


def test_an_admin_sees_the_conversations_without_a_jira_account(connected, admin_client):
    issue = connected.issue()
    conversation = connected.intercom.add_conversation(subject="Admin can see")
    connected.link(issue, conversation["id"])
    response = admin_client.get(f"/issues/{issue['key']}/")
    assert response.status_code == 200
    assert "Admin can see" in response.content.decode()


def test_the_jira_answer_is_cached_briefly(connected, agent, client):
    issue = connected.issue()
    client.force_login(agent)
    assert client.get(f"/issues/{issue['key']}/").status_code == 200
    connected.jira.set_permissions(agent.jira_account_id, "SUP", set())
    assert client.get(f"/issues/{issue['key']}/").status_code == 200  # still the cached answer
    cache.clear()  # what expiry does after two minutes
    assert client.get(f"/issues/{issue['key']}/").status_code == 403


def test_the_api_follows_the_same_access_rule(connected, agent, client):
    issue = connected.issue()
    connected.link(issue, "41")
    client.force_login(agent)
    assert [row["conversation_id"] for row in client.get(f"/api/links/?issue={issue['key']}").json()["results"]] == [
        "41"
    ]
    assert client.get("/api/links/?conversation=41").json()["results"][0]["issue_key"] == issue["key"]
    connected.jira.set_permissions(agent.jira_account_id, "SUP", set())
    cache.clear()
    assert client.get(f"/api/links/?issue={issue['key']}").status_code == 403
    assert client.get("/api/links/?conversation=41").json()["results"] == []
    response = client.post("/api/links/", {"issue": issue["key"], "conversation": "42"})
    assert response.status_code == 403


def test_the_api_links_and_unlinks_idempotently(connected, admin_client):
    issue = connected.issue()
    url = "https://app.intercom.io/a/apps/sandbox1/inbox/inbox/all/conversations/55"
    first = admin_client.post("/api/links/", {"issue": issue["key"], "conversation": url})
    again = admin_client.post("/api/links/", {"issue": issue["key"], "conversation": "55"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["source"] == "api"
    other = admin_client.post(
        "/api/links/",
        {"issue": issue["key"], "conversation": "https://app.intercom.com/a/inbox/zzz/inbox/conversation/5"},
    )
    assert other.status_code == 400
    assert "zzz" in other.json()["conversation"][0]
    assert admin_client.delete(f"/api/links/{first.json()['id']}/").status_code == 204
    assert admin_client.delete(f"/api/links/{first.json()['id']}/").status_code == 204
    assert not ConversationLink.objects.exists()


def test_a_viewer_without_change_links_cannot_link(connected, client):
    issue = connected.issue()
    viewer = factories.UserFactory(role="Viewer")
    client.force_login(viewer)
    assert client.post("/api/links/", {"issue": issue["key"], "conversation": "5"}).status_code == 403
    assert client.post(f"/issues/{issue['key']}/link", {"conversation": "5"}).status_code == 403
    assert not ConversationLink.objects.exists()


def test_the_issue_page_links_by_url_and_refuses_another_workspace_with_a_message(connected, admin_client):
    issue = connected.issue()
    ok = admin_client.post(
        f"/issues/{issue['key']}/link",
        {"conversation": "https://app.eu.intercom.com/a/inbox/sandbox1/inbox/conversation/66#part_id=2"},
        follow=True,
    )
    assert "Conversation 66 is now linked" in ok.content.decode()
    refused = admin_client.post(
        f"/issues/{issue['key']}/link",
        {"conversation": "https://app.intercom.com/a/inbox/elsewhere/inbox/conversation/67"},
        follow=True,
    )
    assert "elsewhere" in refused.content.decode()
    assert list(ConversationLink.objects.values_list("conversation_id", flat=True)) == ["66"]


def test_deleted_and_unreachable_conversations_are_flagged_with_an_unlink_action(connected, admin_client):
    issue = connected.issue()
    connected.link(issue, "999999")  # Intercom has no such conversation
    page = admin_client.get(f"/issues/{issue['key']}/").content.decode()
    assert "Deleted in Intercom" in page
    assert re.search(r'action="/issues/[A-Z]+-\d+/links/\d+/unlink"', page)


def test_an_unreachable_workspace_is_not_mistaken_for_a_deleted_conversation(connected, admin_client):
    issue = connected.issue()
    conversation = connected.intercom.add_conversation()
    connected.link(issue, conversation["id"], refresh=False)
    connected.intercom.revoke_token()
    connected.refresh()
    page = admin_client.get(f"/issues/{issue['key']}/").content.decode()
    assert "Unreachable" in page
    assert "Deleted in Intercom" not in page


def test_cards_show_the_chosen_fields_in_the_chosen_order(connected, admin_client):
    issue = connected.issue()
    contact = connected.intercom.add_contact(name="Ada Lovelace", email="ada@analytical.example")
    contact["custom_attributes"]["plan"] = "Enterprise"
    conversation = connected.intercom.add_conversation(subject="Engine stalls", contact=contact, tags=["vip"])
    connected.link(issue, conversation["id"])
    factories.VisibleFieldsFactory(workspace=connected.workspace, entity="conversation", fields=["tags", "subject"])
    factories.VisibleFieldsFactory(
        workspace=connected.workspace, entity="contact", fields=["custom_attributes.plan", "email"]
    )
    page = admin_client.get(f"/issues/{issue['key']}/").content.decode()
    labels = re.findall(r"<dt>([^<]+)</dt>", page)
    assert labels == ["Tags", "Subject or first message", "Plan", "Email"]
    assert "Enterprise" in page and "ada@analytical.example" in page and "vip" in page
    assert "Ada Lovelace" not in page  # the name was not chosen


def _tags(html: str) -> list[tuple[str, list]]:
    """Every start tag a browser would build from the page, with its attributes."""
    from html.parser import HTMLParser

    found = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, attrs))

    Collector().feed(html)
    return found


XSS = [
    "<script>alert('subject')</script>",
    "<img src=x onerror=alert('img')>",
    "<a href=\"javascript:alert('href')\">click</a>",
    "<svg onload=alert('svg')></svg>",
    '"><iframe src=//evil.example></iframe>',
    "<p style=\"background:url(javascript:alert('css'))\">styled</p>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert('mxss')>",
    "<a href=\"&#106;avascript:alert('entity')\">x</a>",
    "<form action=//evil.example><button>go</button></form>",
]


@pytest.mark.parametrize("payload", XSS)
def test_html_from_intercom_renders_inert_wherever_it_appears(connected, admin_client, payload):
    issue = connected.issue()
    contact = connected.intercom.add_contact(name=payload, email="x@example.com")
    contact["custom_attributes"]["plan"] = payload
    conversation = connected.intercom.add_conversation(subject=payload, body=f"<p>Hello</p>{payload}", contact=contact)
    connected.link(issue, conversation["id"])
    factories.VisibleFieldsFactory(
        workspace=connected.workspace, entity="conversation", fields=["subject", "first_message", "state"]
    )
    factories.VisibleFieldsFactory(
        workspace=connected.workspace, entity="contact", fields=["name", "custom_attributes.plan"]
    )
    page = admin_client.get(f"/issues/{issue['key']}/").content.decode()
    cards = page[page.index('class="conversation-cards"') :]
    tags = _tags(cards)
    assert not {name for name, _ in tags} & {"script", "iframe", "svg", "math", "style", "img", "object"}
    for name, attrs in tags:
        if name == "form":  # only our own unlink forms, posting to this site
            action = dict(attrs).get("action") or ""
            assert action.startswith("/") and not action.startswith("//"), action
        for attr, value in attrs:
            assert not attr.startswith("on"), (name, attr)
            assert attr != "style", name
            if attr in ("href", "src", "action"):
                assert not (value or "").strip().lower().startswith(("javascript:", "data:")), (name, value)
    assert "Hello" in cards  # harmless formatting survives


@override_settings(ROOT_URLCONF="tests.linking.urls_with_comment")
def test_the_comment_form_posts_to_issue_comment_with_all_conversations_chosen(connected, admin_client):
    issue = connected.issue()
    ids = connected.intercom.add_conversations(2)
    links = [connected.link(issue, cid) for cid in ids]
    page = admin_client.get(f"/issues/{issue['key']}/").content.decode()
    assert f'action="/test-only/issues/{issue["key"]}/comment"' in page
    assert 'name="body"' in page and 'value="note" checked' in page
    checked = re.findall(r'name="conversations" value="(\d+)" checked', page)
    assert checked == [str(link.pk) for link in links]
    assert 'value="comment"' not in page  # the project does not allow customer replies


@override_settings(ROOT_URLCONF="tests.linking.urls_with_comment")
def test_the_reply_choice_appears_only_where_the_project_allows_customer_replies(connected, admin_client):
    connected.project.customer_replies_allowed = True
    connected.project.save()
    issue = connected.issue()
    connected.link(issue, connected.intercom.add_conversation()["id"])
    assert 'value="comment"' in admin_client.get(f"/issues/{issue['key']}/").content.decode()


def test_the_issue_view_follows_a_moved_issue_to_its_new_key(connected, admin_client):
    connected.jira.add_project("OPS", "Operations")
    factories.ProjectConnectionFactory(
        site=connected.site,
        workspace=connected.workspace,
        project_key="OPS",
        project_id=next(p["id"] for p in connected.jira.projects.values() if p["key"] == "OPS"),
    )
    issue = connected.issue()
    new_key = connected.jira.move_issue(issue["key"], "OPS")
    response = admin_client.get(f"/issues/{issue['key']}/")
    assert response.status_code == 302
    assert response["Location"] == f"/issues/{new_key}/"
