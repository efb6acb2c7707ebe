"""Celery tasks of notifications: thin callers of the engine and planning; ids in, rows re-read."""

import logging

from celery import current_task, shared_task

from notifications import engine

logger = logging.getLogger(__name__)


def delivery_pump_enqueue(workspace_id: int) -> None:
    try:
        delivery_pump.delay(workspace_id)
    except Exception as exc:
        logger.warning("delivery.enqueue_failed", extra={"workspace_id": workspace_id, "error": type(exc).__name__})


def delivery_pump_inline(workspace_id: int) -> bool:
    """Run the pump in the current worker task, if there is one. False when not on a worker."""
    if not current_task or not current_task.request.id:  # a proxy: falsy outside a running task
        return False
    try:
        engine.pump(workspace_id)
    except Exception:
        logger.exception("delivery.pump_failed", extra={"workspace_id": workspace_id})
        delivery_pump_enqueue(workspace_id)  # let a fresh task try; the rows are safe in the database
    return True


@shared_task(name="notifications.tasks.delivery_pump", acks_late=True)
def delivery_pump(workspace_id: int) -> dict:
    return engine.pump(workspace_id)


@shared_task(name="notifications.tasks.delivery_sweep")
def delivery_sweep() -> dict:
    released = engine.release_stale_sending()
    started = 0
    for workspace_id in engine.workspaces_with_due_work():
        if not engine.pump_running(workspace_id):
            delivery_pump_enqueue(workspace_id)
            started += 1
    return {"released": released, "pumps": started}


@shared_task(name="notifications.tasks.link_event_plan", acks_late=True)
def link_event_plan(kind: str, link: dict, actor_name: str = "") -> int:
    from notifications.link_events import plan_link_event

    return plan_link_event(kind=kind, link=link, actor_name=actor_name)
