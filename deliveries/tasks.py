"""Celery tasks of the delivery engine: thin callers of the engine and services; ids in, rows re-read."""

from celery import shared_task

from deliveries import engine, services


@shared_task(name="deliveries.tasks.delivery_pump", acks_late=True)
def delivery_pump(workspace_id: int) -> dict:
    return engine.pump(workspace_id)


@shared_task(name="deliveries.tasks.delivery_sweep")
def delivery_sweep() -> dict:
    released = engine.release_stale_sending()
    started = 0
    for workspace_id in engine.workspaces_with_due_work():
        if not engine.pump_running(workspace_id):
            services.pump_enqueue(workspace_id)
            started += 1
    return {"released": released, "pumps": started}


@shared_task(name="deliveries.tasks.delivery_body_purge")
def delivery_body_purge() -> int:
    return services.delivery_body_purge()
