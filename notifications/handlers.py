"""Receivers of typed events from connector (see settings.CONNECTOR_EVENT_HANDLERS)."""


def jira_events_received(*, webhook_event, events) -> None:
    """Match rules and plan deliveries for each event."""


def intercom_events_received(*, webhook_event, events) -> None:
    """Nothing yet: conversation state changes are used by linking."""
