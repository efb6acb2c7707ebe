"""Intercom tickets as link targets: linked by URL or id, shown on the issue page, written to through the
ticket API, and moved through their states by Jira transitions (rules planned from real webhooks, sent by the
engine against the simulator)."""

import pytest
from django.db import transaction

from deliveries import engine
from deliveries.models import Delivery
from linking import services
from linking.conversation_urls import ConversationRefError, parse_conversation_ref
from linking.models import ConversationLink
from linking.services import IssueTarget
from notifications.models import NotificationRule
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def pump_clean(connected, redis_client):
    redis_client.delete(*redis_client.keys(f"*{{{connected.workspace.pk}}}*") or ["none"],
                        *redis_client.keys(f"*pump:{connected.workspace.pk}") or ["none"])
    return lambda: engine.pump(connected.workspace.pk)


def _target(connected, issue) -> IssueTarget:
    return IssueTarget(site=connected.site, issue_id=issue["id"], issue_key=issue["key"], project_key="SUP")


def _link_ticket(connected, issue, ticket_id, **options):
    with transaction.atomic():
        link, _ = services.link_create(
            target=_target(connected, issue), workspace=connected.workspace, conversation_id=ticket_id,
            target_type="ticket", source="api", **options,
        )
    return link


@pytest.mark.parametrize(
    "url",
    [
        "https://app.intercom.com/a/inbox/sandbox1/inbox/shared/all/ticket/1234",
        "https://app.intercom.com/a/apps/sandbox1/tickets/1234",
        "https://app.eu.intercom.com/a/inbox/sandbox1/inbox/ticket/1234?view=List",
    ],
)
def test_ticket_urls_parse_as_tickets(url):
    ref = parse_conversation_ref(url)
    assert (ref.target_type, ref.conversation_id, ref.app_id) == ("ticket", "1234", "sandbox1")


def test_conversation_urls_stay_conversations_and_bare_ids_follow_the_caller():
    ref = parse_conversation_ref("https://app.intercom.com/a/inbox/sandbox1/inbox/conversation/77")
    assert ref.target_type == "conversation"
    assert parse_conversation_ref("77", target_type="ticket").target_type == "ticket"
    with pytest.raises(ConversationRefError, match="ticket id"):
        parse_conversation_ref("https://app.intercom.com/a/apps/sandbox1/tickets/abc")


def test_the_api_links_a_ticket_by_url_and_by_id(connected, admin_client, eager, no_rules):
    issue = connected.issue()
    ticket = connected.intercom.add_ticket(title="Export is broken")
    other = connected.intercom.add_ticket(title="Export still broken")
    url = f"https://app.intercom.com/a/inbox/sandbox1/inbox/ticket/{ticket['id']}"
    with eager(execute=True):
        by_url = admin_client.post("/api/links/", {"issue": issue["key"], "conversation": url},
                                   content_type="application/json")
        by_id = admin_client.post("/api/links/", {"issue": issue["key"], "conversation": other["id"],
                                                  "target_type": "ticket"}, content_type="application/json")
    assert (by_url.status_code, by_id.status_code) == (201, 201), (by_url.content, by_id.content)
    assert by_url.json()["target_type"] == by_id.json()["target_type"] == "ticket"
    listed = admin_client.get(f"/api/links/?issue={issue['key']}").json()["results"]
    assert {(r["target_type"], r["conversation_id"]) for r in listed} == {
        ("ticket", ticket["id"]), ("ticket", other["id"])
    }
    remote = connected.sim_issue(issue["key"])["remotelinks"]
    assert {r["globalId"] for r in remote} == {
        f"intercom:sandbox1:ticket:{ticket['id']}", f"intercom:sandbox1:ticket:{other['id']}"
    }
    assert any("Export is broken" in r["object"]["title"] for r in remote)


def test_a_ticket_and_a_conversation_with_the_same_id_are_two_links(connected, eager, no_rules):
    issue = connected.issue()
    conversation = connected.intercom.add_conversation()
    with transaction.atomic():
        services.link_create(target=_target(connected, issue), workspace=connected.workspace,
                             conversation_id=conversation["id"], source="api")
    _link_ticket(connected, issue, conversation["id"])
    assert ConversationLink.objects.filter(issue_id=issue["id"]).count() == 2


