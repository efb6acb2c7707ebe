"""The one place that talks to Intercom (API 2.14): the official SDK (python-intercom 5.x) for setup and
occasional lookups, plain JSON on kept-alive connections of its own for the delivery hot path and the reads
made for every linked conversation (see `_json` and `_connection`).

Every call returns plain dicts and raises only VendorError, classified so the delivery engine can decide:
wait for the rate-limit reset, back off, check before resending (ambiguous), hold the workspace (auth), or
give up (permanent). Rate-limit headers of every response are handed to `on_headers` so one limiter shared
by all workers learns the real ceiling.
"""

import json
import threading
import urllib.parse
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from typing import Any

import httpx
from intercom import Intercom
from intercom.core.api_error import ApiError

from connector.errors import VendorError, VendorErrorKind, error_for_status, error_for_transport
from connector.url_safety import GuardedConnection, GuardedTransport, NoAnswer, UnsafeURL

API_VERSION = "2.14"
USER_AGENT = "jira-intercom-connector"
REGION_HOSTS = {
    "us": "https://api.intercom.io",
    "eu": "https://api.eu.intercom.io",
    "au": "https://api.au.intercom.io",
}
HeadersCallback = Callable[[Mapping[str, str]], None]


def api_base_url(region: str, override: str = "") -> str:
    return (override or REGION_HOSTS[region]).rstrip("/")


def _plain(value: Any) -> Any:
    if value is None:
        return None
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json", by_alias=True, exclude_none=True)
    return value


def _transport_error(exc: httpx.TransportError | NoAnswer, *, safe_to_repeat: bool) -> VendorError:
    """No answer: refused, unresolvable or no free connection means the request never left; a read timeout
    or a dropped connection after sending means a write may have been applied (a read is simply repeated)."""
    if isinstance(exc, NoAnswer):
        sent, name = exc.sent, str(exc)
    else:
        sent = not isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))
        name = type(exc).__name__
    return error_for_transport(
        sent=sent,
        unreachable=f"Intercom cannot be reached ({name})",
        no_answer=f"No answer from Intercom ({name})",
        safe_to_repeat=safe_to_repeat,
    )


def _error_message(body: Any, fallback: str) -> str:
    if isinstance(body, dict):
        errors = body.get("errors") or []
        if errors and isinstance(errors[0], dict):
            return str(errors[0].get("message") or errors[0].get("code") or fallback)
    return fallback


