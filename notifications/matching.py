"""Which rules fire for an event: pure functions over a rule's fields and a typed event (no database)."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from connector.jira_events import StatusRef


@dataclass(frozen=True)
class LinkEvent:
    """A conversation was linked to or unlinked from an issue (from linking, not from a Jira webhook)."""

    kind: str  # conversation_linked / conversation_unlinked
    issue: Any  # IssueRef-like: id, key, summary, project_key, issue_type, priority, labels, status
    conversation_id: str
    actor_name: str = ""
    dedupe_key: str = ""
    is_own: bool = False


def status_matches(condition: str, status: StatusRef | None) -> bool:
    """Empty or "any" matches everything; otherwise an id, a name (any case) or "category:<key>"."""
    condition = (condition or "").strip()
    if not condition or condition.lower() == "any":
        return True
    if status is None:
        return False
    if condition.lower().startswith("category:"):
        return (status.category or "").lower() == condition.split(":", 1)[1].strip().lower()
    if status.id is not None and condition == str(status.id):
        return True
    return (status.name or "").strip().lower() == condition.lower()


def _any_of(wanted: Iterable[str], actual: Iterable[str]) -> bool:
    wanted = {w.strip().lower() for w in wanted if w and w.strip()}
    if not wanted:
        return True
    return bool(wanted & {a.strip().lower() for a in actual if a})


def conditions_hold(rule, issue) -> bool:
    return (
        _any_of(rule.issue_types, [getattr(issue, "issue_type", None) or ""])
        and _any_of(rule.priorities, [getattr(issue, "priority", None) or ""])
        and _any_of(rule.labels, getattr(issue, "labels", ()) or ())
    )


def _trigger_holds(rule, event) -> bool:
    kind = event.kind
    if rule.trigger != kind:
        return False
    if kind == "issue_transitioned":
        return status_matches(rule.from_status, event.from_status) and status_matches(rule.to_status, event.to_status)
    if kind == "comment_created":
        allowed = set(rule.comment_visibility or ["public"])
        # Visibility fails closed: internal (JSM) and restricted comments only where the rule says so.
        return event.comment.visibility in allowed
    if kind == "fields_changed":
        wanted = {f.strip().lower() for f in rule.fields or [] if f.strip()}
        changes = getattr(event, "meaningful_changes", event.changes)
        if not wanted:
            return bool(changes)
        return any((c.field or "").lower() in wanted or (c.field_id or "").lower() in wanted for c in changes)
    return True


def rule_matches(rule, event) -> bool:
    if not rule.enabled or getattr(event, "is_own", False):
        return False
    return _trigger_holds(rule, event) and conditions_hold(rule, event.issue)


def rules_for_event(rules: Iterable, event) -> list:
    """Rules in order that fire for `event`, honouring "stop after this rule"."""
    fired = []
    for rule in rules:
        if rule_matches(rule, event):
            fired.append(rule)
            if rule.stop_after:
                break
    return fired
