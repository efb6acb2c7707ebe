"""Intercom's side of a Canvas Kit Inbox app: the initialize and submit requests Intercom sends, signed.

Requests are shaped after the 2.11 schemas (`initialize_request`, `submit_request`) from the Intercom
simulator's own admins, conversations and contacts, and signed as Intercom signs them:
`X-Body-Signature: <hex HMAC-SHA256 of the raw body with the app's client secret>`. `schema_errors` checks a
request or a response against those schemas (OpenAPI 3.0: `nullable` understood), so tests hold both sides
to the contract.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from functools import cache
from typing import Any

from sandbox.contracts import contracts_dir
from sandbox.server import HttpError, Response

SPEC_FILE = "openapi/intercom-api-2.11.yaml"


def body_signature(raw: bytes, client_secret: str) -> str:
    return hmac.new(client_secret.encode(), raw, hashlib.sha256).hexdigest()


def canvas_admin(admin: dict[str, Any], team_ids: list[int] | None = None) -> dict[str, Any]:
    """The teammate viewing the conversation, as the `admin` of a canvas request."""
    return {"type": "admin", "id": str(admin["id"]), "name": admin["name"], "email": admin["email"],
            "job_title": admin.get("job_title") or "", "away_mode_enabled": False, "away_mode_reassign": False,
            "has_inbox_seat": True, "team_ids": [int(t) for t in (team_ids if team_ids is not None else
                                                                  admin.get("team_ids") or [])],
            "avatar": None}


def canvas_contact(contact: dict[str, Any]) -> dict[str, Any]:
    now = int(time.time())
    return {"type": "contact", "id": contact["id"], "external_id": contact.get("external_id") or "",
            "workspace_id": contact.get("workspace_id") or "", "role": contact.get("role") or "user",
            "email": contact.get("email") or "", "phone": "", "name": contact.get("name") or "",
            "avatar": None, "owner_id": 0, "has_hard_bounced": False, "marked_email_as_spam": False,
            "unsubscribed_from_emails": False, "created_at": contact.get("created_at") or now,
            "updated_at": now, "signed_up_at": now, "last_seen_at": now, "last_replied_at": now,
            "last_contacted_at": now, "last_email_opened_at": now, "last_email_clicked_at": now,
            "language_override": "", "browser": "chrome", "browser_version": "120", "browser_language": "en",
            "os": "Linux", "custom_attributes": dict(contact.get("custom_attributes") or {}),
            "social_profiles": {"type": "list", "data": []},
            "location": {"type": "location", "country": "Ireland", "region": "Dublin", "city": "Dublin"}}


def canvas_conversation(conversation: dict[str, Any]) -> dict[str, Any]:
    """The simulator's conversation with the values a canvas request carries where the API has nulls."""
    shaped = json.loads(json.dumps(conversation))
    for name in ("title",):
        shaped[name] = shaped.get(name) or ""
    for name in ("admin_assignee_id", "team_assignee_id", "snoozed_until", "waiting_since"):
        shaped[name] = shaped.get(name) or 0
    for name in ("conversation_rating", "sla_applied", "statistics", "ai_agent"):
        shaped.pop(name, None)
    # 2.11 lists teammates as references under `teammates` and requires `topics` (2.14 says admins, no topics).
    admins = (shaped.get("teammates") or {}).get("admins") or []
    shaped["teammates"] = {"type": "admin.list", "teammates": [{"type": "admin", "id": str(a["id"])} for a in admins]}
    shaped["topics"] = {"type": "topic.list", "topics": [], "total_count": 0}
    return shaped


