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


def _status_text(status: StatusRef | None) -> str:
    return "none" if status is None else (status.name or str(status.id))


def _wanted(values) -> str:
    return ", ".join(v for v in values if v and v.strip())


def mismatch_reason(rule, event) -> str:
    """Why `rule` does not fire for `event`, in an admin's words; "" when it does. Mirrors `rule_matches`."""
    if not rule.enabled:
        return "The rule is turned off."
    if getattr(event, "is_own", False):
        return "The change was made by the connector's own app user; the connector never answers itself."
    if rule.trigger != event.kind:
        return f"The rule fires on “{rule.get_trigger_display()}”; this event is {event.kind.replace('_', ' ')}."
    if event.kind == "issue_transitioned":
        if not status_matches(rule.from_status, event.from_status):
            return f"From status must be “{rule.from_status}”; it was {_status_text(event.from_status)}."
        if not status_matches(rule.to_status, event.to_status):
            return f"To status must be “{rule.to_status}”; it became {_status_text(event.to_status)}."
    elif not _trigger_holds(rule, event):
        if event.kind == "comment_created":
            allowed = ", ".join(rule.comment_visibility or ["public"])
            return f"The comment is {event.comment.visibility}; the rule forwards only {allowed} comments."
        if event.kind == "fields_changed":
            return f"None of the fields the rule watches ({_wanted(rule.fields) or 'any'}) changed."
        return "The trigger's conditions do not hold."
    issue = event.issue
    if not _any_of(rule.issue_types, [getattr(issue, "issue_type", None) or ""]):
        return f"Issue type must be one of {_wanted(rule.issue_types)}; it is {issue.issue_type or 'none'}."
    if not _any_of(rule.priorities, [getattr(issue, "priority", None) or ""]):
        return f"Priority must be one of {_wanted(rule.priorities)}; it is {issue.priority or 'none'}."
    if not _any_of(rule.labels, getattr(issue, "labels", ()) or ()):
        return f"The issue must carry one of the labels {_wanted(rule.labels)}."
    return ""


def rules_for_event(rules: Iterable, event) -> list:
    """Rules in order that fire for `event`, honouring "stop after this rule"."""
    fired = []
    for rule in rules:
        if rule_matches(rule, event):
            fired.append(rule)
            if rule.stop_after:
                break
    return fired


MESSAGE_ACTIONS = ("note", "reply")


def _overlap(a, b) -> bool:
    """Two "any of" conditions can both hold for one issue: either is empty, or they share a value."""
    a = {v.strip().lower() for v in a or [] if v and v.strip()}
    b = {v.strip().lower() for v in b or [] if v and v.strip()}
    return not a or not b or bool(a & b)


def _status_overlap(a: str, b: str) -> bool:
    a, b = (a or "").strip().lower(), (b or "").strip().lower()
    return a in ("", "any") or b in ("", "any") or a == b or a.startswith("category:") or b.startswith("category:")


def rules_overlap(other, data: dict) -> bool:
    """Would `other` (an enabled rule) also post a message for events the rule described by `data` posts for:
    same trigger, conditions that can hold together, and `other` not stopping later rules. Broad on purpose,
    for a warning."""
    if other.trigger != data.get("trigger") or other.stop_after:
        return False
    if not any(t in MESSAGE_ACTIONS for t in other.action_types):
        return False
    if not (_status_overlap(other.from_status, data.get("from_status"))
            and _status_overlap(other.to_status, data.get("to_status"))
            and _overlap(other.issue_types, data.get("issue_types"))
            and _overlap(other.priorities, data.get("priorities"))
            and _overlap(other.labels, data.get("labels"))):
        return False
    return data.get("trigger") != "comment_created" or _overlap(
        other.comment_visibility or ["public"], data.get("comment_visibility") or ["public"]
    )
