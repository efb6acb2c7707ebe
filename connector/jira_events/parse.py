"""Jira webhook body → typed events, via a dispatch table on `webhookEvent`.

Outcomes: "handled" (events produced), "ignored" (known and deliberately not acted on), "unsupported"
(unknown `webhookEvent`), "anomalous" (a known event missing what we need). Never raises on bad input.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from .extract import (
    Anomaly,
    changelog_items,
    changelog_user,
    comment_value,
    field_change,
    issue_ref,
    issue_ref_from_comment,
    item_kind,
    obj,
    text,
    user_ref,
)
from .types import (
    AssigneeChanged,
    CommentCreated,
    CommentDeleted,
    CommentUpdated,
    FieldsChanged,
    IssueCreated,
    IssueDeleted,
    IssueMoved,
    IssueRef,
    IssueTransitioned,
    JiraEvent,
    ParseResult,
    StatusRef,
    UserRef,
    project_key_of,
)

# Events Jira can send that the connector knowingly does nothing with.
IGNORED_EVENTS: frozenset[str] = frozenset(
    {
        "worklog_created", "worklog_updated", "worklog_deleted",
        "issuelink_created", "issuelink_deleted",
        "issue_property_set", "issue_property_deleted",
        "attachment_created", "attachment_deleted",
        "sprint_created", "sprint_updated", "sprint_deleted", "sprint_started", "sprint_closed",
        "board_created", "board_updated", "board_deleted", "board_configuration_changed",
        "project_created", "project_updated", "project_deleted", "project_soft_deleted",
        "project_restored_deleted", "project_archived", "project_restored_archived",
        "jira:version_created", "jira:version_updated", "jira:version_deleted", "jira:version_released",
        "jira:version_unreleased", "jira:version_moved", "jira:version_merged",
        "user_created", "user_updated", "user_deleted",
        "component_created", "component_updated", "component_deleted",
        "filter_created", "filter_updated", "filter_deleted",
        "option_voting_changed", "option_watching_changed", "option_unassigned_issues_changed",
        "option_subtasks_changed", "option_attachments_changed", "option_issuelinks_changed",
        "option_timetracking_changed",
    }
)  # fmt: skip

# Changelog items that have their own event (or are part of one) and so never land in FieldsChanged.
_OWN_EVENT_FIELDS = frozenset({"status", "assignee", "key", "project"})


@dataclass(frozen=True)
class _Context:
    payload: Mapping[str, Any]
    webhook_event: str
    type_name: str | None  # issue_event_type_name; absent on old Server and on comment_* events
    timestamp: int
    user: UserRef | None  # top-level `user`; comment events on Cloud have none
    app_user_ids: frozenset[str]
    site_url: str | None

    def base(self, issue: IssueRef, actor: UserRef | None, dedupe_key: str) -> dict[str, Any]:
        is_own = actor is not None and any(i in self.app_user_ids for i in actor.ids)
        return {
            "issue": issue,
            "actor": actor,
            "timestamp": self.timestamp,
            "webhook_event": self.webhook_event,
            "is_own": is_own,
            "dedupe_key": dedupe_key,
        }

    def issue(self) -> IssueRef:
        return issue_ref(obj(self.payload, "issue", "payload", required=True), site_url=self.site_url)


Parsed = tuple[tuple[JiraEvent, ...], str]  # events, and a plain-words reason (why none, if none)


def _issue_created(ctx: _Context) -> Parsed:
    issue = ctx.issue()
    event = IssueCreated(**ctx.base(issue, ctx.user, f"jira:issue_created:{issue.id}"))
    return (event,), "issue created"


def _issue_deleted(ctx: _Context) -> Parsed:
    issue = ctx.issue()
    event = IssueDeleted(**ctx.base(issue, ctx.user, f"jira:issue_deleted:{issue.id}"))
    return (event,), "issue deleted"


# On jira:issue_updated, issue_event_type_name tells which comment action a carried `comment` stands for.
_COMMENT_TYPE_NAMES: dict[str, type[CommentCreated | CommentUpdated | CommentDeleted]] = {
    "issue_commented": CommentCreated,
    "issue_comment_edited": CommentUpdated,
    "issue_comment_deleted": CommentDeleted,
}


def _issue_updated(ctx: _Context) -> Parsed:
    issue = ctx.issue()
    changelog_id, items = changelog_items(ctx.payload)
    events: list[JiraEvent] = []

    raw_comment = obj(ctx.payload, "comment", "payload")
    comment_cls = _COMMENT_TYPE_NAMES.get(ctx.type_name or "")
    if raw_comment is not None:
        if comment_cls is None:
            # Old Server omits the type name; DC attaches transition-screen comments to issue_resolved etc.
            same = raw_comment.get("updated") in (None, raw_comment.get("created"))
            comment_cls = CommentCreated if same else CommentUpdated
        events.append(_comment_event(ctx, comment_cls, raw_comment, issue))
    elif comment_cls is CommentDeleted:
        if not items:
            return (), "issue_comment_deleted without the comment; the comment_deleted delivery carries it"
    elif comment_cls is not None:
        raise Anomaly(f"{ctx.type_name} without a comment")

    events.extend(_changelog_events(ctx, issue, changelog_id, items))
    if not events:
        return (), "issue_updated with no changelog items we act on"
    return tuple(events), "issue updated: " + ", ".join(e.kind for e in events)


def _changelog_events(
    ctx: _Context, issue: IssueRef, changelog_id: str | None, items: list[dict]
) -> list[JiraEvent]:
    by_kind: dict[str, dict] = {}
    others: list[dict] = []
    for item in items:
        kind = item_kind(item)
        if kind in _OWN_EVENT_FIELDS or kind == "resolution":
            by_kind.setdefault(kind, item)
        else:
            others.append(item)
    status = by_kind.get("status")
    resolution = by_kind.get("resolution")
    if resolution is not None and status is None:
        others.append(resolution)  # resolution edited on its own is a plain field change
    moved = "key" in by_kind or "project" in by_kind
    changes = tuple(field_change(item) for item in others if not (moved and item_kind(item) == "workflow"))

    suffix = f"changelog:{changelog_id}" if changelog_id else f"ts:{ctx.timestamp}"

    def base(kind: str) -> dict[str, Any]:
        return ctx.base(issue, ctx.user, f"jira:{kind}:{issue.id}:{suffix}")

    events: list[JiraEvent] = []
    if moved:
        events.append(_moved(base(IssueMoved.kind), issue, by_kind.get("key")))
    if status is not None:
        to_id = text(status, "to")
        current = issue.status
        category = current.category if current is not None and current.id == to_id else None
        events.append(
            IssueTransitioned(
                **base(IssueTransitioned.kind),
                from_status=StatusRef(id=text(status, "from"), name=text(status, "fromString")),
                to_status=StatusRef(id=to_id, name=text(status, "toString"), category=category),
                resolution_change=field_change(resolution) if resolution is not None else None,
            )
        )
    assignee = by_kind.get("assignee")
    if assignee is not None:
        cloud = any("fieldId" in item for item in items) or bool(ctx.user and ctx.user.account_id)
        events.append(
            AssigneeChanged(
                **base(AssigneeChanged.kind),
                from_user=changelog_user(assignee, "from", cloud=cloud, current=None),
                to_user=changelog_user(assignee, "to", cloud=cloud, current=issue.assignee),
            )
        )
    if changes:
        events.append(FieldsChanged(**base(FieldsChanged.kind), changes=changes))
    return events


def _moved(base: dict[str, Any], issue: IssueRef, key_item: dict | None) -> IssueMoved:
    # The `project` item names projects by id and display name, so project keys come from the issue keys.
    old_key = (text(key_item, "fromString") or text(key_item, "from")) if key_item else None
    new_key = (text(key_item, "toString") or text(key_item, "to") if key_item else None) or issue.key
    return IssueMoved(
        **base,
        old_key=old_key,
        new_key=new_key,
        old_project_key=project_key_of(old_key) or None,
        new_project_key=issue.project_key or project_key_of(new_key) or None,
    )


def _comment_event(
    ctx: _Context,
    cls: type[CommentCreated | CommentUpdated | CommentDeleted],
    raw_comment: dict,
    issue: IssueRef,
) -> JiraEvent:
    comment = comment_value(raw_comment)
    # Keys name the comment only, so comment_created and issue_updated/issue_commented collide on purpose.
    if cls is CommentCreated:
        actor, key = comment.author or ctx.user, f"jira:comment_created:{comment.id}"
    elif cls is CommentUpdated:
        actor = comment.update_author or ctx.user
        key = f"jira:comment_updated:{comment.id}:{comment.updated or ctx.timestamp}"
    else:
        # Who deleted it is only known when Jira sends `user` (DC does, Cloud does not).
        actor, key = ctx.user, f"jira:comment_deleted:{comment.id}"
    return cls(**ctx.base(issue, actor, key), comment=comment)


def _comment_parser(cls: type[CommentCreated | CommentUpdated | CommentDeleted]) -> Callable:
    def parse(ctx: _Context) -> Parsed:
        raw_comment = obj(ctx.payload, "comment", "payload", required=True)
        raw_issue = obj(ctx.payload, "issue", "payload")
        if raw_issue is not None and text(raw_issue, "id"):
            issue = issue_ref(raw_issue, site_url=ctx.site_url)
        else:
            issue = issue_ref_from_comment(raw_comment)  # Server/DC: no `issue` on comment events
        return (_comment_event(ctx, cls, raw_comment, issue),), cls.description.lower()

    return parse


DISPATCH: dict[str, Callable[[_Context], Parsed]] = {
    "jira:issue_created": _issue_created,
    "jira:issue_updated": _issue_updated,
    "jira:issue_deleted": _issue_deleted,
    "comment_created": _comment_parser(CommentCreated),
    "comment_updated": _comment_parser(CommentUpdated),
    "comment_deleted": _comment_parser(CommentDeleted),
}
SUPPORTED_EVENTS: frozenset[str] = frozenset(DISPATCH)


def parse_jira_event(
    payload: Any, *, app_user_ids: Collection[str] = (), site_url: str | None = None
) -> ParseResult:
    """Parse one Jira webhook body. `app_user_ids` are the connector's own Jira user ids (accountId,
    name or key) so its own writes come out with `is_own=True`; `site_url` overrides the browse base."""
    if not isinstance(payload, dict):
        return ParseResult(outcome="anomalous", reason="payload is not a JSON object")
    event_name = payload.get("webhookEvent")
    if not isinstance(event_name, str) or not event_name:
        return ParseResult(outcome="anomalous", reason="payload has no webhookEvent")
    if event_name in IGNORED_EVENTS:
        return ParseResult(
            outcome="ignored", webhook_event=event_name, reason=f"{event_name} is not something we act on"
        )
    parser = DISPATCH.get(event_name)
    if parser is None:
        return ParseResult(
            outcome="unsupported", webhook_event=event_name, reason=f"unknown webhookEvent {event_name!r}"
        )
    timestamp = payload.get("timestamp")
    if not isinstance(timestamp, int) or isinstance(timestamp, bool):
        return ParseResult(outcome="anomalous", webhook_event=event_name, reason="payload has no timestamp")

    ctx = _Context(
        payload=payload,
        webhook_event=event_name,
        type_name=text(payload, "issue_event_type_name"),
        timestamp=timestamp,
        user=user_ref(payload.get("user")),
        app_user_ids=frozenset(i for i in app_user_ids if i),
        site_url=site_url,
    )
    try:
        events, reason = parser(ctx)
    except Anomaly as exc:
        return ParseResult(outcome="anomalous", webhook_event=event_name, reason=str(exc))
    return ParseResult(
        outcome="handled" if events else "ignored", events=events, reason=reason, webhook_event=event_name
    )
