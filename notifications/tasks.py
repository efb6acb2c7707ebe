"""Celery tasks of notifications: thin callers of planning; ids in, rows re-read."""

from celery import shared_task

from notifications.link_events import plan_link_event, plan_link_events


@shared_task(name="notifications.tasks.link_event_plan", acks_late=True)
def link_event_plan(kind: str, link: dict, actor_name: str = "", teammate_name: str = "") -> int:
    return plan_link_event(kind=kind, link=link, actor_name=actor_name, teammate_name=teammate_name)


@shared_task(name="notifications.tasks.link_events_plan", acks_late=True)
def link_events_plan(kind: str, links: list[dict], actor_name: str = "") -> int:
    """The same for many links at once (bulk linking); safe to run twice like the one above."""
    return plan_link_events(kind=kind, links=links, actor_name=actor_name)
