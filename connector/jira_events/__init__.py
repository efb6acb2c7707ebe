"""Typed Jira webhook events: `parse_jira_event(payload)` → ParseResult(outcome, events, reason).

Pure Python (no Django, no I/O) so linking and notifications can rely on it anywhere, including tests.
"""

from .parse import DISPATCH, IGNORED_EVENTS, SUPPORTED_EVENTS, parse_jira_event
from .types import (
    EVENT_CLASSES,
    AssigneeChanged,
    Comment,
    CommentCreated,
    CommentDeleted,
    CommentRestriction,
    CommentUpdated,
    FieldChange,
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
    event_kinds,
    project_key_of,
)

__all__ = [
    "DISPATCH",
    "EVENT_CLASSES",
    "IGNORED_EVENTS",
    "SUPPORTED_EVENTS",
    "AssigneeChanged",
    "Comment",
    "CommentCreated",
    "CommentDeleted",
    "CommentRestriction",
    "CommentUpdated",
    "FieldChange",
    "FieldsChanged",
    "IssueCreated",
    "IssueDeleted",
    "IssueMoved",
    "IssueRef",
    "IssueTransitioned",
    "JiraEvent",
    "ParseResult",
    "StatusRef",
    "UserRef",
    "event_kinds",
    "parse_jira_event",
    "project_key_of",
]
