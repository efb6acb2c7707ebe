"""Tracker tickets: created once per issue by the engine (even after an ambiguous answer), kept in step with the
issue (title, state, Jira key), resolved with it, and mirroring the conversations and tickets linked to them
in Intercom as links of the issue."""

import pytest
from django.db import transaction

from deliveries import engine
from deliveries.models import Delivery
from linking import services, tasks, tracker
from linking.models import ConversationLink, SupportSettings
from linking.services import IssueTarget

pytestmark = pytest.mark.django_db


@pytest.fixture
def pump(connected, redis_client):
    redis_client.delete(*redis_client.keys(f"*{{{connected.workspace.pk}}}*") or ["none"],
                        *redis_client.keys(f"*pump:{connected.workspace.pk}") or ["none"])
    return lambda: engine.pump(connected.workspace.pk)


@pytest.fixture
def trackers(connected):
    return SupportSettings.objects.create(
        project=connected.project, tracker_ticket_type_id=connected.intercom.tracker_type["id"],
        tracker_auto_create=True, jira_key_attribute="Jira key",
    )


def _link(connected, issue, conversation_id):
    target = IssueTarget(site=connected.site, issue_id=issue["id"], issue_key=issue["key"], project_key="SUP",
                         summary=issue["fields"]["summary"])
    with transaction.atomic():
        return services.link_create(target=target, workspace=connected.workspace, conversation_id=conversation_id,
                                    source="api")[0]


def _tracker_ticket(connected, issue) -> dict:
    link = ConversationLink.objects.get(issue_id=issue["id"], is_tracker=True)
    return connected.intercom.tickets[link.conversation_id]


def test_the_first_link_creates_one_tracker_ticket_linked_as_the_tracker(connected, trackers, eager, no_rules, pump):
    issue = connected.issue("Checkout fails")
    with eager(execute=True):
        _link(connected, issue, connected.intercom.add_conversation()["id"])
        _link(connected, issue, connected.intercom.add_conversation()["id"])  # a second link asks again
    assert Delivery.objects.filter(action="tracker_create").count() == 1
    with eager(execute=True):
        pump()
    ticket = _tracker_ticket(connected, issue)
    assert ticket["category"] == "Tracker"
    assert ticket["ticket_attributes"]["_default_title_"] == f"[{issue['key']}] Checkout fails"
    assert ticket["ticket_attributes"]["Jira key"] == issue["key"]
    assert len([e for e in connected.intercom.ledger if e.kind == "ticket_create"]) == 1
    link = ConversationLink.objects.get(is_tracker=True)
    assert (link.target_type, link.source) == ("ticket", "tracker")
    with eager(execute=True):  # asked again: the issue has its tracker
        assert tracker.tracker_request(target=IssueTarget(site=connected.site, issue_id=issue["id"],
                                                          issue_key=issue["key"]), project=connected.project) is None


def test_a_create_answered_ambiguously_is_found_instead_of_made_twice(connected, trackers, eager, no_rules, pump):
    issue = connected.issue("Refunds stuck")
    with eager(execute=True):
        _link(connected, issue, connected.intercom.add_conversation()["id"])
    connected.intercom.faults.fail_after_next, connected.intercom.faults.write_error_status = 1, 502
    pump()
    delivery = Delivery.objects.get(action="tracker_create")
    assert delivery.status == "pending" and delivery.verify
    delivery.next_attempt_at = delivery.created_at
    delivery.save()
    with eager(execute=True):
        pump()
    assert len([e for e in connected.intercom.ledger if e.kind == "ticket_create"]) == 1
    assert Delivery.objects.get(action="tracker_create").status == "sent"
    assert ConversationLink.objects.filter(issue_id=issue["id"], is_tracker=True).count() == 1


def test_the_tracker_follows_the_issue_and_is_resolved_with_it(connected, trackers, deliver, eager, pump):
    issue = connected.issue("Slow search")
    deliver()
    with eager(execute=True):
        _link(connected, issue, connected.intercom.add_conversation()["id"])
    with eager(execute=True):
        pump()
    states = []
    for status in ("In Progress", "Done"):
        connected.jira.transition(issue["key"], status)
        deliver()
        pump()
        states.append(_tracker_ticket(connected, issue)["ticket_state"]["category"])
    assert states == ["in_progress", "resolved"]
    connected.jira.edit_fields(issue["key"], {"summary": "Search is slow for large accounts"})
    deliver()
    pump()
    title = _tracker_ticket(connected, issue)["ticket_attributes"]["_default_title_"]
    assert title == f"[{issue['key']}] Search is slow for large accounts"
    assert not connected.intercom.duplicates()


def test_conversations_and_tickets_linked_to_the_tracker_show_up_on_the_issue(connected, eager, no_rules):
    issue = connected.issue()
    sim = connected.intercom
    tracker_ticket = sim.add_ticket(ticket_type_id=sim.tracker_type["id"], title="Known bug")
    conversation, customer_ticket = sim.add_conversation(), sim.add_ticket(title="Me too")
    target = IssueTarget(site=connected.site, issue_id=issue["id"], issue_key=issue["key"], project_key="SUP")
    with transaction.atomic():
        link, _ = services.link_create(target=target, workspace=connected.workspace,
                                       conversation_id=tracker_ticket["id"], target_type="ticket", is_tracker=True,
                                       source="ui")
    sim.link_objects(tracker_ticket["id"], conversation["id"])
    sim.link_objects(tracker_ticket["id"], customer_ticket["id"], "ticket")
    with eager(execute=True):
        assert tasks.tracker_refresh(link.pk) == {"linked": 2, "unlinked": 0}
        assert tasks.tracker_refresh(link.pk) == {"linked": 0, "unlinked": 0}
    mirrored = ConversationLink.objects.filter(issue_id=issue["id"], source="tracker")
    assert {(m.target_type, m.conversation_id) for m in mirrored} == {
        ("conversation", conversation["id"]), ("ticket", customer_ticket["id"])
    }
    sim.unlink_objects(tracker_ticket["id"], conversation["id"])
    with eager(execute=True):
        assert tasks.tracker_refresh(link.pk) == {"linked": 0, "unlinked": 1}
    assert not ConversationLink.objects.filter(issue_id=issue["id"], conversation_id=conversation["id"]).exists()


def test_the_api_asks_for_the_tracker_once_and_says_what_is_missing(connected, admin_client, eager, no_rules, pump):
    issue = connected.issue("Exports time out")
    settings = SupportSettings.objects.create(project=connected.project,
                                              tracker_ticket_type_id=connected.intercom.tracker_type["id"])
    url = f"/api/issues/{issue['key']}/tracker/"
    missing = admin_client.post(url)
    assert missing.status_code == 409 and "tracker contact email" in missing.json()["detail"]
    settings.tracker_contact_email = "trackers@example.com"
    settings.save()
    asked = admin_client.post(url)
    assert asked.status_code == 202 and asked.json()["created"] is True
    with eager(execute=True):
        pump()
    done = admin_client.post(url)
    assert done.status_code == 200 and done.json()["tracker"]["is_tracker"] is True
    assert len([e for e in connected.intercom.ledger if e.kind == "ticket_create"]) == 1