class IntercomClient:
    """Calls as one workspace's access token; notes are written as the admin the caller names."""

    def __init__(
        self,
        *,
        token: str,
        base_url: str,
        timeout: float = 10.0,
        on_headers: HeadersCallback | None = None,
        max_connections: int = 100,
    ):
        self.on_headers = on_headers
        self._base_url = base_url.rstrip("/")
        self._base_path = urllib.parse.urlsplit(self._base_url).path
        self._headers = {
            "Authorization": f"Bearer {token}",
            "Intercom-Version": API_VERSION,
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        self._json_headers = {**self._headers, "Content-Type": "application/json"}
        self._timeout = httpx.Timeout(timeout, connect=min(timeout, 5.0))
        self._max_connections = max_connections
        self._tls = httpx.create_ssl_context()  # built once: loading the CA bundle is costly
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        self._http = httpx.Client(
            timeout=self._timeout,
            transport=GuardedTransport(limits=limits, verify=self._tls),  # the SSRF guard, as Jira's GuardedAdapter
            trust_env=False,  # no proxies or .netrc from the environment
        )
        # The hot path's connections (see _connection), kept alive between calls and between pumps.
        self._idle: list[GuardedConnection] = []
        self._idle_lock = threading.Lock()
        self._sdk = Intercom(
            token=token,
            base_url=base_url,
            headers={"Intercom-Version": API_VERSION},
            httpx_client=self._http,
            timeout=timeout,
        )

    def shutdown(self) -> None:
        self._http.close()
        with self._idle_lock:
            idle, self._idle = self._idle, []
        for transport in idle:
            transport.close()

    @contextmanager
    def _connection(self):
        """A kept-alive connection of its own for one call, on the standard library's http.client.

        httpx's request model, shared pool and h11 state machine cost about a millisecond of CPU per call on a
        2-core machine, over half of what the worker spends on a note; a connection per call in flight costs
        the same at any concurrency and needs no cookies, redirects, auth flows or event hooks."""
        with self._idle_lock:
            connection = self._idle.pop() if self._idle else None
        if connection is None:
            connection = GuardedConnection(self._base_url, timeout=self._timeout.read,
                                           connect_timeout=self._timeout.connect, tls=self._tls)
        try:
            yield connection
        finally:
            with self._idle_lock:
                keep = len(self._idle) < self._max_connections
                if keep:
                    self._idle.append(connection)
            if not keep:
                connection.close()

    # --- plumbing -----------------------------------------------------------------------------------------

    def _call(self, what: str, fn: Callable[[], Any]) -> Any:
        """An SDK call; only reads go through the SDK, so every failure is safe to repeat."""
        try:
            response = fn()
        except ApiError as exc:
            headers = dict(exc.headers or {})
            self._observe(headers)
            message = _error_message(exc.body, f"Intercom refused to {what}")
            raise error_for_status(exc.status_code or 0, message, headers=headers) from None
        except httpx.TransportError as exc:
            raise _transport_error(exc, safe_to_repeat=True) from None
        except UnsafeURL as exc:
            raise VendorError(str(exc.message), kind=VendorErrorKind.PERMANENT) from None
        headers = getattr(response, "headers", None)
        if headers is not None:
            self._observe(headers)
            return _plain(response.data)
        return _plain(response)

    def _json(self, method: str, path: str, what: str, *, body: dict | None = None, params: dict | None = None):
        """The delivery hot path: the same request the SDK would send, as plain JSON on a connection of its own.

        The SDK's model (de)serialisation costs 10-16 ms of CPU per call (measured), which would cap a 2-core
        worker near 100 calls/s, below Intercom's ceiling of ~167/s; plain JSON costs well under 1 ms.

        A POST here is a write Intercom cannot deduplicate (no idempotency key): any failure that can follow its
        being applied is ambiguous, so the caller looks at the conversation before resending.
        """
        # A PUT sets values (repeating it changes nothing more); a search is a read sent as POST.
        safe_to_repeat = method in ("GET", "PUT") or path.endswith("/search")
        target = f"{self._base_path}/{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
        headers, content = self._headers, None
        if body is not None:
            headers, content = self._json_headers, json.dumps(body).encode()
        try:
            with self._connection() as connection:
                status, response_headers, raw = connection.request(method, target, body=content, headers=headers)
        except NoAnswer as exc:
            raise _transport_error(exc, safe_to_repeat=safe_to_repeat) from None
        except UnsafeURL as exc:
            raise VendorError(str(exc.message), kind=VendorErrorKind.PERMANENT) from None
        self._observe(response_headers)
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            data = {}
        if 200 <= status < 300:
            return data
        message = _error_message(data, f"Intercom refused to {what}")
        raise error_for_status(status, message, headers=response_headers, safe_to_repeat=safe_to_repeat)

    def _observe(self, headers: Mapping[str, str]) -> None:
        if self.on_headers and headers:
            self.on_headers(headers)

    # --- reads ----------------------------------------------------------------------------------------------

    def me(self) -> dict:
        """The token's admin and its app (workspace id `app.id_code`, name, region)."""
        return self._call("identify the token", lambda: self._sdk.admins.with_raw_response.identify())

    def admins(self) -> list[dict]:
        result = self._call("list admins", lambda: self._sdk.admins.with_raw_response.list())
        return result.get("admins", [])

    def conversation(self, conversation_id: str) -> dict:
        return self._json(
            "GET", f"conversations/{_seg(conversation_id)}", "read the conversation", params={"display_as": "plaintext"}
        )

    # Conversations, contacts and companies are read for every linked conversation's snapshot, in the worker
    # beside the notes: plain JSON, as on the delivery path.
    def contact(self, contact_id: str) -> dict:
        return self._json("GET", f"contacts/{_seg(contact_id)}", "read the contact")

    def company(self, company_id: str) -> dict:
        return self._json("GET", f"companies/{_seg(company_id)}", "read the company")

    def tags(self) -> list[dict]:
        result = self._call("list tags", lambda: self._sdk.tags.with_raw_response.list())
        return result.get("data", [])

    def data_attributes(self, model: str) -> list[dict]:
        result = self._call(
            "list data attributes", lambda: self._sdk.data_attributes.with_raw_response.list(model=model)
        )
        return result.get("data", [])

    # --- writes ---------------------------------------------------------------------------------------------

    def reply(self, conversation_id: str, *, admin_id: str, body: str, message_type: str = "note") -> dict:
        """An admin note (internal) or comment (customer-visible). Intercom has no idempotency key for this."""
        payload = {"message_type": message_type, "type": "admin", "admin_id": admin_id, "body": body}
        what = "add a note" if message_type == "note" else "reply"
        return self._json("POST", f"conversations/{_seg(conversation_id)}/reply", what, body=payload)

    def close_conversation(self, conversation_id: str, *, admin_id: str, body: str | None = None) -> dict:
        payload = {"message_type": "close", "type": "admin", "admin_id": admin_id}
        if body:  # the contract has no null body
            payload["body"] = body
        return self._manage("close the conversation", conversation_id, payload)

    def open_conversation(self, conversation_id: str, *, admin_id: str) -> dict:
        return self._manage("reopen the conversation", conversation_id, {"message_type": "open", "admin_id": admin_id})

    def snooze_conversation(self, conversation_id: str, *, admin_id: str, until: int) -> dict:
        payload = {"message_type": "snoozed", "admin_id": admin_id, "snoozed_until": until}
        return self._manage("snooze the conversation", conversation_id, payload)

    def assign_conversation(
        self, conversation_id: str, *, admin_id: str, assignee_id: str, assignee_type: str = "admin"
    ) -> dict:
        payload = {
            "message_type": "assignment",
            "type": assignee_type,
            "admin_id": admin_id,
            "assignee_id": assignee_id,
        }
        return self._manage("assign the conversation", conversation_id, payload)

    def tag_conversation(self, conversation_id: str, *, admin_id: str, tag_id: str) -> dict:
        return self._json(
            "POST",
            f"conversations/{_seg(conversation_id)}/tags",
            "tag the conversation",
            body={"id": tag_id, "admin_id": admin_id},
        )

    # --- tickets (2.14: a ticket's API `id`, never the inbox number `ticket_id`) ------------------------------

    def ticket(self, ticket_id: str) -> dict:
        return self._json("GET", f"tickets/{_seg(ticket_id)}", "read the ticket")

    def ticket_states(self) -> list[dict]:
        """Every ticket state of the workspace, each with the ticket types that use it."""
        return self._json("GET", "ticket_states", "list ticket states").get("data", [])

    def ticket_types(self) -> list[dict]:
        return self._json("GET", "ticket_types", "list ticket types").get("data", [])

    def ticket_type(self, ticket_type_id: str) -> dict:
        return self._json("GET", f"ticket_types/{_seg(ticket_type_id)}", "read the ticket type")

    def ticket_reply(self, ticket_id: str, *, admin_id: str, body: str, message_type: str = "note") -> dict:
        """A note or an admin reply on a ticket; returns the ticket part. No idempotency key, as for conversations."""
        payload = {"message_type": message_type, "type": "admin", "admin_id": admin_id, "body": body}
        what = "add a note to the ticket" if message_type == "note" else "reply on the ticket"
        return self._json("POST", f"tickets/{_seg(ticket_id)}/reply", what, body=payload)

    def ticket_update(self, ticket_id: str, *, admin_id: str, **changes) -> dict:
        """PUT /tickets/{id}: state (`ticket_state_id`), `ticket_attributes`, `open`, `snoozed_until`, `assignee_id`.
        Setting the same values again changes nothing, so a repeat is harmless."""
        payload = {**changes, "admin_id": int(admin_id) if str(admin_id).isdigit() else admin_id}
        return self._json("PUT", f"tickets/{_seg(ticket_id)}", "update the ticket", body=payload)

    def ticket_tag(self, ticket_id: str, *, admin_id: str, tag_id: str) -> dict:
        return self._json(
            "POST", f"tickets/{_seg(ticket_id)}/tags", "tag the ticket", body={"id": tag_id, "admin_id": admin_id}
        )

    def ticket_create(self, *, ticket_type_id: str, attributes: dict, contact: dict | None = None) -> dict:
        payload: dict = {"ticket_type_id": ticket_type_id, "ticket_attributes": attributes, "skip_notifications": True}
        if contact:
            payload["contacts"] = [contact]
        return self._json("POST", "tickets", "create the ticket", body=payload)

    def ticket_search(self, query: dict, *, per_page: int = 20) -> list[dict]:
        result = self._json(
            "POST", "tickets/search", "search tickets", body={"query": query, "pagination": {"per_page": per_page}}
        )
        return result.get("tickets", [])

    def _manage(self, what: str, conversation_id: str, payload: dict) -> dict:
        return self._json("POST", f"conversations/{_seg(conversation_id)}/parts", what, body=payload)


def _seg(value: str) -> str:
    """A conversation id as one path segment (ids come from users' URLs: never let one reach another path)."""
    return urllib.parse.quote(str(value), safe="")


_clients: dict[tuple, IntercomClient] = {}
_clients_lock = threading.Lock()


def client_for(workspace, *, timeout: float | None = None) -> IntercomClient:
    """A pooled client per workspace, token and timeout, shared by the threads of a worker process."""
    from django.conf import settings

    base_url = api_base_url(workspace.region, workspace.api_base_url)
    timeout = timeout or settings.VENDOR_TIMEOUT_SECONDS
    key = (workspace.pk, workspace.access_token, base_url, timeout)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = IntercomClient(token=workspace.access_token, base_url=base_url, timeout=timeout)
            _clients[key] = client
    return client
