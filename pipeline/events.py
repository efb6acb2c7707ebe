"""WebhookEvent rows: claim one for processing, record its outcome or failure, find what is overdue, reprocess."""

import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from connector.crypto import secret_fields
from connector.models import IntercomWorkspace, JiraSite, WebhookEvent
from pipeline.intake import event_enqueue

Status = WebhookEvent.Status
PENDING = (Status.RECEIVED,)
PURGE_BATCH = 1000


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def webhook_event_claim(event_id: int) -> WebhookEvent | None:
    """Lock the event for processing (inside a transaction); None when it is gone, done, or someone else has it."""
    return (
        WebhookEvent.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("site", "workspace")
        .defer(*secret_fields(JiraSite, "site__"), *secret_fields(IntercomWorkspace, "workspace__"))
        .filter(pk=event_id, status__in=PENDING)
        .first()
    )


def webhook_event_finish(event: WebhookEvent, status: str, reason: str, *, started: float) -> None:
    """Record what processing decided; `started` is the monotonic time processing began."""
    event.status = status
    event.error = reason if status != Status.PROCESSED else ""
    event.attempts += 1
    event.next_attempt_at = None
    event.processed_at = timezone.now()
    event.duration_ms = int((time.monotonic() - started) * 1000)
    event.save(update_fields=["status", "error", "attempts", "next_attempt_at", "processed_at", "duration_ms"])


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
        pk=event_id, status__in=[Status.FAILED, Status.ANOMALOUS, Status.IGNORED], purged_at__isnull=True
    ).update(status=Status.RECEIVED, attempts=0, next_attempt_at=None, error="")
    if updated:
        transaction.on_commit(lambda: event_enqueue(event_id))
    return bool(updated)


def webhook_event_purge(*, batch: int = PURGE_BATCH) -> int:
    """Empty the payloads (comment text, people's names) of events older than RETENTION_DAYS, a batch per
    statement. The rows, their status, error, attempts and timings stay, so the counts and outcomes do too.
    Events still waiting to be processed keep theirs: processing needs it."""
    cutoff = timezone.now() - timedelta(days=settings.RETENTION_DAYS)
    due = WebhookEvent.objects.filter(received_at__lt=cutoff, purged_at__isnull=True).exclude(status__in=PENDING)
    purged = 0
    while ids := list(due.order_by("pk").values_list("pk", flat=True)[:batch]):
        purged += due.filter(pk__in=ids).update(payload={}, purged_at=timezone.now())
    return purged
