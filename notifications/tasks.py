"""Celery tasks of notifications: thin callers of planning; ids in, rows re-read."""

from celery import shared_task

from notifications.link_events import plan_link_event


@shared_task(name="notifications.tasks.link_event_plan", acks_late=True)
def link_event_plan(kind: str, link: dict, actor_name: str = "", teammate_name: str = "") -> int:
    return plan_link_event(kind=kind, link=link, actor_name=actor_name, teammate_name=teammate_name)