def test_only_a_ticket_can_be_the_tracker_and_only_one(connected, admin_client, eager, no_rules):
    issue = connected.issue()
    tracker = connected.intercom.add_ticket(ticket_type_id=connected.intercom.tracker_type["id"])
    second = connected.intercom.add_ticket(ticket_type_id=connected.intercom.tracker_type["id"])
    conversation = connected.intercom.add_conversation()

    def post(conversation_id, **extra):
        return admin_client.post("/api/links/", {"issue": issue["key"], "conversation": conversation_id,
                                                 "tracker": True, **extra}, content_type="application/json")

    with eager(execute=True):
        assert post(conversation["id"]).status_code == 400
        first = post(tracker["id"], target_type="ticket")
        refused = post(second["id"], target_type="ticket")
    assert first.status_code == 201 and first.json()["is_tracker"] is True
    assert refused.status_code == 409 and "already has a tracker" in refused.json()["tracker"][0]


def test_the_issue_page_shows_ticket_links_with_their_state(connected, admin_client, eager, no_rules):
    issue = connected.issue()
    ticket = connected.intercom.add_ticket(title="Invoices are empty", state="in_progress")
    _link_ticket(connected, issue, ticket["id"])
    page = admin_client.get(f"/issues/{issue['key']}/").content.decode()
    assert f'data-ticket="{ticket["id"]}"' in page
    assert "Invoices are empty" in page
    assert "In progress" in page
    assert f"/inbox/ticket/{ticket['id']}" in page


def test_the_issue_page_links_a_pasted_ticket_url(connected, admin_client, eager, no_rules):
    issue = connected.issue()
    ticket = connected.intercom.add_ticket()
    with eager(execute=True):
        url = f"https://app.intercom.com/a/apps/sandbox1/tickets/{ticket['id']}"
        response = admin_client.post(f"/issues/{issue['key']}/link", {"conversation": url})
    assert response.status_code == 302
    assert ConversationLink.objects.get(issue_id=issue["id"]).target_type == "ticket"


def test_a_note_reaches_a_ticket_through_the_ticket_api_once(connected, pump_clean):
    ticket = connected.intercom.add_ticket()
    factories.DeliveryFactory(workspace=connected.workspace, conversation_id=ticket["id"], target_type="ticket",
                              action="note", body="<p>SUP-1 moved to <b>Done</b></p>", idempotency_key="t1")
    assert pump_clean() == {"sent": 1}
    (note,) = connected.intercom.ticket_writes(ticket["id"], "ticket_note")
    assert note.admin_id == connected.workspace.app_admin_id
    assert Delivery.objects.get().part_id == note.part_id
    assert connected.intercom.writes_for(ticket["id"], "note") == []  # not the conversation endpoint


def test_a_ticket_attribute_the_type_lacks_is_skipped_with_the_reason(connected, pump_clean):
    ticket = connected.intercom.add_ticket(ticket_type_id=connected.intercom.backoffice_type["id"])
    factories.DeliveryFactory(workspace=connected.workspace, conversation_id=ticket["id"], target_type="ticket",
                              action="ticket_attribute", params={"attribute": "Jira key", "value": "SUP-1"},
                              idempotency_key="t2")
    assert pump_clean() == {"skipped": 1}
    assert "no attribute “Jira key”" in Delivery.objects.get().last_error
    assert connected.intercom.ticket_writes(ticket["id"]) == []


def test_jira_transitions_move_a_linked_ticket_through_its_states(connected, deliver, pump_clean):
    NotificationRule.objects.create(
        name="Ticket follows the issue", trigger="issue_transitioned",
        actions=[{"type": "ticket_state", "map": {"In Review": "waiting_on_customer"}},
                 {"type": "ticket_attribute", "attribute": "Jira key", "from": "key"}],
    )
    connected.jira.statuses["10002"] = {"id": "10002", "name": "In Review", "category": "indeterminate"}
    issue = connected.issue()
    deliver()
    ticket = connected.intercom.add_ticket(title="Cannot pay")
    conversation = connected.intercom.add_conversation()
    _link_ticket(connected, issue, ticket["id"])
    connected.link(issue, conversation["id"])  # a conversation has no state to set: nothing planned for it

    seen = []
    for status in ("In Progress", "In Review", "Done"):
        connected.jira.transition(issue["key"], status)
        deliver()
        pump_clean()
        seen.append(connected.intercom.tickets[ticket["id"]]["ticket_state"]["category"])
    assert seen == ["in_progress", "waiting_on_customer", "resolved"]
    assert connected.intercom.tickets[ticket["id"]]["ticket_attributes"]["Jira key"] == issue["key"]
    # the attribute was set once: later transitions found it already there
    assert len(connected.intercom.ticket_writes(ticket["id"], "ticket_attribute")) == 1
    assert Delivery.objects.filter(conversation_id=conversation["id"]).count() == 0
    assert connected.intercom.ticket_writes(ticket["id"], "ticket_state") and not connected.intercom.duplicates()
