"""Planning through the real processing path (connector → linking → notifications), in handler order."""

import pytest

from connector.models import WebhookEvent
from deliveries.models import Delivery
from linking.models import ConversationLink
from notifications.models import NotificationRule
from pipeline.process import webhook_event_process
from tests.factories import ProjectConnectionFactory
from tests.webhooks import jira_sample

pytestmark = pytest.mark.django_db


def store(project, sample):
    payload = jira_sample(sample)
    payload["issue"]["fields"]["project"].update(id=project.project_id, key=project.project_key)
    return WebhookEvent.objects.create(source="jira", site=project.site, delivery_id=sample, payload=payload,
                                       event_type=payload["webhookEvent"])


def link(project, issue_id, conversation_id):
    return ConversationLink.objects.create(site=project.site, issue_id=issue_id, issue_key="SUP-1",
                                           workspace=project.workspace, conversation_id=conversation_id, source="api")


def test_the_conversations_of_a_deleted_issue_hear_about_it_before_the_links_go():
    project = ProjectConnectionFactory()
    NotificationRule.objects.create(name="Deleted", trigger="issue_deleted", actions=[{"type": "note"}])
    event = store(project, "webhook-issue-deleted.json")
    link(project, event.payload["issue"]["id"], "501")
    assert webhook_event_process(event.pk) == "processed"
    assert not ConversationLink.objects.exists()
    delivery = Delivery.objects.get()
    assert (delivery.conversation_id, delivery.action) == ("501", "note")
    assert "was deleted in Jira" in delivery.body


def test_a_transition_plans_notes_for_the_issue_links():
    project = ProjectConnectionFactory()
    event = store(project, "webhook-issue-updated-started-working.json")
    link(project, event.payload["issue"]["id"], "601")
    webhook_event_process(event.pk)
    assert list(Delivery.objects.values_list("conversation_id", "action")) == [("601", "note")]
