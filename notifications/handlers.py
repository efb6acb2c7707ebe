"""Receivers of typed events from connector (see settings.CONNECTOR_EVENT_HANDLERS)."""

from notifications.planning import enqueue_pumps, plan_events


def _deleted(event) -> bool:
    return event.kind == "issue_deleted"


def jira_issue_deleted(*, webhook_event, events) -> None:
    """Runs before linking drops a deleted issue's links, so its conversations still hear about it."""
    enqueue_pumps(plan_events(webhook_event=webhook_event, events=[e for e in events if _deleted(e)]))


def jira_events_received(*, webhook_event, events) -> None:
    """Runs after linking (auto-links exist by now): match rules and plan deliveries; the pumps start on commit."""
    enqueue_pumps(plan_events(webhook_event=webhook_event, events=[e for e in events if not _deleted(e)]))


def intercom_events_received(*, webhook_event, events) -> None:
    """Conversation state changes are used by linking; notifications has nothing to do with them yet."""
