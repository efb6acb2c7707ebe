"""Link health (Intercom deletions, the slow sweep) and the periodic reconcile of the count field."""

from datetime import timedelta

import pytest
from django.utils import timezone

from linking import services, tasks
from linking.models import ConversationLink
from linking.services import IssueTarget
from pipeline import process
from sandbox.jira import COUNT_FIELD
from tests import factories
from tests.webhooks import post_intercom

pytestmark = pytest.mark.django_db


@pytest.fixture
def count_field(connected):
    return factories.SiteSearchSettingsFactory(site=connected.site, count_field_id=COUNT_FIELD)


def _link(connected, issue, conversation_id, eager):
    target = IssueTarget(site=connected.site, issue_id=issue["id"], issue_key=issue["key"], project_key="SUP")
    with eager(execute=True):
        link, _ = services.link_create(
            target=target, workspace=connected.workspace, conversation_id=conversation_id, source="ui"
        )
    return link


@pytest.fixture(autouse=True)
def _only_linking(no_rules):
    pass


def _intercom_webhook(client, connected, eager, topic, conversation_id):
    payload = connected.intercom.webhook_payload(topic, conversation_id)
    with eager(execute=False):
        response = post_intercom(client, connected.workspace, payload)
    assert response.status_code in (200, 202), response.content
    with eager(execute=True):
        return process.webhook_event_process(response.json()["id"])


def test_a_deleted_conversation_is_flagged_and_leaves_the_count(connected, count_field, eager, client):
    issue = connected.issue()
    kept, deleted = connected.intercom.add_conversations(2)
    _link(connected, issue, kept, eager)
    _link(connected, issue, deleted, eager)
    assert connected.sim_issue(issue["key"])["fields"][COUNT_FIELD] == 2
    del connected.intercom.conversations[deleted]
    assert _intercom_webhook(client, connected, eager, "conversation.deleted", deleted) == "processed"
    link = ConversationLink.objects.get(conversation_id=deleted)
    assert link.health == "missing" and link.missing_since is not None
    assert connected.sim_issue(issue["key"])["fields"][COUNT_FIELD] == 1


def test_closing_a_conversation_marks_its_remote_link_resolved(connected, eager, client):
    issue = connected.issue()
    conversation_id = connected.intercom.add_conversation(subject="Broken invoice")["id"]
    _link(connected, issue, conversation_id, eager)
    assert connected.sim_issue(issue["key"])["remotelinks"][0]["object"]["status"]["resolved"] is False
    connected.intercom.conversations[conversation_id].update(state="closed", open=False)
    _intercom_webhook(client, connected, eager, "conversation.admin.closed", conversation_id)
    assert connected.sim_issue(issue["key"])["remotelinks"][0]["object"]["status"]["resolved"] is True


def test_the_sweep_flags_vanished_conversations_and_unflags_restored_ones(connected, count_field, eager):
    issue = connected.issue()
    conversation_id = connected.intercom.add_conversation()["id"]
    _link(connected, issue, conversation_id, eager)
    saved = connected.intercom.conversations.pop(conversation_id)
    with eager(execute=True):
        result = tasks.link_health_sweep()
    assert result["missing"] == 1
    assert ConversationLink.objects.get().health == "missing"
    assert connected.sim_issue(issue["key"])["fields"][COUNT_FIELD] == 0
    connected.intercom.conversations[conversation_id] = saved
    ConversationLink.objects.update(checked_at=timezone.now() - timedelta(days=2))
    with eager(execute=True):
        result = tasks.link_health_sweep()
    assert result["restored"] == 1
    assert ConversationLink.objects.get().health == "ok"
    assert connected.sim_issue(issue["key"])["fields"][COUNT_FIELD] == 1


def test_the_sweep_never_flags_anything_while_intercom_is_unreachable(connected, eager):
    issue = connected.issue()
    _link(connected, issue, connected.intercom.add_conversation()["id"], eager)
    connected.intercom.revoke_token()
    with eager(execute=True):
        result = tasks.link_health_sweep()
    assert result["missing"] == 0 and result["skipped"] == 1
    assert ConversationLink.objects.get().health == "ok"


def test_the_sweep_leaves_recently_checked_links_for_later(connected, eager):
    issue = connected.issue()
    _link(connected, issue, "404404", eager)
    ConversationLink.objects.update(checked_at=timezone.now())
    with eager(execute=True):
        assert tasks.link_health_sweep()["checked"] == 0


def test_the_reconcile_repairs_a_count_that_drifted(connected, count_field, eager):
    issue = connected.issue()
    for conversation_id in connected.intercom.add_conversations(2):
        _link(connected, issue, conversation_id, eager)
    connected.jira.issue(issue["key"])["fields"][COUNT_FIELD] = 17  # someone edited it by hand
    connected.jira.issue(issue["key"])["properties"].clear()
    with eager(execute=True):
        assert tasks.links_reconcile() == 1
    stored = connected.sim_issue(issue["key"])
    assert stored["fields"][COUNT_FIELD] == 2
    assert stored["properties"]["jira-intercom-connector.links"]["count"] == 2


def test_the_issue_property_makes_jql_find_linked_issues(connected, count_field, eager):
    # The sandbox's JQL knows issue properties but not custom fields by name nor ORDER BY them, so the
    # documented `"Intercom conversations" > 0 ORDER BY ...` is checked through the field values above.
    from connector.jira_client import JiraClient

    busy, quiet, _unlinked = connected.issue("busy"), connected.issue("quiet"), connected.issue("none")
    for conversation_id in connected.intercom.add_conversations(3):
        _link(connected, busy, conversation_id, eager)
    _link(connected, quiet, connected.intercom.add_conversation()["id"], eager)
    issues, _ = JiraClient.for_site(connected.site).search(
        "issue.property[jira-intercom-connector.links].count > 0 ORDER BY key ASC", fields=["summary"]
    )
    assert [i["key"] for i in issues] == [busy["key"], quiet["key"]]
    assert [connected.sim_issue(i["key"])["fields"][COUNT_FIELD] for i in issues] == [3, 1]
