"""Beat's alert check and the workers' heartbeat answer; thin callers of operations.alerts."""

from celery import shared_task

from operations.alerts import alerts_check, heartbeat_record, heartbeats_send


@shared_task(name="operations.tasks.alerts_check")
def alerts_check_task() -> dict:
    sent = alerts_check()
    heartbeats_send()  # answered by the next check
    return sent


@shared_task(name="operations.tasks.worker_heartbeat")
def worker_heartbeat(queue: str) -> None:
    heartbeat_record(queue)
