"""Jira writes are retried from their JiraWrite row (next_attempt_at and the sweeper), not from broker countdowns."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from connector.errors import VendorError
from linking import services, tasks
from linking.jira_sync import PROPERTY_KEY
from linking.models import JiraWrite, SiteSearchSettings
from linking.services import IssueTarget
from sandbox.jira import COUNT_FIELD

pytestmark = pytest.mark.django_db


@pytest.fixture
def count_field(connected):
    return SiteSearchSettings.objects.create(site=connected.site, count_field_id=COUNT_FIELD)


def _link(connected, issue, conversation_id, eager):
    target = IssueTarget(site=connected.site, issue_id=issue["id"], issue_key=issue["key"], project_key="SUP")
    with eager(execute=True), transaction.atomic():
        link, _ = services.link_create(
            target=target, workspace=connected.workspace, conversation_id=conversation_id, source="ui"
        )
    return link


def _jira_fails(connected, status: int, times: int = 1000) -> None:
    connected.jira.faults.update({"fail_next": times, "fail_status": status})


def _make_due() -> None:
    JiraWrite.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))


@pytest.mark.parametrize("status", [503, 429])
def test_a_failed_jira_write_waits_in_its_row_and_the_sweep_does_it_later(connected, count_field, eager, status):
    issue = connected.issue()
    conversation_id = connected.intercom.add_conversation(subject="Refund")["id"]
    _jira_fails(connected, status)
    before = timezone.now()
    _link(connected, issue, conversation_id, eager)
    writes = {w.kind: w for w in JiraWrite.objects.all()}
    assert set(writes) == {JiraWrite.Kind.REMOTE_LINK_SYNC, JiraWrite.Kind.ISSUE_SEARCH_SYNC}
    for write in writes.values():
        assert write.status == JiraWrite.Status.PENDING and write.attempts == 1
        assert write.next_attempt_at > before + timedelta(seconds=5)  # backing off, not retried at once
        assert str(status) in write.last_error
    assert connected.sim_issue(issue["key"])["remotelinks"] == []
    with eager(execute=True):
        assert tasks.jira_write_sweep() == 0  # nothing is due yet
    connected.jira.faults.update({"fail_next": 0})
    _make_due()
    with eager(execute=True):
        assert tasks.jira_write_sweep() == 2
    assert not JiraWrite.objects.exists()
    stored = connected.sim_issue(issue["key"])
    assert len(stored["remotelinks"]) == 1
    assert stored["fields"][COUNT_FIELD] == 1
    assert stored["properties"][PROPERTY_KEY]["conversationIds"] == [conversation_id]


def test_a_write_gives_up_after_the_maximum_attempts_and_keeps_the_error(connected, eager, settings):
    settings.JIRA_WRITE_MAX_ATTEMPTS = 3
    issue = connected.issue()
    _jira_fails(connected, 500)
    _link(connected, issue, connected.intercom.add_conversation()["id"], eager)
    for _ in range(2):
        _make_due()
        with eager(execute=True):
            assert tasks.jira_write_sweep() == 2
    for write in JiraWrite.objects.all():
        assert (write.status, write.attempts, write.next_attempt_at) == (JiraWrite.Status.FAILED, 3, None)
        assert "500" in write.last_error
    _make_due()
    with eager(execute=True):
        assert tasks.jira_write_sweep() == 0  # given up: the sweeper leaves it alone


def test_a_write_that_cannot_pass_is_given_up_at_once(connected, eager):
    issue = connected.issue()
    _jira_fails(connected, 400)
    _link(connected, issue, connected.intercom.add_conversation()["id"], eager)
    assert {(w.status, w.attempts) for w in JiraWrite.objects.all()} == {(JiraWrite.Status.FAILED, 1)}


def test_repeated_requests_for_one_issue_coalesce_into_one_row(connected, eager):
    issue = connected.issue()
    _jira_fails(connected, 503)
    for conversation_id in connected.intercom.add_conversations(3):
        _link(connected, issue, conversation_id, eager)
    assert JiraWrite.objects.filter(kind=JiraWrite.Kind.ISSUE_SEARCH_SYNC).count() == 1
    assert JiraWrite.objects.filter(kind=JiraWrite.Kind.REMOTE_LINK_SYNC).count() == 3


def test_a_task_for_a_write_waiting_for_its_retry_does_not_call_jira(connected, eager):
    issue = connected.issue()
    _jira_fails(connected, 503)
    _link(connected, issue, connected.intercom.add_conversation()["id"], eager)
    connected.jira.faults.update({"fail_next": 0})
    calls = sum(connected.jira.status_counts.values())
    write = JiraWrite.objects.get(kind=JiraWrite.Kind.ISSUE_SEARCH_SYNC)
    with eager(execute=True):
        assert tasks.jira_write_run(write.pk) is None
    assert sum(connected.jira.status_counts.values()) == calls
    assert JiraWrite.objects.get(pk=write.pk).attempts == 1


def test_a_retry_waits_until_the_time_jira_asked_for(connected):
    write = services.jira_write_claim(JiraWrite.Kind.ISSUE_SEARCH_SYNC, site_id=connected.site.pk, issue_id="10001")
    retry_at = timezone.now() + timedelta(minutes=3)
    error = VendorError("Too many requests", kind="rate_limited", status=429, retry_at=retry_at.timestamp())
    assert services.jira_write_failed(write, error) is True
    write.refresh_from_db()
    assert abs((write.next_attempt_at - retry_at).total_seconds()) < 1
