"""A connected SUP project with two linked conversations in the Intercom simulator, and its last transition
(To Do → In Progress) stored and processed by the real pipeline."""

import json
from pathlib import Path

import pytest

from deliveries import engine
from notifications.models import NotificationRule
from pipeline.process import webhook_event_process
from tests import factories
from tests.conftest import workspace_for

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "jira_webhooks"


class Sup:
    def __init__(self, intercom_sim):
        NotificationRule.objects.all().delete()
        self.sim = intercom_sim
        self.workspace = workspace_for(intercom_sim, name="Support")
        self.site = factories.JiraSiteFactory(name="Acme Jira")
        self.project = factories.ProjectConnectionFactory(
            site=self.site, workspace=self.workspace, project_id="10010", project_key="SUP"
        )
        self.conversations = intercom_sim.add_conversations(2)
        for cid in self.conversations:
            factories.ConversationLinkFactory(site=self.site, issue_id="10042", issue_key="SUP-7",
                                              workspace=self.workspace, conversation_id=cid)
        self.payload = json.loads((FIXTURES / "issue_updated__assignee_and_status.json").read_text())
        self.deliveries = 0

    def rule(self, **fields):
        return factories.NotificationRuleFactory(**{"actions": [{"type": "note"}], **fields})

    def transition(self, delivery_id: str = "sup-7-1"):
        """Jira's webhook for SUP-7, stored and processed as a worker would; returns the event."""
        event = factories.WebhookEventFactory(site=self.site, delivery_id=delivery_id, issue_id="10042",
                                              issue_key="SUP-7", payload=self.payload)
        webhook_event_process(event.pk)
        event.refresh_from_db()
        return event

    def send(self):
        return engine.pump(self.workspace.pk)

    def revoke_intercom(self):
        self.sim.revoke_token()


@pytest.fixture(name="sup")
def sup_fixture(intercom_sim, enqueued, redis_client):
    redis_client.flushdb()
    return Sup(intercom_sim)


