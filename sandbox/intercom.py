"""IntercomSimulator: the Intercom REST API 2.14 surface the connector uses, with rate limits and faults.

Responses follow the 2.14 schemas; every write the API accepts is appended to `ledger`, which tests read to
prove exactly-once delivery (`duplicates()`) and rate-limit discipline (`max_calls_per_window()`).
"""

from __future__ import annotations

import hashlib
import hmac
import html
import itertools
import json
import re
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from sandbox import canvas
from sandbox.intercom_tickets import TicketsMixin
from sandbox.server import HttpError, Request, Response, SimServer

WINDOW_SECONDS = 10


@dataclass(frozen=True)
class LedgerEntry:
    conversation_id: str
    kind: str  # note, comment, user_comment, close, open, snoozed, assignment, tag, untag
    body: str | None
    admin_id: str | None
    at: float
    part_id: str | None


class IntercomSimulator(TicketsMixin, SimServer):
    spec_name = "intercom"

    def __init__(self, *, rate_limit: int = 1666, token: str = "sandbox-token",  # noqa: S107
                 app_id: str = "sandbox1", app_name: str = "Sandbox Inc", region: str = "US", **options: Any):
        super().__init__(**options)
        self.rate_limit = rate_limit
        self.default_token = token
        self._app = {"id_code": app_id, "name": app_name, "region": region}
        self._ids = itertools.count(1000)
        self._seed()
        self._add_routes()
        self._add_controls()
        self._add_ticket_routes()

    # ----- state
    def _seed(self) -> None:
        self.app = {"type": "app", "id_code": self._app["id_code"], "name": self._app["name"],
                    "region": self._app["region"], "timezone": "Europe/London", "created_at": 1_600_000_000,
                    "identity_verification": False}
        self.admins: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, str] = {}  # token -> admin id of the app
        self.revoked: set[str] = set()
        self.conversations: dict[str, dict[str, Any]] = {}
        self.contacts: dict[str, dict[str, Any]] = {}
        self.companies: dict[str, dict[str, Any]] = {}
        self.tags: dict[str, dict[str, Any]] = {}
        self.data_attributes: list[dict[str, Any]] = []
        self.ledger: list[LedgerEntry] = []
        self.calls: Counter[int] = Counter()  # window start -> calls that arrived in it
        self.throttled = 0
        self.app_admin = self.add_admin("Jira Connector", "jira-connector@bots.example.com", app_user=True)
        self.tokens[self.default_token] = self.app_admin["id"]
        for model, name, kind in (("conversation", "jira_issue", "string"),
                                  ("conversation", "jira_issue_count", "integer"),
                                  ("contact", "plan", "string"), ("company", "tier", "string")):
            self.add_data_attribute(model, name, kind)
        self._seed_tickets()

    def reset(self) -> None:
        with self.lock:
            super().reset()
            self._seed()

    def _next_id(self) -> str:
        return str(next(self._ids))

    def add_admin(self, name: str, email: str, *, app_user: bool = False) -> dict[str, Any]:
        with self.lock:
            admin = {"type": "admin", "id": self._next_id(), "name": name, "email": email,
                     "job_title": "Bot" if app_user else "Support", "away_mode_enabled": False,
                     "away_mode_reassign": False, "has_inbox_seat": not app_user, "team_ids": [],
                     "avatar": {"type": "avatar", "image_url": None}, "email_verified": True}
            self.admins[admin["id"]] = admin
            return admin

    def add_token(self, token: str, admin_id: str | None = None) -> None:
        with self.lock:
            self.tokens[token] = admin_id or self.app_admin["id"]
            self.revoked.discard(token)

    def revoke_token(self, token: str | None = None) -> None:
        with self.lock:
            self.revoked.add(token or self.default_token)

    def restore_token(self, token: str | None = None) -> None:
        with self.lock:
            self.revoked.discard(token or self.default_token)

    def throttle_for(self, seconds: float) -> None:
        """429 for the next `seconds`, whatever the budget says."""
        with self.lock:
            self.faults.throttle_until = time.time() + seconds

    def add_contact(self, *, name: str = "Ada Customer", email: str | None = None) -> dict[str, Any]:
        with self.lock:
            cid = uuid.uuid4().hex[:24]
            contact = {"type": "contact", "id": cid, "external_id": None, "workspace_id": self.app["id_code"],
                       "role": "user", "email": email or f"{cid}@customers.example.com", "name": name,
                       "phone": None, "created_at": int(time.time()), "updated_at": int(time.time()),
                       "custom_attributes": {}, "companies": {"type": "list", "data": []}}
            self.contacts[cid] = contact
            return contact

    def add_company(self, name: str = "Acme") -> dict[str, Any]:
        with self.lock:
            now = int(time.time())
            company = {"type": "company", "id": uuid.uuid4().hex[:24], "name": name,
                       "app_id": self.app["id_code"], "company_id": name.lower(), "created_at": now,
                       "updated_at": now, "user_count": 0, "session_count": 0, "monthly_spend": 0,
                       "custom_attributes": {}, "plan": {}, "tags": {"type": "tag.list", "tags": []}}
            self.companies[company["id"]] = company
            return company

    def add_tag(self, name: str) -> dict[str, Any]:
        with self.lock:
            for tag in self.tags.values():
                if tag["name"] == name:
                    return tag
            tag = {"type": "tag", "id": self._next_id(), "name": name}
            self.tags[tag["id"]] = tag
            return tag

    def add_data_attribute(self, model: str, name: str, data_type: str = "string") -> dict[str, Any]:
        with self.lock:
            attribute = {"type": "data_attribute", "id": len(self.data_attributes) + 1, "model": model,
                         "name": name, "full_name": f"custom_attributes.{name}", "label": name,
                         "description": "", "data_type": data_type, "api_writable": True,
                         "messenger_writable": False, "ui_writable": True, "custom": True, "archived": False,
                         "created_at": 1_600_000_000, "updated_at": 1_600_000_000, "admin_id": None}
            self.data_attributes.append(attribute)
            return attribute

    def add_conversation(self, *, subject: str = "", body: str = "<p>Help, it is broken</p>",
                         state: str = "open", contact: dict[str, Any] | None = None,
                         tags: list[str] = (), assignee_id: str | None = None,
                         snoozed_until: int | None = None, custom_attributes: dict[str, Any] | None = None,
                         conversation_id: str | None = None) -> dict[str, Any]:
        """Seed a customer-started conversation; returns its API representation."""
        with self.lock:
            contact = contact or self.add_contact()
            now = int(time.time())
            conv_id = conversation_id or self._next_id()
            conversation = {
                "type": "conversation", "id": conv_id, "title": subject or None, "created_at": now,
                "updated_at": now, "waiting_since": now, "snoozed_until": snoozed_until,
                "open": state != "closed", "state": state, "read": False, "priority": "not_priority",
                "admin_assignee_id": int(assignee_id) if assignee_id else None, "team_assignee_id": None,
                "tags": {"type": "tag.list", "tags": []},
                "conversation_rating": None,
                "source": {"type": "conversation", "id": self._next_id(),
                           "delivered_as": "customer_initiated", "subject": subject, "body": body,
                           "author": {"type": "user", "id": contact["id"], "name": contact["name"],
                                      "email": contact["email"]},
                           "attachments": [], "url": None, "redacted": False},
                "contacts": {"type": "contact.list",
                             "contacts": [{"type": "contact", "id": contact["id"], "external_id": None}]},
                "teammates": {"type": "admin.list", "admins": []},
                "custom_attributes": dict(custom_attributes or {}),
                "first_contact_reply": {"created_at": now, "type": "conversation", "url": None},
                "sla_applied": None, "statistics": None,
                "conversation_parts": {"type": "conversation_part.list", "conversation_parts": [],
                                       "total_count": 0},
                "linked_objects": {"type": "list", "data": [], "total_count": 0, "has_more": False},
                "ai_agent_participated": False, "ai_agent": None,
            }
            self.conversations[conv_id] = conversation
            for name in tags:
                self._apply_tag(conversation, self.add_tag(name)["id"], self.app_admin["id"])
            return json.loads(json.dumps(conversation))

    def add_conversations(self, count: int, **options: Any) -> list[str]:
        """Seed `count` conversations at once; returns their ids."""
        return [self.add_conversation(**options)["id"] for _ in range(count)]

    # ----- ledger
    def _record(self, conversation_id: str, kind: str, body: str | None, admin_id: str | None,
                part_id: str | None) -> None:
        self.ledger.append(LedgerEntry(conversation_id, kind, body, admin_id, time.time(), part_id))

    def writes_for(self, conversation_id: str, kind: str | None = None) -> list[LedgerEntry]:
        with self.lock:
            return [e for e in self.ledger if e.conversation_id == conversation_id and kind in (None, e.kind)]

    def counts_by_conversation(self, kind: str | None = None) -> dict[str, int]:
        with self.lock:
            return dict(Counter(e.conversation_id for e in self.ledger if kind in (None, e.kind)))

    def duplicates(self) -> list[dict[str, Any]]:
        """Writes with the same conversation and the same body more than once (bodiless ones ignored)."""
        with self.lock:
            seen = Counter((e.conversation_id, e.kind, e.body) for e in self.ledger if e.body)
        return [{"conversation_id": c, "kind": k, "body": b, "count": n}
                for (c, k, b), n in seen.items() if n > 1]

    def calls_per_window(self) -> dict[int, int]:
        with self.lock:
            return dict(self.calls)

    def max_calls_per_window(self) -> int:
        with self.lock:
            return max(self.calls.values(), default=0)

    # ----- pipeline hooks
    def error(self, status: int, message: str, code: str | None = None) -> Response:
        code = code or {400: "parameter_invalid", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                        429: "rate_limit_exceeded"}.get(status, "server_error")
        return Response(status, {"type": "error.list", "request_id": str(uuid.uuid4()),
                                 "errors": [{"code": code, "message": message}]})

    def authenticate(self, request: Request) -> Response | None:
        header = request.headers.get("Authorization") or ""
        token = header[7:] if header.startswith("Bearer ") else None
        with self.lock:
            admin_id = self.tokens.get(token) if token and token not in self.revoked else None
        if admin_id is None:
            return self.error(401, "Access Token Invalid", "unauthorized")
        request.admin_id = admin_id  # type: ignore[attr-defined]
        return None

    def admit(self, request: Request) -> Response | None:
        window = int(request.arrived_at // WINDOW_SECONDS) * WINDOW_SECONDS
        with self.lock:
            self.calls[window] += 1
            used = self.calls[window]
            throttled = request.arrived_at < self.faults.throttle_until
            if used > self.rate_limit or throttled:
                self.throttled += 1
        request.rate = (window, used)  # type: ignore[attr-defined]
        if used > self.rate_limit or throttled:
            return self.error(429, f"Exceeded rate limit of {self.rate_limit} in 10_seconds",
                              "rate_limit_exceeded")
        return None

    def finish(self, request: Request, response: Response) -> None:
        window, used = getattr(request, "rate", (None, 0))
        if window is None:
            return
        response.headers["X-RateLimit-Limit"] = str(self.rate_limit)
        response.headers["X-RateLimit-Remaining"] = str(max(0, self.rate_limit - used))
        response.headers["X-RateLimit-Reset"] = str(window + WINDOW_SECONDS)

    # ----- API
    def _add_routes(self) -> None:
        add = self.router.add
        add("GET", "/me", self._me)
        add("GET", "/admins", lambda r: Response(200, {"type": "admin.list",
                                                       "admins": [dict(a) for a in self.admins.values()]}))
        add("GET", "/admins/{admin_id}", self._admin)
        add("GET", "/conversations/{conversation_id}", self._conversation)
        add("POST", "/conversations/search", self._search)
        add("POST", "/conversations/{conversation_id}/reply", self._reply, write=True)
        add("POST", "/conversations/{conversation_id}/parts", self._manage, write=True)
        add("POST", "/conversations/{conversation_id}/tags", self._tag, write=True)
        add("DELETE", "/conversations/{conversation_id}/tags/{tag_id}", self._untag, write=True)
        add("GET", "/tags", lambda r: Response(200, {"type": "list",
                                                     "data": [dict(t) for t in self.tags.values()]}))
        add("POST", "/tags", self._create_tag, write=True)
        add("GET", "/contacts/{contact_id}", self._lookup("contacts", "contact_id"))
        add("GET", "/companies/{company_id}", self._lookup("companies", "company_id"))
        add("GET", "/data_attributes", self._data_attributes)

    def _me(self, request: Request) -> Response:
        with self.lock:
            admin = dict(self.admins[request.admin_id])  # type: ignore[attr-defined]
            admin["app"] = dict(self.app)
        return Response(200, admin)

    def _admin(self, request: Request) -> Response:
        admin = self.admins.get(request.params["admin_id"])
        if admin is None:
            raise HttpError(404, "Admin Not Found", "admin_not_found")
        return Response(200, dict(admin))

    def _lookup(self, collection: str, param: str) -> Any:
        def handler(request: Request) -> Response:
            item = getattr(self, collection).get(request.params[param])
            if item is None:
                raise HttpError(404, "Resource Not Found", "not_found")
            return Response(200, item)

        return handler

    def _data_attributes(self, request: Request) -> Response:
        model = request.arg("model")
        data = [a for a in self.data_attributes if model in (None, a["model"])]
        return Response(200, {"type": "list", "data": data})

    def _get_conversation(self, request: Request) -> dict[str, Any]:
        conversation = self.conversations.get(request.params["conversation_id"])
        if conversation is None:
            raise HttpError(404, "Resource Not Found", "not_found")
        return conversation

    def _conversation(self, request: Request) -> Response:
        with self.lock:
            return Response(200, json.loads(json.dumps(self._get_conversation(request))))

    def _admin_or_400(self, admin_id: Any) -> dict[str, Any]:
        admin = self.admins.get(str(admin_id)) if admin_id is not None else None
        if admin is None:
            raise HttpError(400, f"Admin with id {admin_id} not found", "parameter_invalid")
        return admin

    def _add_part(self, conversation: dict[str, Any], part_type: str, body: str | None,
                  author: dict[str, Any], assigned_to: dict[str, Any] | None = None) -> str:
        now = int(time.time())
        part = {"type": "conversation_part", "id": self._next_id(), "part_type": part_type, "body": body,
                "created_at": now, "updated_at": now, "notified_at": now, "assigned_to": assigned_to,
                "author": author, "attachments": [], "external_id": None, "redacted": False,
                "state": conversation["state"], "tags": [], "metadata": {}, "event_details": {},
                "email_message_metadata": None, "app_package_code": None}
        parts = conversation["conversation_parts"]
        parts["conversation_parts"].append(part)
        del parts["conversation_parts"][:-500]  # Intercom returns at most the 500 most recent parts
        parts["total_count"] += 1
        conversation["updated_at"] = now
        return part["id"]

    @staticmethod
    def _author(admin: dict[str, Any]) -> dict[str, Any]:
        return {"type": "admin", "id": admin["id"], "name": admin["name"], "email": admin["email"],
                "from_ai_agent": False, "is_ai_answer": False}

    def _reply(self, request: Request) -> Response:
        data = request.json()
        with self.lock:
            conversation = self._get_conversation(request)
            kind = data.get("message_type")
            if data.get("type") == "admin":
                admin = self._admin_or_400(data.get("admin_id"))
                if kind in ("comment", "note") and not data.get("body"):
                    raise HttpError(400, "Body is required", "parameter_invalid")
                part_id = self._add_part(conversation, kind, data.get("body"), self._author(admin))
                self._record(conversation["id"], kind, data.get("body"), admin["id"], part_id)
                if kind == "comment" and not any(a["id"] == admin["id"]
                                                 for a in conversation["teammates"]["admins"]):
                    conversation["teammates"]["admins"].append({"type": "admin", "id": admin["id"]})
            else:
                contact_id = conversation["contacts"]["contacts"][0]["id"]
                author = {"type": "user", "id": contact_id, "name": None, "email": None}
                part_id = self._add_part(conversation, "comment", data.get("body"), author)
                self._record(conversation["id"], "user_comment", data.get("body"), None, part_id)
            return Response(200, json.loads(json.dumps(conversation)))

    def _manage(self, request: Request) -> Response:
        data = request.json()
        with self.lock:
            conversation = self._get_conversation(request)
            admin = self._admin_or_400(data.get("admin_id"))
            kind = data.get("message_type")
            assigned_to = None
            if kind == "close":
                conversation.update(state="closed", open=False, snoozed_until=None)
            elif kind == "open":
                conversation.update(state="open", open=True, snoozed_until=None)
            elif kind == "snoozed":
                conversation.update(state="snoozed", open=True, snoozed_until=int(data["snoozed_until"]))
            elif kind == "assignment":
                assignee = str(data.get("assignee_id"))
                field = "team_assignee_id" if data.get("type") == "team" else "admin_assignee_id"
                conversation[field] = None if assignee == "0" else int(assignee)
                assigned_to = {"type": data.get("type", "admin"), "id": assignee}
            else:
                raise HttpError(400, f"message_type {kind!r} is not supported", "parameter_invalid")
            part_id = self._add_part(conversation, kind, data.get("body"), self._author(admin), assigned_to)
            self._record(conversation["id"], kind, data.get("body"), admin["id"], part_id)
            return Response(200, json.loads(json.dumps(conversation)))

    def _apply_tag(self, conversation: dict[str, Any], tag_id: str, admin_id: str) -> dict[str, Any]:
        tag = self.tags.get(str(tag_id))
        if tag is None:
            raise HttpError(404, "Tag not found", "tag_not_found")
        applied = {**tag, "applied_at": int(time.time()), "applied_by": {"type": "admin", "id": admin_id}}
        tags = conversation["tags"]["tags"]
        if not any(t["id"] == tag["id"] for t in tags):
            tags.append(applied)
        return applied

    def _tag(self, request: Request) -> Response:
        data = request.json()
        with self.lock:
            conversation = self._get_conversation(request)
            admin = self._admin_or_400(data.get("admin_id"))
            applied = self._apply_tag(conversation, data.get("id"), admin["id"])
            self._record(conversation["id"], "tag", applied["name"], admin["id"], None)
            return Response(200, applied)

    def _untag(self, request: Request) -> Response:
        data = request.json() or {}
        with self.lock:
            conversation = self._get_conversation(request)
            admin = self._admin_or_400(data.get("admin_id"))
            tag = self.tags.get(request.params["tag_id"])
            if tag is None:
                raise HttpError(404, "Tag not found", "tag_not_found")
            conversation["tags"]["tags"] = [t for t in conversation["tags"]["tags"] if t["id"] != tag["id"]]
            self._record(conversation["id"], "untag", tag["name"], admin["id"], None)
            return Response(200, {**tag, "applied_at": int(time.time()),
                                  "applied_by": {"type": "admin", "id": admin["id"]}})

    def _create_tag(self, request: Request) -> Response:
        data = request.json()
        with self.lock:
            if data.get("id"):
                tag = self.tags.get(str(data["id"]))
                if tag is None:
                    raise HttpError(404, "Tag not found", "tag_not_found")
                tag["name"] = data["name"]
                return Response(200, dict(tag))
            return Response(200, dict(self.add_tag(data["name"])))

    def _search(self, request: Request) -> Response:
        data = request.json()
        paging = data.get("pagination") or {}
        per_page = min(int(paging.get("per_page") or 20), 150)
        start = int(paging.get("starting_after") or 0)
        with self.lock:
            found = [c for c in self.conversations.values() if _matches(c, data["query"])]
            page = [json.loads(json.dumps(c)) for c in found[start:start + per_page]]
        more = start + per_page < len(found)
        pages = {"type": "pages", "page": start // per_page + 1, "per_page": per_page,
                 "total_pages": max(1, -(-len(found) // per_page))}
        if more:
            pages["next"] = {"per_page": per_page, "starting_after": str(start + per_page)}
        return Response(200, {"type": "conversation.list", "conversations": page, "total_count": len(found),
                              "pages": pages})

    # ----- control plane
    def _add_controls(self) -> None:
        add = self.control.add
        add("GET", "/_sim/state", lambda r: Response(200, {"app": self.app, "app_admin": self.app_admin,
                                                           "token": self.default_token,
                                                           "rate_limit": self.rate_limit}))
        add("POST", "/_sim/conversations", lambda r: Response(201, self.add_conversation(**r.json())))
        add("POST", "/_sim/conversations/bulk", self._control_bulk)
        add("GET", "/_sim/conversations/{conversation_id}", self._conversation)
        add("POST", "/_sim/admins", lambda r: Response(201, self.add_admin(**r.json())))
        add("POST", "/_sim/tags", lambda r: Response(201, self.add_tag(r.json()["name"])))
        add("POST", "/_sim/tokens", lambda r: (self.add_token(**r.json()), Response(200, {"ok": True}))[1])
        add("POST", "/_sim/tokens/revoke", lambda r: (self.revoke_token((r.json() or {}).get("token")),
                                                      Response(200, {"ok": True}))[1])
        add("POST", "/_sim/tokens/restore", lambda r: (self.restore_token((r.json() or {}).get("token")),
                                                       Response(200, {"ok": True}))[1])
        add("POST", "/_sim/rate_limit", self._control_rate_limit)
        add("POST", "/_sim/throttle", lambda r: (self.throttle_for(float(r.json()["seconds"])),
                                                 Response(200, {"ok": True}))[1])
        add("GET", "/_sim/ledger", self._control_ledger)
        add("GET", "/_sim/", self._control_page)
        canvas.add_controls(self)  # Canvas Kit requests to an Inbox app, signed as Intercom sends them

    def _control_bulk(self, request: Request) -> Response:
        options = dict(request.json())
        count = int(options.pop("count"))
        return Response(201, {"ids": self.add_conversations(count, **options)})

    def _control_rate_limit(self, request: Request) -> Response:
        with self.lock:
            self.rate_limit = int(request.json()["limit"])
        return Response(200, {"rate_limit": self.rate_limit})

    def _control_page(self, request: Request) -> Response:
        """A page a person can read: each conversation with its parts (notes, replies, state changes)."""
        esc = html.escape
        with self.lock:
            conversations = sorted(self.conversations.values(), key=lambda c: int(c["id"]))
            blocks = []
            for c in conversations:
                parts = c["conversation_parts"]["conversation_parts"]
                rows = "".join(
                    f"<li><b>{esc(str(p.get('part_type')))}</b> by {esc(str((p.get('author') or {}).get('name')))}"
                    f" <small>{time.strftime('%H:%M:%S', time.gmtime(int(p.get('created_at') or 0)))} UTC</small>"
                    f"<div class='body'>{esc(_plain(p.get('body') or ''))}</div></li>"
                    for p in parts
                ) or "<li class='muted'>No notes or replies yet.</li>"
                subject = c["source"].get("subject") or c.get("title") or "(no subject)"
                blocks.append(f"<section><h2>Conversation {esc(str(c['id']))}: {esc(str(subject))} "
                              f"<small>({esc(str(c.get('state')))})</small></h2><ol>{rows}</ol></section>")
        page = ("<!doctype html><meta charset='utf-8'><title>Intercom simulator</title><style>"
                "body{font:15px system-ui,sans-serif;max-width:60rem;margin:2rem auto}section{border:1px solid #ccc;"
                "border-radius:8px;padding:0 1rem;margin:1rem 0}.body{margin:.2rem 0 .6rem}small,.muted{color:#666}"
                "</style><h1>Intercom simulator</h1><p>The conversations and what the connector wrote into them "
                f"(reload to see new notes). Raw data: <a href='/_sim/ledger'>/_sim/ledger</a>.</p>{''.join(blocks)}")
        return Response(200, page.encode(), headers={"Content-Type": "text/html; charset=utf-8"})

    def _control_ledger(self, request: Request) -> Response:
        with self.lock:
            entries = [asdict(e) for e in self.ledger]
        return Response(200, {"entries": entries, "counts": self.counts_by_conversation(),
                              "duplicates": self.duplicates(),
                              "max_calls_per_window": self.max_calls_per_window(),
                              "calls_per_window": {str(k): v for k, v in self.calls_per_window().items()},
                              "throttled": self.throttled})

    def stats(self) -> dict[str, Any]:
        stats = super().stats()
        stats.update(writes=len(self.ledger), throttled=self.throttled,
                     max_calls_per_window=self.max_calls_per_window())
        return stats

    # ----- webhooks towards the connector
    def webhook_payload(self, topic: str, conversation_id: str) -> dict[str, Any]:
        """A notification in the 2.x conversation model, like `intercom-webhooks/*open_assigned.json`."""
        with self.lock:
            if topic == "conversation.deleted":
                item: dict[str, Any] = {"type": "conversation", "conversation_id": conversation_id}
            else:
                item = json.loads(json.dumps(self.conversations[conversation_id]))
        now = int(time.time())
        return {"type": "notification_event", "app_id": self.app["id_code"],
                "data": {"type": "notification_event_data", "item": item}, "links": {},
                "id": f"notif_{uuid.uuid4()}", "topic": topic, "delivery_status": "pending",
                "delivery_attempts": 1, "delivered_at": 0, "first_sent_at": now, "created_at": now,
                "self": None}


def sign_intercom_webhook(raw_body: bytes, client_secret: str) -> str:
    """The `X-Hub-Signature` value Intercom sends: sha1 HMAC of the raw body keyed with the client secret."""
    return "sha1=" + hmac.new(client_secret.encode(), raw_body, hashlib.sha1).hexdigest()


def send_intercom_webhook(url: str, payload: dict[str, Any], client_secret: str,
                          timeout: float = 10.0) -> tuple[int, bytes]:
    """POST a signed notification; returns (status, body), never raises on HTTP errors."""
    raw = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "Intercom-Webhooks/sandbox",
               "X-Hub-Signature": sign_intercom_webhook(raw, client_secret)}
    request = urllib.request.Request(url, data=raw, method="POST", headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - test URLs
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _field(conversation: dict[str, Any], name: str) -> Any:
    value: Any = conversation
    for part in name.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if name == "tag_ids":
        return [t["id"] for t in conversation["tags"]["tags"]]
    if name == "contact_ids":
        return [c["id"] for c in conversation["contacts"]["contacts"]]
    return value


def _as_text(value: Any) -> str | None:
    return None if value is None else str(value).lower() if isinstance(value, bool) else str(value)


def _matches(conversation: dict[str, Any], query: dict[str, Any]) -> bool:
    operator = query.get("operator", "=")
    if operator in ("AND", "OR"):
        results = (_matches(conversation, q) for q in query.get("value", []))
        return all(results) if operator == "AND" else any(results)
    actual = _field(conversation, query["field"])
    wanted = query.get("value")
    if isinstance(actual, list):
        hit = any(_as_text(a) == _as_text(wanted) for a in actual)
        return hit if operator in ("=", "IN") else not hit
    if operator == "=":
        return _as_text(actual) == _as_text(wanted)
    if operator == "!=":
        return _as_text(actual) != _as_text(wanted)
    if operator in ("IN", "NIN"):
        inside = _as_text(actual) in {_as_text(w) for w in wanted or []}
        return inside if operator == "IN" else not inside
    if operator in ("<", ">", "<=", ">="):
        if actual is None:
            return False
        a, w = float(actual), float(wanted)
        return {"<": a < w, ">": a > w, "<=": a <= w, ">=": a >= w}[operator]
    if operator in ("~", "!~"):
        inside = str(wanted).lower() in str(actual or "").lower()
        return inside if operator == "~" else not inside
    raise HttpError(400, f"operator {operator} not supported by the sandbox", "parameter_invalid")


def _plain(body: str) -> str:
    """A note's HTML as text for the readable page (the page escapes it; no HTML of a note is rendered)."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())
