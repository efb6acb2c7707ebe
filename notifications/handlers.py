"""Receivers of typed events from connector (see settings.CONNECTOR_EVENT_HANDLERS)."""

from notifications.planning import enqueue_pumps, plan_events


def jira_events_received(*, webhook_event, events) -> None:
    """Match rules and plan deliveries for each event; the pumps start once this transaction commits."""
    enqueue_pumps(plan_events(webhook_event=webhook_event, events=events))


def intercom_events_received(*, webhook_event, events) -> None:
    """Conversation state changes are used by linking; notifications has nothing to do with them yet."""
