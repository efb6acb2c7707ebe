"""Turn a stored delivery into typed events and hand them to the handlers, once."""

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from connector import handlers
from connector.intake import event_enqueue
from connector.intercom_events import parse_intercom_event
from connector.jira_events import parse_jira_event
from connector.models import WebhookEvent

logger = logging.getLogger(__name__)
Status = WebhookEvent.Status
PENDING = (Status.RECEIVED,)


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def webhook_event_process(event_id: int) -> str | None:
    """Process one event; safe to call twice or concurrently (row lock, status check). Returns the outcome."""
    started = time.monotonic()
    try:
        with transaction.atomic():
            event = (
                WebhookEvent.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("site", "workspace")
                .filter(pk=event_id, status__in=PENDING)
                .first()
            )
            if event is None:  # gone, done, or someone else has it
                return None
            status, reason = _apply(event)
            event.status = status
            event.error = reason if status != Status.PROCESSED else ""
            event.attempts += 1
            event.next_attempt_at = None
            event.processed_at = timezone.now()
            event.duration_ms = int((time.monotonic() - started) * 1000)
            event.save(update_fields=["status", "error", "attempts", "next_attempt_at", "processed_at", "duration_ms"])
            return status
    except Exception as exc:
        logger.exception("intake.process_failed", extra={"event_id": event_id})
        webhook_event_record_failure(event_id, f"{type(exc).__name__}: {exc}")
        raise


def _apply(event: WebhookEvent) -> tuple[str, str]:
    if event.source == WebhookEvent.Source.JIRA:
        site = event.site
        result = parse_jira_event(
            event.payload, app_user_ids=[site.app_account_id] if site.app_account_id else (), site_url=site.base_url
        )
        if result.outcome in ("ignored", "unsupported"):
            return Status.IGNORED, result.reason
        if result.outcome == "anomalous":
            return Status.ANOMALOUS, result.reason
        handlers.dispatch("jira", webhook_event=event, events=result.events)
        return Status.PROCESSED, result.reason
    parsed = parse_intercom_event(event.payload, app_admin_id=event.workspace.app_admin_id)
    if parsed is None:
        return Status.ANOMALOUS, "The notification names no conversation."
    if parsed.is_own:
        return Status.IGNORED, "Written by the connector's own Intercom admin."
    handlers.dispatch("intercom", webhook_event=event, events=(parsed,))
    return Status.PROCESSED, ""


def webhook_event_record_failure(event_id: int, error: str) -> None:
    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update().filter(pk=event_id, status__in=PENDING).first()
        if event is None:
            return
        event.attempts += 1
        event.error = error[:2000]
        if event.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
            event.status = Status.FAILED
            event.next_attempt_at = None
        else:
            event.next_attempt_at = timezone.now() + _backoff(event.attempts)
        event.save(update_fields=["attempts", "error", "status", "next_attempt_at"])


def _due_events():
    """Events left behind: never picked up (broker down, no listener, worker died) or due for another attempt."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.WEBHOOK_SWEEP_AFTER_SECONDS)
    return WebhookEvent.objects.filter(status__in=PENDING).filter(
        Q(next_attempt_at__isnull=True, received_at__lt=stale) | Q(next_attempt_at__lte=now)
    )


def webhook_event_unattempted_ids(*, limit: int) -> list[int]:
    """Events never attempted, whatever their age (the intake listener's catch-up); those waiting for a retry
    after a failure are the sweeper's."""
    unattempted = WebhookEvent.objects.filter(status__in=PENDING, next_attempt_at__isnull=True)
    return list(unattempted.order_by("pk").values_list("pk", flat=True)[:limit])


def webhook_event_due_ids(*, limit: int = 500) -> list[int]:
    return list(_due_events().order_by("received_at").values_list("pk", flat=True)[:limit])


def webhook_event_due_count() -> int:
    """How many events wait for the sweeper (for /readyz)."""
    return _due_events().count()


@transaction.atomic
def webhook_event_reprocess(event_id: int) -> bool:
    """Admin action: put a failed or anomalous event back in the queue."""
    updated = WebhookEvent.objects.filter(
        pk=event_id, status__in=[Status.FAILED, Status.ANOMALOUS, Status.IGNORED]
    ).update(status=Status.RECEIVED, attempts=0, next_attempt_at=None, error="")
    if updated:
        transaction.on_commit(lambda: event_enqueue(event_id))
    return bool(updated)
