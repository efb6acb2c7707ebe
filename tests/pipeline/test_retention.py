"""Retention: webhook payloads (comment text, names) are purged after RETENTION_DAYS; status and outcome stay."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from connector.models import WebhookEvent
from pipeline import events, tasks
from tests.factories import WebhookEventFactory

pytestmark = pytest.mark.django_db
Status = WebhookEvent.Status
PAYLOAD = {"comment": {"body": "Grace Hopper says the card was charged twice"}}


def _aged(days: int, **fields) -> WebhookEvent:
    event = WebhookEventFactory(payload=PAYLOAD, **fields)
    WebhookEvent.objects.filter(pk=event.pk).update(received_at=timezone.now() - timedelta(days=days))
    return event


def test_retention_defaults_to_30_days_and_the_purge_runs_from_beat():
    assert settings.RETENTION_DAYS == 30
    tasks_run = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"pipeline.tasks.webhook_event_purge", "deliveries.tasks.delivery_body_purge"} <= tasks_run


def test_the_purge_empties_old_payloads_and_keeps_status_outcome_and_counts(settings):
    settings.RETENTION_DAYS = 30
    old = _aged(31, status=Status.PROCESSED, attempts=2, error="")
    failed = _aged(40, status=Status.FAILED, attempts=5, error="Jira said 500")
    recent = _aged(29, status=Status.PROCESSED)
    waiting = _aged(31, status=Status.RECEIVED)  # not processed yet: its payload is still needed
    assert tasks.webhook_event_purge() == 2
    for event in (old, failed, recent, waiting):
        event.refresh_from_db()
    assert (old.payload, old.status, old.attempts, old.purged_at is not None) == ({}, Status.PROCESSED, 2, True)
    assert (failed.payload, failed.status, failed.error) == ({}, Status.FAILED, "Jira said 500")
    assert recent.payload == PAYLOAD and recent.purged_at is None
    assert waiting.payload == PAYLOAD
    assert WebhookEvent.objects.count() == 4  # the rows (and the counts on the events page) stay


def test_the_purge_works_in_batches_until_nothing_is_left():
    for _ in range(5):
        _aged(31, status=Status.PROCESSED)
    assert events.webhook_event_purge(batch=2) == 5
    assert not WebhookEvent.objects.exclude(payload={}).exists()
    assert events.webhook_event_purge(batch=2) == 0


def test_the_event_page_says_the_payload_was_purged_and_after_how_long(admin_client, settings):
    settings.RETENTION_DAYS = 14
    event = _aged(15, status=Status.FAILED)
    events.webhook_event_purge()
    page = admin_client.get(reverse("event_detail", args=[event.pk])).content.decode()
    assert "purged after 14 days" in page
    assert "Reprocess</button>" not in page


def test_a_purged_event_cannot_be_reprocessed():
    event = _aged(31, status=Status.FAILED)
    events.webhook_event_purge()
    assert events.webhook_event_reprocess(event.pk) is False
    event.refresh_from_db()
    assert event.status == Status.FAILED