class CanvasRequests:
    """Builds the requests one teammate's Inbox sends for one conversation of an Intercom simulator."""

    def __init__(self, intercom, *, conversation_id: str, admin: dict[str, Any], team_ids: list[int] | None = None,
                 workspace_id: str | None = None) -> None:
        self.intercom = intercom
        self.conversation_id = str(conversation_id)
        self.admin = canvas_admin(admin, team_ids)
        self.workspace_id = workspace_id or intercom.app["id_code"]

    def _common(self) -> dict[str, Any]:
        with self.intercom.lock:
            conversation = self.intercom.conversations[self.conversation_id]
            contact_id = conversation["contacts"]["contacts"][0]["id"]
            contact = canvas_contact(self.intercom.contacts[contact_id])
            shaped = canvas_conversation(conversation)
        return {"workspace_id": self.workspace_id, "workspace_region": self.intercom.app["region"].lower(),
                "admin": self.admin, "conversation": shaped, "contact": contact,
                "context": {"conversation_id": int(self.conversation_id), "location": "conversation",
                            "locale": "en"}}

    def initialize(self) -> dict[str, Any]:
        return {**self._common(), "card_creation_options": {}}

    def submit(self, component_id: str, current_canvas: dict[str, Any],
               input_values: dict[str, Any] | None = None) -> dict[str, Any]:
        """After a click on `component_id` in `current_canvas` (the canvas the app answered last)."""
        common = self._common()
        return {**common, "component_id": component_id, "input_values": dict(input_values or {}),
                "current_canvas": {"current_canvas": current_canvas}, "user": common["contact"]}


def add_controls(intercom) -> None:
    """On the Intercom simulator's control plane, `POST /_sim/canvas/initialize` and `/_sim/canvas/submit`:
    send an app the signed request a teammate's Inbox would, and return its answer. Body: {"url", "secret",
    "conversation_id", "admin_id", "team_ids"?; submit also "component_id", "current_canvas", "input_values"?}."""
    def sender(kind: str):
        def handler(request) -> Response:
            data = request.json() or {}
            with intercom.lock:
                admin = intercom.admins.get(str(data.get("admin_id") or ""))
                known = str(data.get("conversation_id") or "") in intercom.conversations
            if admin is None or not known or not data.get("url") or not data.get("secret"):
                raise HttpError(400, "url, secret, an admin_id and a conversation_id of this simulator are needed")
            builder = CanvasRequests(intercom, conversation_id=str(data["conversation_id"]), admin=admin,
                                     team_ids=data.get("team_ids"))
            if kind == "initialize":
                payload = builder.initialize()
            else:
                current = data.get("current_canvas") or {"content": {"components": []}}
                payload = builder.submit(str(data.get("component_id") or ""), current, data.get("input_values"))
            status, answer = post(str(data["url"]), payload, str(data["secret"]))
            return Response(200, {"status": status, "answer": answer})

        return handler

    intercom.control.add("POST", "/_sim/canvas/initialize", sender("initialize"))
    intercom.control.add("POST", "/_sim/canvas/submit", sender("submit"))


def signed(payload: dict[str, Any], client_secret: str) -> tuple[bytes, dict[str, str]]:
    """The raw body and the headers Intercom sends with it."""
    raw = json.dumps(payload).encode()
    return raw, {"Content-Type": "application/json", "X-Body-Signature": body_signature(raw, client_secret)}


def post(url: str, payload: dict[str, Any], client_secret: str, timeout: float = 10) -> tuple[int, Any]:
    """Send one signed canvas request to the app, as Intercom does; returns status and parsed answer."""
    raw, headers = signed(payload, client_secret)
    request = urllib.request.Request(url, data=raw, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


@cache
def _spec() -> dict[str, Any]:
    import yaml

    folder = contracts_dir()
    if folder is None or not (folder / SPEC_FILE).is_file():
        raise FileNotFoundError(f"the Intercom 2.11 spec is not at {folder}/{SPEC_FILE}")
    with (folder / SPEC_FILE).open("rb") as handle:
        spec = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    # The published 2.11 file names a few schemas it never defines (`custom_attributes`): those accept anything.
    schemas = spec["components"]["schemas"]
    for name in _dangling(spec, schemas):
        schemas[name] = {}
    return spec


def _dangling(node: Any, schemas: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
                name = ref.rsplit("/", 1)[1]
                if name not in schemas:
                    found.add(name)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


@cache
def _validator(schema_name: str):
    from openapi_schema_validator import OAS30Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    spec = _spec()
    registry = Registry().with_resource("spec.yaml", Resource.from_contents(spec, default_specification=DRAFT4))
    return OAS30Validator({"$ref": f"spec.yaml#/components/schemas/{schema_name}"}, registry=registry)


def schema_errors(schema_name: str, instance: Any) -> list[str]:
    """What is wrong with `instance` against the 2.11 schema `schema_name` (e.g. "initialize_response")."""
    from jsonschema.exceptions import best_match

    errors = []
    for error in _validator(schema_name).iter_errors(instance):
        best = best_match(error.context) if error.context else error
        errors.append(f"{best.json_path}: {best.message}")
    return errors
