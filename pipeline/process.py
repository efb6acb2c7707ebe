"""Where a webhook becomes links and notes: the whole sequence, in the order it runs.

One transaction per event: whatever linking changes and planning writes commits together with the event's
outcome, or not at all (a failure is recorded and the sweeper tries again later).
"""

import logging
import time

from django.db import transaction

from connector.intercom_events import parse_intercom_event
from connector.jira_events import IssueDeleted, parse_jira_event
from connector.models import WebhookEvent
from deliveries.services import pumps_start_on_commit
from linking.events import intercom_events_apply, jira_events_apply
from notifications.planning import plan_events
from pipeline import events

logger = logging.getLogger(__name__)
Status = WebhookEvent.Status


def webhook_event_process(event_id: int) -> str | None:
    """Process one stored event; safe to call twice or concurrently (row lock, status check). Returns the outcome."""
    started = time.monotonic()
    try:
        with transaction.atomic():
            event = events.webhook_event_claim(event_id)
            if event is None:
                return None
            if event.source == WebhookEvent.Source.JIRA:
                status, reason = jira_event_process(event)
            else:
                status, reason = intercom_event_process(event)
            events.webhook_event_finish(event, status, reason, started=started)
            return status
    except Exception as exc:
        logger.exception("intake.process_failed", extra={"event_id": event_id})
        events.webhook_event_record_failure(event_id, f"{type(exc).__name__}: {exc}")
        raise


def jira_event_process(event: WebhookEvent) -> tuple[str, str]:
    site = event.site
    parsed = parse_jira_event(
        event.payload, app_user_ids=[site.app_account_id] if site.app_account_id else (), site_url=site.base_url
    )
    if parsed.outcome in ("ignored", "unsupported"):
        return Status.IGNORED, parsed.reason
    if parsed.outcome == "anomalous":
        return Status.ANOMALOUS, parsed.reason
    deleted = [e for e in parsed.events if isinstance(e, IssueDeleted)]
    others = [e for e in parsed.events if not isinstance(e, IssueDeleted)]
    workspaces = plan_events(webhook_event=event, events=deleted)  # while the deleted issues' links still exist
    jira_events_apply(webhook_event=event, events=parsed.events)  # keys, auto-links, links of deleted issues
    workspaces |= plan_events(webhook_event=event, events=others)  # conversations auto-linked just now hear too
    pumps_start_on_commit(workspaces, here=True)
    return Status.PROCESSED, parsed.reason


def intercom_event_process(event: WebhookEvent) -> tuple[str, str]:
    parsed = parse_intercom_event(event.payload, app_admin_id=event.workspace.app_admin_id)
    if parsed.outcome == "ignored":
        return Status.IGNORED, parsed.reason
    if parsed.outcome == "anomalous":
        return Status.ANOMALOUS, parsed.reason
    intercom_events_apply(webhook_event=event, events=[parsed.event])  # deleted conversations, remote links
    return Status.PROCESSED, ""
