"""What the engine does for a delivery into an Intercom ticket (API 2.14): notes and replies through the ticket
reply endpoint, state, attributes, open/closed, snooze and assignee through PUT /tickets/{id}, tags, and the
tracker ticket's creation and upkeep.

Writes that set a value (state, attribute, open, assignee) read the ticket first and say "already" instead of
writing again, so a repeat after an ambiguous outcome changes nothing. A note is checked against the ticket's
parts only when the delivery is marked `verify`, as for conversations. A tracker created after an ambiguous
outcome is looked for (ticket search by type and the Jira key in the title) before another is created.
Every call after the first takes its own rate-limit slot (`take_slot`).
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from connector.intercom_client import IntercomClient
from deliveries.models import Action, Delivery

CLOCK_SKEW_SECONDS = 30  # as the engine's: how far Intercom's clock may be behind ours
STATES_TTL = 300.0  # ticket states change rarely (an admin edits the workspace's settings)
TITLE = "_default_title_"
DESCRIPTION = "_default_description_"
# Jira status category → ticket state category, unless a rule maps statuses itself.
DEFAULT_STATE_FOR_CATEGORY = {"new": "submitted", "indeterminate": "in_progress", "done": "resolved"}
TICKET_STATE_CATEGORIES = ("submitted", "in_progress", "waiting_on_customer", "resolved")

_states: dict[int, tuple[float, list[dict]]] = {}
_states_lock = threading.Lock()


@dataclass
class TicketResult:
    part_id: str = ""
    note: str = ""
    skipped: bool = False  # nothing to do that can ever be done (e.g. the ticket type lacks the attribute)


def _states_of(client: IntercomClient, workspace_id: int, take_slot: Callable[[], None]) -> list[dict]:
    now = time.monotonic()
    with _states_lock:
        cached = _states.get(workspace_id)
    if cached and cached[0] > now:
        return cached[1]
    take_slot()
    states = client.ticket_states()
    with _states_lock:
        _states[workspace_id] = (now + STATES_TTL, states)
    return states


def state_for(states: list[dict], ticket_type_id: str, category: str) -> dict | None:
    """The ticket type's state in that category (its first one when several share it)."""
    for state in states:
        if state.get("category") != category or state.get("archived"):
            continue
        types = ((state.get("ticket_types") or {}).get("data")) or []
        if not types or any(str(t.get("id")) == str(ticket_type_id) for t in types):
            return state
    return None


def attribute_names(ticket: dict) -> set[str]:
    ticket_type = ticket.get("ticket_type") or {}
    attributes = ((ticket_type.get("ticket_type_attributes") or {}).get("data")) or []
    return {str(a.get("name")) for a in attributes if not a.get("archived")}


def _state_change(d: Delivery, ticket: dict, states_of: Callable[[], list[dict]], *, category: str = "",
                  state_id: str = "") -> tuple[dict, str]:
    """({"ticket_state_id": …} or {}, why not) for moving the ticket to a state id or a state category."""
    current = ticket.get("ticket_state") or {}
    if state_id:
        return ({}, "already") if str(current.get("id")) == str(state_id) else ({"ticket_state_id": str(state_id)}, "")
    if not category:
        return {}, "no state asked for"
    if current.get("category") == category:
        return {}, "already"
    type_id = str((ticket.get("ticket_type") or {}).get("id") or "")
    state = state_for(states_of(), type_id, category)
    if state is None:
        return {}, f"The ticket type has no “{category}” state."
    return {"ticket_state_id": str(state["id"])}, ""


def _parts(ticket: dict) -> list[dict]:
    return ((ticket.get("ticket_parts") or {}).get("ticket_parts")) or []


