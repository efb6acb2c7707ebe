"""Typed values produced from Jira webhook bodies. Pure data: no Django, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

Outcome = Literal["handled", "ignored", "unsupported", "anomalous"]
Visibility = Literal["public", "internal", "restricted"]


def project_key_of(issue_key: str | None) -> str:
    """The project key of an issue key ("SUP" for "SUP-123", "MY-TEAM" for "MY-TEAM-7"); "" when it has none."""
    return issue_key.rsplit("-", 1)[0] if issue_key and "-" in issue_key else ""


@dataclass(frozen=True, kw_only=True)
class UserRef:
    account_id: str | None = None  # Cloud
    name: str | None = None  # Server/DC username (also legacy Cloud)
    key: str | None = None  # Server/DC user key
    display_name: str | None = None
    email: str | None = None

    @property
    def ids(self) -> tuple[str, ...]:
        """Every non-empty identifier, so one check matches a Cloud accountId or a DC name/key."""
        found: list[str] = []
        for value in (self.account_id, self.name, self.key):
            if value and value not in found:
                found.append(value)
        return tuple(found)


@dataclass(frozen=True, kw_only=True)
class StatusRef:
    id: str | None
    name: str | None = None
    category: str | None = None  # "new" | "indeterminate" | "done"; None when the payload doesn't say


@dataclass(frozen=True, kw_only=True)
class IssueRef:
    id: str
    key: str | None = None
    self_url: str | None = None
    browse_url: str | None = None
    project_id: str | None = None
    project_key: str | None = None
    summary: str | None = None
    issue_type: str | None = None
    priority: str | None = None
    labels: tuple[str, ...] = ()
    status: StatusRef | None = None
    assignee: UserRef | None = None
    reporter: UserRef | None = None
    resolution: str | None = None
    fix_versions: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class FieldChange:
    field: str  # display name as Jira sends it ("priority", "MJK - Number Field", "Sprint")
    field_id: str | None  # "priority", "customfield_10072"; None for DC custom fields (Jira omits it)
    from_value: str | None
    from_string: str | None
    to_value: str | None
    to_string: str | None
    # Rank, sprint and time-tracking churn: kept for completeness, but rules usually skip it.
    is_noise: bool = False


@dataclass(frozen=True, kw_only=True)
class CommentRestriction:
    type: str  # "role" | "group"
    value: str | None


@dataclass(frozen=True, kw_only=True)
class Comment:
    id: str
    body: str
    author: UserRef | None = None
    update_author: UserRef | None = None
    created: str | None = None  # ISO-8601 strings exactly as Jira sent them
    updated: str | None = None
    visibility: Visibility = "public"
    restriction: CommentRestriction | None = None


@dataclass(frozen=True, kw_only=True)
class JiraEvent:
    """Common base. `kind` is the stable name notification rules refer to."""

    kind: ClassVar[str] = ""
    description: ClassVar[str] = ""

    issue: IssueRef
    actor: UserRef | None
    timestamp: int  # epoch ms, from the envelope
    webhook_event: str
    is_own: bool  # caused by the connector's own Jira app user: never echo it back
    dedupe_key: str  # equal for the double deliveries Jira makes of one change


@dataclass(frozen=True, kw_only=True)
class IssueCreated(JiraEvent):
    kind: ClassVar[str] = "issue_created"
    description: ClassVar[str] = "An issue was created"


@dataclass(frozen=True, kw_only=True)
class IssueTransitioned(JiraEvent):
    kind: ClassVar[str] = "issue_transitioned"
    description: ClassVar[str] = "An issue moved to another status"

    from_status: StatusRef
    to_status: StatusRef
    # The resolution set or cleared by the same transition, if any.
    resolution_change: FieldChange | None = None


@dataclass(frozen=True, kw_only=True)
class AssigneeChanged(JiraEvent):
    kind: ClassVar[str] = "assignee_changed"
    description: ClassVar[str] = "An issue was assigned, reassigned or unassigned"

    from_user: UserRef | None
    to_user: UserRef | None


@dataclass(frozen=True, kw_only=True)
class FieldsChanged(JiraEvent):
    kind: ClassVar[str] = "fields_changed"
    description: ClassVar[str] = "Other fields of an issue changed (priority, labels, custom fields ...)"

    changes: tuple[FieldChange, ...]

    @property
    def meaningful_changes(self) -> tuple[FieldChange, ...]:
        return tuple(c for c in self.changes if not c.is_noise)


@dataclass(frozen=True, kw_only=True)
class CommentCreated(JiraEvent):
    kind: ClassVar[str] = "comment_created"
    description: ClassVar[str] = "A comment was added to an issue"

    comment: Comment


@dataclass(frozen=True, kw_only=True)
class CommentUpdated(JiraEvent):
    kind: ClassVar[str] = "comment_updated"
    description: ClassVar[str] = "A comment on an issue was edited"

    comment: Comment


@dataclass(frozen=True, kw_only=True)
class CommentDeleted(JiraEvent):
    kind: ClassVar[str] = "comment_deleted"
    description: ClassVar[str] = "A comment on an issue was deleted"

    comment: Comment


@dataclass(frozen=True, kw_only=True)
class IssueDeleted(JiraEvent):
    kind: ClassVar[str] = "issue_deleted"
    description: ClassVar[str] = "An issue was deleted"


@dataclass(frozen=True, kw_only=True)
class IssueMoved(JiraEvent):
    kind: ClassVar[str] = "issue_moved"
    description: ClassVar[str] = "An issue got a new key, usually by moving to another project"

    old_key: str | None
    new_key: str | None
    old_project_key: str | None
    new_project_key: str | None


EVENT_CLASSES: tuple[type[JiraEvent], ...] = (
    IssueCreated,
    IssueTransitioned,
    AssigneeChanged,
    FieldsChanged,
    CommentCreated,
    CommentUpdated,
    CommentDeleted,
    IssueMoved,
    IssueDeleted,
)


def event_kinds() -> list[tuple[str, str]]:
    """(kind, human description) for every event kind; shaped like Django `choices`."""
    return [(cls.kind, cls.description) for cls in EVENT_CLASSES]


@dataclass(frozen=True, kw_only=True)
class ParseResult:
    outcome: Outcome
    events: tuple[JiraEvent, ...] = ()
    reason: str = ""
    webhook_event: str | None = None
