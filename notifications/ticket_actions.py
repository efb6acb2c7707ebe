"""The ticket actions of rules, resolved when an event is planned: "set ticket state" turns the issue's status
into a ticket state category, "set a ticket attribute" takes a value from the issue. The engine then finds the
ticket type's state and checks the type has the attribute (deliveries/tickets.py).

A state map's keys are a status id ("10001"), a status name ("In Review", any case) or "category:<key>"
(new / indeterminate / done); values are ticket state categories. Without a match the Jira status category
decides: to do → submitted, in progress → in progress, done → resolved.
"""

from deliveries.models import Action
from deliveries.tickets import DEFAULT_STATE_FOR_CATEGORY, TICKET_STATE_CATEGORIES

ATTRIBUTE_SOURCES = {
    "key": "The issue key",
    "fix_versions": "The fix versions (comma-separated)",
    "status": "The status name",
    "summary": "The summary",
}


def state_map_problems(state_map) -> list[str]:
    if not isinstance(state_map, dict):
        return ["map is an object of status → ticket state category."]
    return [
        f"{key!r} → {value!r}: the ticket state category is one of {', '.join(TICKET_STATE_CATEGORIES)}."
        for key, value in state_map.items()
        if value not in TICKET_STATE_CATEGORIES
    ]


def state_category_for(status, state_map: dict | None) -> str:
    """The ticket state category for a Jira status (a StatusRef); "" when nothing says."""
    if status is None:
        return ""
    state_map = state_map or {}
    names = {str(k).lower(): v for k, v in state_map.items()}
    for candidate in (status.id, (status.name or "").lower(), f"category:{status.category or ''}"):
        if candidate and candidate in state_map:
            return state_map[candidate]
        if candidate and candidate.lower() in names:
            return names[candidate.lower()]
    return DEFAULT_STATE_FOR_CATEGORY.get(status.category or "", "")


def attribute_value(source: str, issue) -> str | None:
    if source == "key":
        return issue.key or None
    if source == "fix_versions":
        return ", ".join(issue.fix_versions or ()) or None
    if source == "status":
        return (issue.status.name if issue.status else None) or None
    if source == "summary":
        return issue.summary or None
    return None


def event_status(event):
    """The status the issue is in after the event (a transition says it; other events carry the issue's)."""
    to_status = getattr(event, "to_status", None)
    return to_status if to_status is not None and to_status.id else getattr(event.issue, "status", None)


def ticket_action_params(kind: str, options: dict, event) -> dict | None:
    """The delivery's params for a ticket action of a rule that fired; None when the event gives it nothing
    to set (no status, no such value)."""
    if kind == Action.TICKET_STATE:
        category = state_category_for(event_status(event), options.get("map"))
        return {"category": category} if category else None
    if kind == Action.TICKET_ATTRIBUTE:
        value = attribute_value(options.get("from") or "key", event.issue)
        return {"attribute": options.get("attribute"), "value": value} if value is not None else None
    return dict(options)