def perform_ticket(
    d: Delivery, client: IntercomClient, admin_id: str, take_slot: Callable[[], None], *, same_text: Callable,
    snooze_until: Callable[[dict], int],
) -> TicketResult:
    """The calls for one ticket delivery; raises VendorError. `same_text(a, b)` compares note bodies,
    `snooze_until(params)` says when a snooze ends (the engine's helpers, shared with conversations)."""
    ticket_id, params = d.conversation_id, d.params or {}

    def states_of() -> list[dict]:
        return _states_of(client, d.workspace_id, take_slot)

    if d.action == Action.TRACKER_CREATE:
        return _tracker_create(d, client, take_slot)
    if d.action in (Action.NOTE, Action.REPLY):
        if d.verify:
            ticket = client.ticket(ticket_id)
            since = d.created_at.timestamp() - CLOCK_SKEW_SECONDS  # an earlier identical note is not this one
            for part in reversed(_parts(ticket)):
                author = part.get("author") or {}
                if (
                    str(author.get("id")) == str(admin_id)
                    and (part.get("created_at") or since) >= since
                    and same_text(part.get("body") or "", d.body)
                ):
                    return TicketResult(part_id=str(part.get("id") or ""), note="Already on the ticket.")
            take_slot()
        kind = "note" if d.action == Action.NOTE else "comment"
        part = client.ticket_reply(ticket_id, admin_id=admin_id, body=d.body, message_type=kind)
        return TicketResult(part_id=str(part.get("id") or ""))
    if d.action == Action.TAG:
        client.ticket_tag(ticket_id, admin_id=admin_id, tag_id=str(params["tag_id"]))
        return TicketResult()
    if d.action == Action.CLOSE:
        client.ticket_update(ticket_id, admin_id=admin_id, open=False)
        return TicketResult()
    if d.action == Action.SNOOZE:
        client.ticket_update(ticket_id, admin_id=admin_id, snoozed_until=snooze_until(params))
        return TicketResult()
    if d.action == Action.ASSIGN:
        client.ticket_update(ticket_id, admin_id=admin_id, assignee_id=str(params["assignee_id"]))
        return TicketResult()

    # The rest read the ticket first: they set values, and say "already" when the ticket has them.
    ticket = client.ticket(ticket_id)
    changes: dict = {}
    if d.action == Action.REOPEN:
        if ticket.get("open"):
            return TicketResult(note="The ticket was already open.")
        changes["open"] = True
    elif d.action == Action.TICKET_STATE:
        changes, why = _state_change(d, ticket, states_of, category=params.get("category", ""),
                                     state_id=params.get("state_id", ""))
        if why == "already":
            return TicketResult(note="The ticket was already in that state.")
        if why:
            return TicketResult(note=why, skipped=True)
    elif d.action == Action.TICKET_ATTRIBUTE:
        name, value = str(params.get("attribute") or ""), params.get("value")
        if name not in attribute_names(ticket):
            return TicketResult(note=f"The ticket type has no attribute “{name}”.", skipped=True)
        if (ticket.get("ticket_attributes") or {}).get(name) == value:
            return TicketResult(note="The attribute already had that value.")
        changes["ticket_attributes"] = {name: value}
    elif d.action == Action.TRACKER_SYNC:
        changes = _tracker_changes(d, ticket, states_of)
        if not changes:
            return TicketResult(note="The tracker ticket was already in step.")
    else:
        return TicketResult(note=f"“{d.action}” does not apply to tickets.", skipped=True)
    take_slot()
    client.ticket_update(ticket_id, admin_id=admin_id, **changes)
    return TicketResult()


def _tracker_changes(d: Delivery, ticket: dict, states_of: Callable[[], list[dict]]) -> dict:
    """Title, Jira key attribute (where the type has it) and state, as far as they differ from the issue's."""
    params = d.params or {}
    have = ticket.get("ticket_attributes") or {}
    attributes = {}
    title = tracker_title(d.issue_key, params["title"]) if params.get("title") else ""
    if title and have.get(TITLE) != title:
        attributes[TITLE] = title
    key_attribute = params.get("key_attribute") or ""
    if key_attribute in attribute_names(ticket) and have.get(key_attribute) != d.issue_key:
        attributes[key_attribute] = d.issue_key
    changes: dict = {"ticket_attributes": attributes} if attributes else {}
    if params.get("category"):
        state, _ = _state_change(d, ticket, states_of, category=params["category"])
        changes.update(state)
    return changes


def tracker_title(issue_key: str, summary: str) -> str:
    """"[KEY] summary": the key in brackets lets a create that may have got through be found again."""
    return f"[{issue_key}] {summary}".strip()[:250]


def _tracker_create(d: Delivery, client: IntercomClient, take_slot: Callable[[], None]) -> TicketResult:
    params = d.params or {}
    type_id, marker = str(params["ticket_type_id"]), f"[{d.issue_key}]"
    if d.verify:  # the create may have got through: look for it before creating another
        query = {"operator": "AND", "value": [
            {"field": "ticket_type_id", "operator": "=", "value": type_id},
            {"field": "title", "operator": "~", "value": marker},
        ]}
        found = client.ticket_search(query)
        if found:
            return TicketResult(part_id=str(found[0]["id"]), note="The tracker ticket already existed.")
        take_slot()
    ticket_type = client.ticket_type(type_id)
    names = {str(a.get("name")) for a in ((ticket_type.get("ticket_type_attributes") or {}).get("data") or [])}
    attributes = {TITLE: tracker_title(d.issue_key, params.get("title") or "")}
    if DESCRIPTION in names:
        attributes[DESCRIPTION] = params.get("description") or ""
    if params.get("key_attribute") in names:
        attributes[params["key_attribute"]] = d.issue_key
    take_slot()
    ticket = client.ticket_create(ticket_type_id=type_id, attributes=attributes, contact=params.get("contact"))
    return TicketResult(part_id=str(ticket.get("id") or ""))
