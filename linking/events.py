"""What Jira and Intercom events do to links: keys kept current, conversation URLs auto-linked, links of
deleted issues dropped, deleted conversations flagged. Called by pipeline.process inside the transaction that
marks the webhook event processed: database work only; Jira and Intercom calls are enqueued on commit.
"""

import logging
from dataclasses import replace

from connector.connections.selectors import project_connection_for
from connector.intercom_events import IntercomTopic
from connector.jira_events import project_key_of
from connector.jira_events import types as jira
from linking import autolink, services, snapshots, voice
from linking.services import IssueTarget

logger = logging.getLogger(__name__)


def _target(site, issue: jira.IssueRef) -> IssueTarget:
    key = issue.key or ""
    return IssueTarget(
        site=site,
        issue_id=issue.id,
        issue_key=key,
        project_key=issue.project_key or project_key_of(key),
        project_id=issue.project_id or "",
        summary=issue.summary or "",
        status_name=(issue.status.name or "") if issue.status else "",
        status_category=(issue.status.category or "") if issue.status else "",
    )


def _raw_description(webhook_event) -> object:
    issue = (webhook_event.payload or {}).get("issue") or {}
    return ((issue.get("fields") or {}) if isinstance(issue, dict) else {}).get("description")


def _raw_comment_body(webhook_event, comment_id: str) -> object:
    raw = (webhook_event.payload or {}).get("comment") or {}
    if isinstance(raw, dict) and str(raw.get("id")) == str(comment_id):
        return raw.get("body")
    return None


def jira_events_apply(*, webhook_event, events) -> None:
    """Keep issue keys current, auto-link conversation URLs, drop links of deleted issues."""
    site = webhook_event.site
    for event in events:
        target = _target(site, event.issue)
        if isinstance(event, jira.IssueDeleted):
            services.issue_links_drop(site=site, issue_id=event.issue.id)
            continue
        moved = isinstance(event, jira.IssueMoved)
        if moved:
            target = replace(
                target,
                issue_key=event.new_key or target.issue_key,
                project_key=event.new_project_key or target.project_key,
            )
        services.issue_fields_update(target, moved=moved)
        if event.is_own:
            continue  # our own writes never create links
        _autolink(webhook_event, event, target)


def _autolink(webhook_event, event, target: IssueTarget) -> None:
    if isinstance(event, jira.IssueCreated):
        text, previous, origin = autolink.text_of(_raw_description(webhook_event)), None, "description"
    elif isinstance(event, jira.FieldsChanged):
        change = next((c for c in event.changes if (c.field_id or c.field).lower() == "description"), None)
        if change is None:
            return
        # The changelog carries wiki text; the issue itself the current value (ADF on some sites).
        text = (change.to_string or "") + "\n" + autolink.text_of(_raw_description(webhook_event))
        previous, origin = change.from_string or "", "description"
    elif isinstance(event, jira.CommentCreated | jira.CommentUpdated):
        raw = autolink.text_of(_raw_comment_body(webhook_event, event.comment.id))
        text, previous, origin = event.comment.body + "\n" + raw, None, f"comment:{event.comment.id}"
    elif isinstance(event, jira.CommentDeleted):
        autolink.links_of_removed_comment(target=target, comment_id=event.comment.id)
        return
    else:
        return
    if "intercom." not in text and previous is None:
        return
    project = project_connection_for(target.site, project_id=target.project_id, project_key=target.project_key)
    if project is None or not target.issue_key:
        if not target.project_key and "intercom." in text:  # Server/DC comment events name no project
            services.autolink_resolve_later(site=target.site, issue_id=target.issue_id, text=text, origin=origin)
        return
    autolink.links_from_text(project=project, target=target, text=text, origin=origin, previous_text=previous)


def intercom_events_apply(*, webhook_event, events) -> None:
    """Keep snapshots current from the conversation the notification carries (no read), flag links whose
    conversation was deleted, refresh remote links when what they show changed."""
    workspace = webhook_event.workspace
    data = (webhook_event.payload or {}).get("data")
    item = data.get("item") if isinstance(data, dict) else None
    for event in events:
        if event.topic == IntercomTopic.USER_REPLIED:
            voice.customer_reply_record(workspace=workspace, event=event)
        if event.topic == IntercomTopic.DELETED:
            snapshots.snapshot_mark_deleted(workspace, event.conversation_id)
            services.links_mark_missing(workspace=workspace, conversation_id=event.conversation_id)
            continue
        changed = snapshots.snapshot_from_webhook(workspace, event.conversation_id, item or {})
        # closed, opened, snoozed, replied: the remote links show the conversation's state
        if changed:
            services.remote_links_refresh(workspace_id=workspace.pk, conversation_id=event.conversation_id)
