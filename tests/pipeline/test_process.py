"""Planning through the real processing path (connector → linking → notifications), in handler order."""

import pytest

from deliveries import services
from deliveries.models import Delivery
from linking.models import ConversationLink, IssueSnapshot
from pipeline import tasks
from pipeline.process import webhook_event_process
from tests.factories import (
    ConversationLinkFactory,
    IssueSnapshotFactory,
    NotificationRuleFactory,
    ProjectConnectionFactory,
    WebhookEventFactory,
)
from tests.webhooks import jira_sample

pytestmark = pytest.mark.django_db


def store(project, sample):
    payload = jira_sample(sample)
    payload["issue"]["fields"]["project"].update(id=project.project_id, key=project.project_key)
    return WebhookEventFactory(
        site=project.site, delivery_id=sample, payload=payload, event_type=payload["webhookEvent"]
    )


def test_the_conversations_of_a_deleted_issue_hear_about_it_before_the_links_go():
    project = ProjectConnectionFactory()
    NotificationRuleFactory(name="Deleted", trigger="issue_deleted", actions=[{"type": "note"}])
    event = store(project, "webhook-issue-deleted.json")
    ConversationLinkFactory(site=project.site, issue_id=event.payload["issue"]["id"], issue_key="SUP-1",
                            workspace=project.workspace, conversation_id="501", source="api")
    assert webhook_event_process(event.pk) == "processed"
    assert not ConversationLink.objects.exists()
    delivery = Delivery.objects.get()
    assert (delivery.conversation_id, delivery.action) == ("501", "note")
    assert "was deleted in Jira" in delivery.body


def test_a_transition_plans_notes_for_the_issue_links():
    project = ProjectConnectionFactory()
    event = store(project, "webhook-issue-updated-started-working.json")
    ConversationLinkFactory(site=project.site, issue_id=event.payload["issue"]["id"], issue_key="SUP-1",
                            workspace=project.workspace, conversation_id="601", source="api")
    webhook_event_process(event.pk)
    assert list(Delivery.objects.values_list("conversation_id", "action")) == [("601", "note")]


def test_an_event_brings_the_linked_issues_snapshot_up_to_date_and_tracks_no_other_issue():
    project = ProjectConnectionFactory()
    event = store(project, "webhook-issue-updated-started-working.json")
    issue = event.payload["issue"]
    IssueSnapshotFactory(site=project.site, issue_id=issue["id"], issue_key="OLD-1", summary="Old summary",
                         status_name="To Do", status_category="new")
    other = {**event.payload, "issue": {**issue, "id": "999001", "key": f"{project.project_key}-999"}}
    unlinked = WebhookEventFactory(site=project.site, delivery_id="another-issue", payload=other,
                                   event_type=other["webhookEvent"])  # an issue never linked
    assert webhook_event_process(event.pk) == "processed"
    assert webhook_event_process(unlinked.pk) == "processed"
    snapshot = IssueSnapshot.objects.get()
    fields = issue["fields"]
    assert (snapshot.issue_key, snapshot.summary, snapshot.status_name, snapshot.status_category) == (
        issue["key"], fields["summary"], fields["status"]["name"], fields["status"]["statusCategory"]["key"]
    )


@pytest.mark.django_db(transaction=True)
def test_a_hint_processes_its_first_event_in_the_task_and_starts_the_pump_right_there(monkeypatch):
    """No broker hop between planning a note and sending it: the processing task runs the pump itself."""
    project = ProjectConnectionFactory()
    # Its own rule: a transactional test that ran before may have emptied the default rules.
    NotificationRuleFactory(project=project)
    first = store(project, "webhook-issue-updated-started-working.json")
    second = store(project, "webhook-issue-deleted.json")
    ConversationLinkFactory(site=project.site, issue_id=first.payload["issue"]["id"], issue_key="SUP-1",
                            workspace=project.workspace, conversation_id="701", source="api")
    pumped, pump_tasks, event_tasks = [], [], []
    monkeypatch.setattr(services.engine, "pump", pumped.append)
    monkeypatch.setattr(services, "pump_enqueue", pump_tasks.append)
    monkeypatch.setattr(tasks, "event_enqueue", event_tasks.append)
    tasks.webhook_events_process.apply(args=[[first.pk, second.pk]])
    assert (pumped, pump_tasks, event_tasks) == ([project.workspace_id], [], [second.pk])
