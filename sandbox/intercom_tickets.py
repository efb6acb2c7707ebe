"""Tickets for the Intercom simulator (API 2.14): ticket types and their attributes, ticket states, tickets
(customer, back-office, tracker), notes and replies on tickets, updates (state, attributes, open, snooze,
assignee), tags, search, and linked objects (conversations and customer tickets linked to a tracker).

Mixed into IntercomSimulator; every accepted write is in its `ledger` under the ticket's id, with kinds
ticket_note, ticket_comment, ticket_state, ticket_attribute, ticket_update, ticket_tag and ticket_create.
"""

from __future__ import annotations

import json
import time
from typing import Any

from sandbox.server import HttpError, Request, Response

STATE_CATEGORIES = (("submitted", "Submitted"), ("in_progress", "In progress"),
                    ("waiting_on_customer", "Waiting on customer"), ("resolved", "Resolved"))
SEARCH_CATEGORY = {"request": "Customer", "Back-office": "Back-office", "Tracker": "Tracker"}


def _copy(value: Any) -> Any:
    return json.loads(json.dumps(value))


class TicketsMixin:
    """State and routes of tickets; expects the simulator's lock, ids, admins, contacts, ledger and routers."""

    def _seed_tickets(self) -> None:
        self.ticket_types: dict[str, dict[str, Any]] = {}
        self.ticket_states: dict[str, dict[str, Any]] = {}
        self.tickets: dict[str, dict[str, Any]] = {}
        self._ticket_numbers = iter(range(1, 10**9))
        for category, label in STATE_CATEGORIES:
            state_id = self._next_id()
            self.ticket_states[state_id] = {"type": "ticket_state", "id": state_id, "category": category,
                                            "internal_label": label, "external_label": label, "archived": False}
        self.tracker_type = self.add_ticket_type("Bug tracker", category="Tracker", attributes=["Jira key"])
        self.customer_type = self.add_ticket_type("Bug report", category="Customer",
                                                  attributes=["Jira key", "Fix version"])
        self.backoffice_type = self.add_ticket_type("Escalation", category="Back-office")

    # ----- seeding
    def add_ticket_type(self, name: str, *, category: str = "Customer",
                        attributes: list[str] = ()) -> dict[str, Any]:
        with self.lock:
            now = int(time.time())
            type_id = self._next_id()
            data = []
            for order, attr in enumerate(["_default_title_", "_default_description_", *attributes]):
                data.append({"type": "ticket_type_attribute", "id": self._next_id(),
                             "workspace_id": self.app["id_code"], "name": attr, "description": attr,
                             "data_type": "string", "input_options": None, "order": order,
                             "required_to_create": attr == "_default_title_",
                             "required_to_create_for_contacts": False, "visible_on_create": True,
                             "visible_to_contacts": False, "default": attr.startswith("_"),
                             "ticket_type_id": int(type_id), "archived": False, "created_at": now,
                             "updated_at": now})
            ticket_type = {"type": "ticket_type", "id": type_id, "category": category, "name": name,
                           "description": f"{name} tickets", "icon": "\U0001F41E",
                           "workspace_id": self.app["id_code"], "archived": False, "created_at": now,
                           "updated_at": now, "is_internal": category != "Customer",
                           "ticket_type_attributes": {"type": "list", "data": data}}
            self.ticket_types[type_id] = ticket_type
            return _copy(ticket_type)

    def _state_of_category(self, category: str) -> dict[str, Any]:
        return next(s for s in self.ticket_states.values() if s["category"] == category)

    def add_ticket(self, *, ticket_type_id: str | None = None, title: str = "Cannot export",
                   description: str = "", contact: dict[str, Any] | None = None,
                   attributes: dict[str, Any] | None = None, state: str = "submitted") -> dict[str, Any]:
        """Seed a ticket (a customer ticket by default); returns its API representation."""
        with self.lock:
            ticket_type = self.ticket_types[ticket_type_id or self.customer_type["id"]]
            contact = contact or (self.add_contact() if ticket_type["category"] == "Customer" else None)
            ticket = self._new_ticket(ticket_type, {"_default_title_": title, "_default_description_": description,
                                                    **(attributes or {})}, contact)
            ticket["ticket_state"] = self._state_ref(self._state_of_category(state))
            return _copy(ticket)

    def _new_ticket(self, ticket_type: dict[str, Any], attributes: dict[str, Any],
                    contact: dict[str, Any] | None) -> dict[str, Any]:
        now = int(time.time())
        ticket_id = self._next_id()
        ticket = {
            "type": "ticket", "id": ticket_id, "ticket_id": str(next(self._ticket_numbers)),
            "category": ticket_type["category"], "ticket_attributes": dict(attributes),
            "ticket_state": self._state_ref(self._state_of_category("submitted")),
            "ticket_type": _copy(ticket_type),
            "contacts": {"type": "contact.list", "contacts": (
                [{"type": "contact", "id": contact["id"], "external_id": None}] if contact else [])},
            "admin_assignee_id": "0", "team_assignee_id": "0", "created_at": now, "updated_at": now,
            "open": True,  # snoozed_until only while snoozed: the 2.14 schema has no null for it
            "linked_objects": {"type": "list", "data": [], "total_count": 0, "has_more": False},
            "ticket_parts": {"type": "ticket_part.list", "ticket_parts": [], "total_count": 0},
            "is_shared": ticket_type["category"] == "Customer", "tags": {"type": "tag.list", "tags": []},
        }
        self.tickets[ticket_id] = ticket
        return ticket

    @staticmethod
    def _state_ref(state: dict[str, Any]) -> dict[str, Any]:
        return {k: state[k] for k in ("type", "id", "category", "internal_label", "external_label")}

    def link_objects(self, tracker_id: str, object_id: str, object_type: str = "conversation") -> None:
        """Link a conversation or a customer ticket to a tracker ticket, as a teammate does in the Inbox."""
        with self.lock:
            tracker = self.tickets[tracker_id]
            other = self.tickets[object_id] if object_type == "ticket" else self.conversations[object_id]
            self._add_linked(tracker, {"type": object_type, "id": object_id,
                                       "category": other.get("category") if object_type == "ticket" else None})
            self._add_linked(other, {"type": "ticket", "id": tracker_id, "category": "Tracker"})

    def unlink_objects(self, tracker_id: str, object_id: str) -> None:
        with self.lock:
            for owner, gone in ((self.tickets[tracker_id], object_id),
                                (self.tickets.get(object_id) or self.conversations.get(object_id), tracker_id)):
                if owner is None:
                    continue
                linked = owner["linked_objects"]
                linked["data"] = [o for o in linked["data"] if o["id"] != gone]
                linked["total_count"] = len(linked["data"])

    @staticmethod
    def _add_linked(owner: dict[str, Any], entry: dict[str, Any]) -> None:
        linked = owner["linked_objects"]
        if not any(o["id"] == entry["id"] and o["type"] == entry["type"] for o in linked["data"]):
            linked["data"].append(entry)
            linked["total_count"] = len(linked["data"])

    def ticket_writes(self, ticket_id: str, kind: str | None = None) -> list[Any]:
        with self.lock:
            return [e for e in self.ledger if e.conversation_id == ticket_id and e.kind.startswith("ticket")
                    and kind in (None, e.kind)]

    def user_replied(self, conversation_id: str, body: str = "<p>Any news on this?</p>") -> dict[str, Any]:
        """The conversation's customer replies: adds the part and returns the conversation.user.replied
        notification, whose item carries only that part (as in `intercom-webhooks/conversation_user_replied.json`)."""
        with self.lock:
            conversation = self.conversations[conversation_id]
            contact = self.contacts.get(conversation["contacts"]["contacts"][0]["id"]) or {}
            author = {"type": "user", "id": contact.get("id"), "name": contact.get("name"),
                      "email": contact.get("email")}
            part_id = self._add_part(conversation, "comment", body, author)
            self._record(conversation_id, "user_comment", body, None, part_id)
            payload = self.webhook_payload("conversation.user.replied", conversation_id)
        parts = payload["data"]["item"]["conversation_parts"]
        parts["conversation_parts"] = [p for p in parts["conversation_parts"] if p["id"] == part_id]
        parts["total_count"] = 1
        return payload

    # ----- routes
    def _add_ticket_routes(self) -> None:
        add = self.router.add
        add("GET", "/ticket_states", self._list_ticket_states)
        add("GET", "/ticket_types", lambda r: Response(200, {"type": "list", "data": _copy(
            list(self.ticket_types.values()))}))
        add("GET", "/ticket_types/{ticket_type_id}", self._ticket_type)
        add("POST", "/tickets", self._create_ticket, write=True)
        add("POST", "/tickets/search", self._search_tickets)
        add("GET", "/tickets/{ticket_id}", lambda r: Response(200, _copy(self._get_ticket(r))))
        add("PUT", "/tickets/{ticket_id}", self._update_ticket, write=True)
        add("POST", "/tickets/{ticket_id}/reply", self._reply_ticket, write=True)
        add("POST", "/tickets/{ticket_id}/tags", self._tag_ticket, write=True)
        control = self.control.add
        control("POST", "/_sim/tickets", lambda r: Response(201, self.add_ticket(**r.json())))
        control("GET", "/_sim/tickets/{ticket_id}", lambda r: Response(200, _copy(self._get_ticket(r))))
        control("POST", "/_sim/tickets/{ticket_id}/links", self._control_link)

    def _list_ticket_states(self, request: Request) -> Response:
        with self.lock:
            types = [{k: t[k] for k in ("type", "id", "name", "description", "icon", "archived", "is_internal",
                                        "category")} for t in self.ticket_types.values()]
            data = [{**s, "ticket_types": {"type": "list", "data": _copy(types)}} for s in self.ticket_states.values()]
        return Response(200, {"type": "list", "data": data})

    def _ticket_type(self, request: Request) -> Response:
        ticket_type = self.ticket_types.get(request.params["ticket_type_id"])
        if ticket_type is None:
            raise HttpError(404, "Ticket type not found", "ticket_type_not_found")
        return Response(200, _copy(ticket_type))

    def _get_ticket(self, request: Request) -> dict[str, Any]:
        ticket = self.tickets.get(request.params["ticket_id"])
        if ticket is None:
            raise HttpError(404, "Ticket not found", "ticket_not_found")
        return ticket

    @staticmethod
    def _attribute_names(ticket_type: dict[str, Any]) -> set[str]:
        return {a["name"] for a in ticket_type["ticket_type_attributes"]["data"] if not a["archived"]}

    def _check_attributes(self, ticket_type: dict[str, Any], attributes: Any) -> dict[str, Any]:
        if not isinstance(attributes, dict):
            raise HttpError(400, "ticket_attributes must be an object", "parameter_invalid")
        unknown = set(attributes) - self._attribute_names(ticket_type)
        if unknown:
            raise HttpError(400, f"Ticket attribute {sorted(unknown)[0]} not found on the ticket type",
                            "parameter_invalid")
        return attributes

    def _ticket_part(self, ticket: dict[str, Any], part_type: str, author: dict[str, Any], **extra: Any) -> dict:
        now = int(time.time())
        part = {"type": "ticket_part", "id": self._next_id(), "part_type": part_type, "created_at": now,
                "updated_at": now, "author": author, "attachments": [], "redacted": False, **extra}
        parts = ticket["ticket_parts"]
        parts["ticket_parts"].append(part)
        parts["total_count"] += 1
        ticket["updated_at"] = now
        return part

    def _create_ticket(self, request: Request) -> Response:
        data = request.json()
        with self.lock:
            ticket_type = self.ticket_types.get(str(data.get("ticket_type_id") or ""))
            if ticket_type is None:
                raise HttpError(400, "Ticket type not found", "parameter_invalid")
            attributes = self._check_attributes(ticket_type, data.get("ticket_attributes") or {})
            if not attributes.get("_default_title_"):
                raise HttpError(400, "_default_title_ is required", "parameter_invalid")
            contact = self._contact_for((data.get("contacts") or [None])[0])
            ticket = self._new_ticket(ticket_type, attributes, contact)
            author = self._author(self.admins[request.admin_id])  # type: ignore[attr-defined]
            self._ticket_part(ticket, "ticket_state_updated_by_admin", author, ticket_state="submitted",
                              previous_ticket_state="submitted")
            link_to = data.get("conversation_to_link_id")
            if link_to and str(link_to) in self.conversations:
                self._add_linked(ticket, {"type": "conversation", "id": str(link_to), "category": None})
                self._add_linked(self.conversations[str(link_to)],
                                 {"type": "ticket", "id": ticket["id"], "category": ticket_type["category"]})
            self._record(ticket["id"], "ticket_create", attributes["_default_title_"], request.admin_id, None)  # type: ignore[attr-defined]
            return Response(200, _copy(ticket))

    def _contact_for(self, wanted: Any) -> dict[str, Any]:
        """The contact a new ticket is for: by id, or by email (created when unknown), as the 2.14 spec says."""
        if not isinstance(wanted, dict):
            raise HttpError(400, "contacts needs one contact", "parameter_invalid")
        if wanted.get("id"):
            contact = self.contacts.get(str(wanted["id"]))
            if contact is None:
                raise HttpError(404, "Contact not found", "not_found")
            return contact
        if wanted.get("email"):
            found = next((c for c in self.contacts.values() if c["email"] == wanted["email"]), None)
            return found or self.add_contact(name=wanted["email"].split("@")[0], email=wanted["email"])
        raise HttpError(400, "A contact needs an id or an email", "parameter_invalid")

    def _update_ticket(self, request: Request) -> Response:
        data = request.json() or {}
        with self.lock:
            ticket = self._get_ticket(request)
            admin = self._admin_or_400(data.get("admin_id")) if data.get("admin_id") is not None else None
            author = self._author(admin) if admin else {"type": "bot", "id": "0", "name": "Operator", "email": None}
            admin_id = admin["id"] if admin else None
            if "ticket_state_id" in data:
                state = self.ticket_states.get(str(data["ticket_state_id"]))
                if state is None:
                    raise HttpError(400, "Ticket state not found for this ticket type", "parameter_invalid")
                previous = ticket["ticket_state"]["category"]
                ticket["ticket_state"] = self._state_ref(state)
                self._ticket_part(ticket, "ticket_state_updated_by_admin", author, ticket_state=state["category"],
                                  previous_ticket_state=previous)
                self._record(ticket["id"], "ticket_state", state["category"], admin_id, None)
                if state["category"] == "resolved":
                    ticket["open"] = False
            if "ticket_attributes" in data:
                attributes = self._check_attributes(ticket["ticket_type"], data["ticket_attributes"])
                ticket["ticket_attributes"].update(attributes)
                for name, value in attributes.items():
                    self._ticket_part(ticket, "ticket_attribute_updated_by_admin", author,
                                      updated_attribute_data={"attribute": {"type": "attribute", "id": name,
                                                                            "label": name},
                                                              "value": {"type": "value", "id": value,
                                                                        "label": value}})
                    self._record(ticket["id"], "ticket_attribute", f"{name}={value}", admin_id, None)
            for field in ("open", "snoozed_until", "is_shared"):
                if field in data:
                    ticket[field] = data[field]
                    self._record(ticket["id"], "ticket_update", f"{field}={data[field]}", admin_id, None)
            if "assignee_id" in data:
                ticket["admin_assignee_id"] = str(data["assignee_id"])
                self._record(ticket["id"], "ticket_update", f"assignee_id={data['assignee_id']}", admin_id, None)
            return Response(200, _copy(ticket))

    def _reply_ticket(self, request: Request) -> Response:
        data = request.json() or {}
        with self.lock:
            ticket = self._get_ticket(request)
            kind = data.get("message_type")
            if data.get("type") != "admin":
                if ticket["category"] != "Customer":
                    raise HttpError(400, "User replies are not allowed on Backoffice tickets", "parameter_mismatch")
                contact = (ticket["contacts"]["contacts"] or [{}])[0]
                part = self._ticket_part(ticket, "comment", {"type": "user", "id": contact.get("id")},
                                         body=data.get("body"))
                self._record(ticket["id"], "ticket_user_comment", data.get("body"), None, part["id"])
                return Response(200, _copy(part))
            admin = self._admin_or_400(data.get("admin_id"))
            if kind not in ("note", "comment") or not data.get("body"):
                raise HttpError(400, "message_type note or comment with a body is required", "parameter_invalid")
            if kind == "comment" and ticket["category"] != "Customer":
                raise HttpError(400, "Replies are not allowed on Backoffice tickets", "parameter_mismatch")
            part = self._ticket_part(ticket, kind, self._author(admin), body=data["body"])
            self._record(ticket["id"], f"ticket_{kind}", data["body"], admin["id"], part["id"])
            return Response(200, _copy(part))

    def _tag_ticket(self, request: Request) -> Response:
        data = request.json() or {}
        with self.lock:
            ticket = self._get_ticket(request)
            admin = self._admin_or_400(data.get("admin_id"))
            tag = self.tags.get(str(data.get("id")))
            if tag is None:
                raise HttpError(404, "Tag not found", "tag_not_found")
            if not any(t["id"] == tag["id"] for t in ticket["tags"]["tags"]):
                ticket["tags"]["tags"].append(dict(tag))
            self._record(ticket["id"], "ticket_tag", tag["name"], admin["id"], None)
            return Response(200, {**tag, "applied_at": int(time.time()),
                                  "applied_by": {"type": "admin", "id": admin["id"]}})

    def _search_tickets(self, request: Request) -> Response:
        data = request.json() or {}
        per_page = min(int((data.get("pagination") or {}).get("per_page") or 20), 150)
        with self.lock:
            found = [t for t in self.tickets.values() if _ticket_matches(t, data.get("query") or {})]
            page = _copy(found[:per_page])
        return Response(200, {"type": "ticket.list", "tickets": page, "total_count": len(found),
                              "pages": {"type": "pages", "page": 1, "per_page": per_page,
                                        "total_pages": max(1, -(-len(found) // per_page))}})

    def _control_link(self, request: Request) -> Response:
        data = request.json() or {}
        if data.get("unlink"):
            self.unlink_objects(request.params["ticket_id"], str(data["id"]))
        else:
            self.link_objects(request.params["ticket_id"], str(data["id"]), data.get("type", "conversation"))
        return Response(200, {"ok": True})


def _ticket_field(ticket: dict[str, Any], name: str) -> Any:
    attributes = ticket["ticket_attributes"]
    if name == "title":
        return attributes.get("_default_title_")
    if name == "description":
        return attributes.get("_default_description_")
    if name == "ticket_type_id":
        return ticket["ticket_type"]["id"]
    if name == "state":
        return ticket["ticket_state"]["category"]
    if name.startswith("ticket_attribute."):
        wanted = name.split(".", 1)[1]
        for attr in ticket["ticket_type"]["ticket_type_attributes"]["data"]:
            if attr["id"] == wanted:
                return attributes.get(attr["name"])
        return None
    return ticket.get(name)


def _ticket_matches(ticket: dict[str, Any], query: dict[str, Any]) -> bool:
    operator = query.get("operator", "=")
    if operator in ("AND", "OR"):
        results = [_ticket_matches(ticket, q) for q in query.get("value", [])]
        return all(results) if operator == "AND" else any(results)
    field, wanted = query.get("field", ""), query.get("value")
    if field == "category":
        wanted = SEARCH_CATEGORY.get(str(wanted), wanted)
    actual = _ticket_field(ticket, field)
    if operator == "=":
        return str(actual) == str(wanted)
    if operator == "!=":
        return str(actual) != str(wanted)
    if operator in ("~", "!~"):
        inside = str(wanted).lower() in str(actual or "").lower()
        return inside if operator == "~" else not inside
    raise HttpError(400, f"operator {operator} not supported by the sandbox for tickets", "parameter_invalid")
