"""Celery tasks of the pipeline: thin callers of the processing services; they take ids and re-read rows."""

import logging

from celery import shared_task
from celery.signals import worker_ready, worker_shutdown

from pipeline import events, listener, process
from pipeline.intake import event_enqueue

logger = logging.getLogger(__name__)


def _event_process(event_id: int) -> str | None:
    # Failures are recorded on the row with a next attempt time; the sweeper retries, not the broker.
    try:
        return process.webhook_event_process(event_id)
    except Exception:
        return "error"


@shared_task(name="pipeline.tasks.webhook_event_process", acks_late=True)
def webhook_event_process(event_id: int) -> str | None:
    return _event_process(event_id)


@shared_task(name="pipeline.tasks.webhook_events_process", acks_late=True)
def webhook_events_process(event_ids: list[int]) -> int:
    """Events published as one hint (a burst of deliveries): the first is processed here, the others get a task
    each, so a long fan-out planned for one never holds up the others."""
    first, *others = event_ids or [None]
    for event_id in others:
        event_enqueue(event_id)
    if first is not None:
        # A plain call, not the task's: calling a task object pushes a request without an id, and the pump
        # would then not start here (deliveries.services._pump_inline) but through the broker, a hop later.
        _event_process(first)
    return len(event_ids)


@shared_task(name="pipeline.tasks.webhook_event_sweep")
def webhook_event_sweep() -> int:
    ids = events.webhook_event_due_ids()
    for event_id in ids:
        event_enqueue(event_id)
    if ids:
        logger.info("intake.swept", extra={"count": len(ids)})
    return len(ids)


@shared_task(name="pipeline.tasks.webhook_event_purge")
def webhook_event_purge() -> int:
    purged = events.webhook_event_purge()
    if purged:
        logger.info("intake.payloads_purged", extra={"count": purged})
    return purged


@worker_ready.connect
def _intake_listener_start(**kwargs) -> None:
    # Every worker runs one; an advisory lock lets only one of them listen at a time.
    listener.listener_start()


@worker_shutdown.connect
def _intake_listener_stop(**kwargs) -> None:
    listener.listener_stop()
