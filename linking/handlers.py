"""Receivers of typed events from connector (see settings.CONNECTOR_EVENT_HANDLERS)."""


def jira_events_received(*, webhook_event, events) -> None:
    """Keep issue keys current, auto-link conversation URLs, drop links of deleted issues."""


def intercom_events_received(*, webhook_event, events) -> None:
    """Flag links whose conversation was deleted."""
