"""The template context for an event: plain data in the shape of notifications.placeholders."""

from typing import Any

from markupsafe import Markup

from connector.jira_markup import adf_to_html, wiki_to_html

_CATEGORY_NAMES = {"new": "To Do", "indeterminate": "In Progress", "done": "Done"}


def _name(user) -> str:
    if user is None:
        return ""
    return user.display_name or user.name or user.account_id or ""


def _comment_html(body: Any) -> Markup:
    html = adf_to_html(body) if isinstance(body, dict) else wiki_to_html(str(body or ""))
    return Markup(html)  # noqa: S704 - produced and sanitised by the converters


def event_context(event, *, links_count: int) -> dict[str, Any]:
    issue = event.issue
    status = issue.status
    context: dict[str, Any] = {
        "issue": {
            "key": issue.key or "",
            "summary": issue.summary or "",
            "url": issue.browse_url or "",
            "type": issue.issue_type or "",
            "priority": issue.priority or "",
            "status": {
                "name": (status.name if status else "") or "",
                "category": _CATEGORY_NAMES.get((status.category if status else "") or "", ""),
            },
            "status_from": "",
            "status_to": "",
            "assignee": _name(issue.assignee),
            "reporter": _name(issue.reporter),
            "resolution": issue.resolution or "",
            "fix_versions": list(issue.fix_versions or ()),
            "labels": list(issue.labels or ()),
        },
        "comment": {"author": "", "body_html": Markup(""), "visibility": ""},
        "actor": {"name": getattr(event, "actor_name", "") or _name(getattr(event, "actor", None))},
        "links": {"count": links_count},
        "event": {"kind": event.kind, "changes": []},
    }
    kind = event.kind
    if kind == "issue_transitioned":
        context["issue"]["status_from"] = event.from_status.name or event.from_status.id or ""
        context["issue"]["status_to"] = event.to_status.name or event.to_status.id or ""
        context["event"]["changes"] = [
            {"field": "status", "from": context["issue"]["status_from"], "to": context["issue"]["status_to"]}
        ]
        if event.resolution_change and event.resolution_change.to_string:
            context["issue"]["resolution"] = event.resolution_change.to_string
    elif kind == "assignee_changed":
        context["issue"]["assignee"] = _name(event.to_user)
        context["event"]["changes"] = [
            {"field": "assignee", "from": _name(event.from_user), "to": _name(event.to_user)}
        ]
    elif kind == "fields_changed":
        changes = getattr(event, "meaningful_changes", event.changes)
        context["event"]["changes"] = [
            {"field": c.field, "from": c.from_string or c.from_value or "", "to": c.to_string or c.to_value or ""}
            for c in changes
        ]
    elif kind.startswith("comment_"):
        comment = event.comment
        restriction = comment.restriction
        context["comment"] = {
            "author": _name(comment.author),
            "body_html": _comment_html(comment.body),
            "visibility": "" if comment.visibility == "public" else (restriction.value if restriction else "internal"),
        }
    return context
