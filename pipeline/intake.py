"""Store-then-acknowledge for inbound webhooks.

The request path makes one round trip to PostgreSQL: verify, insert the raw event (UNIQUE per sender and
delivery id), answer. On PostgreSQL the same statement carries a `pg_notify`, which the intake listener in a
worker turns into a Celery task (pipeline.listener), so the web process never talks to the broker.
Elsewhere (SQLite under `make run`) a background thread publishes the hint. Either way, a lost hint costs
only time: the sweeper finds every row that is still unprocessed. Nothing here calls a vendor.
"""

import functools
import hashlib
import json
import logging
import os
import queue
import re
import threading
from dataclasses import dataclass

import psycopg
from celery import current_app
from django.db import DataError, InterfaceError, OperationalError, connection
from django.utils import timezone

from connector import database
from connector.json_input import JSONRefused, json_parse
from connector.models import WebhookEvent

logger = logging.getLogger(__name__)

# The channel intake notifies and the listener listens on.
CHANNEL = "connector_webhook_events"


class IntakeError(Exception):
    """A delivery we refuse; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Stored:
    event_id: int | None
    duplicate: bool


def parse_json_object(body: bytes) -> dict:
    try:
        payload = json_parse(body)
    except JSONRefused as exc:
        raise IntakeError(400, exc.message) from None
    if not isinstance(payload, dict):
        raise IntakeError(400, f"The body must be a JSON object, not {type(payload).__name__}.")
    return payload


def body_digest(body: bytes) -> str:
    """Fallback delivery id for senders without one (Jira Data Center may not send an identifier)."""
    return "sha256:" + hashlib.sha256(body).hexdigest()


HINT_BATCH = 50


def events_enqueue(event_ids: list[int]) -> bool:
    """Publish one "process these events" hint; False (logged) when the broker cannot be reached."""
    try:
        current_app.send_task("pipeline.tasks.webhook_events_process", args=[event_ids])
    except Exception as exc:
        logger.warning("intake.enqueue_failed", extra={"events": len(event_ids), "error": type(exc).__name__})
        return False
    return True


def event_enqueue(event_id: int) -> None:
    try:
        current_app.send_task("pipeline.tasks.webhook_event_process", args=[event_id])
    except Exception as exc:
        logger.warning("intake.enqueue_failed", extra={"event_id": event_id, "error": type(exc).__name__})


class HintPublisher:
    """Publishes "process event N" hints from a background thread, where PostgreSQL's notifications are not
    available (SQLite under `make run`), so the broker's round trip stays out of the sender's request."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def put(self, event_id: int) -> None:
        self._ensure_thread()
        self._queue.put(event_id)

    def _ensure_thread(self) -> None:
        # Started lazily and again after a fork (gunicorn workers), where threads do not survive.
        if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="intake-hints", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            ids = [self._queue.get()]
            while len(ids) < HINT_BATCH:  # under load, one message carries many events
                try:
                    ids.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            events_enqueue(ids)


hints = HintPublisher()

# What JSON allows and PostgreSQL's jsonb refuses: the NUL character and unpaired surrogates.
_JSONB_UNSAFE_ESCAPE = re.compile(r"\\u(?:0000|d[89a-f])", re.IGNORECASE)
_JSONB_UNSAFE_CHAR = re.compile("[\x00\ud800-\udfff]")


def _jsonb_safe(value):
    if isinstance(value, str):
        return _JSONB_UNSAFE_CHAR.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_jsonb_safe(k): _jsonb_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonb_safe(v) for v in value]
    return value


def _payload_text(payload: dict, body: str | None = None) -> str:
    """The JSON to store: the body as received when PostgreSQL can store it as it is (no second
    serialisation on the hot path), else the parsed payload with NULs and lone surrogates replaced by U+FFFD."""
    if body is not None and not _JSONB_UNSAFE_ESCAPE.search(body):
        return body
    return json.dumps(_jsonb_safe(payload))


def webhook_event_store(
    *,
    source: str,
    delivery_id: str,
    payload: dict,
    event_type: str,
    body: str | None = None,
    site=None,
    workspace=None,
    retry_header: int = 0,
    status: str = WebhookEvent.Status.RECEIVED,
    error: str = "",
) -> Stored:
    """Store one delivery in one autocommit statement: durable when it returns, and a duplicate delivery id
    (Jira retries, or sends the same delivery concurrently) simply inserts nothing."""
    issue = payload.get("issue") if isinstance(payload.get("issue"), dict) else {}
    row = {
        "source": source,
        "site": site.pk if site else None,
        "workspace": workspace.pk if workspace else None,
        "delivery_id": delivery_id[:200],
        "event_type": event_type[:100],
        "issue_id": str(issue.get("id") or "")[:32],
        "issue_key": str(issue.get("key") or "")[:64],
        "payload": _payload_text(payload, body),
        "received_at": timezone.now(),
        "retry_header": retry_header,
        "status": status,
        "attempts": 0,
        "error": error,
    }
    notify = status == WebhookEvent.Status.RECEIVED and database.notifies()
    try:
        inserted = _execute_idempotent(*_insert_sql(row, notify=notify))
    except DataError as exc:  # the payload itself cannot be stored (a number beyond PostgreSQL's range, say)
        raise IntakeError(400, f"The body cannot be stored: {str(exc).splitlines()[0]}") from None
    if inserted is None:
        return Stored(event_id=None, duplicate=True)
    if status == WebhookEvent.Status.RECEIVED and not notify:
        hints.put(inserted[0])
    return Stored(event_id=inserted[0], duplicate=False)


@functools.cache
def _insert_statement(columns: tuple[str, ...], *, notify: bool, postgresql: bool) -> str:
    """The intake statement for these columns, written once per process (`postgresql` keys the cache)."""
    meta = WebhookEvent._meta
    names = ", ".join(meta.get_field(name).column for name in columns)
    values = ", ".join(database.json_placeholder() if name == "payload" else "%s" for name in columns)
    sql = f"INSERT INTO {meta.db_table} ({names}) VALUES ({values}) ON CONFLICT DO NOTHING RETURNING id"  # noqa: S608
    if notify:
        # The notification goes out when the row commits, and never for a row that did not.
        sql = f"WITH stored AS ({sql}) SELECT id, pg_notify(%s, id::text) FROM stored"  # noqa: S608
    return sql


def _insert_sql(row: dict, *, notify: bool) -> tuple[str, list]:
    sql = _insert_statement(tuple(row), notify=notify, postgresql=database.is_postgresql())
    params = [*row.values(), CHANNEL] if notify else list(row.values())
    return sql, params


def _execute_idempotent(sql: str, params: list):
    """Run the intake statement, once more on a fresh connection if the kept one turns out to be dead.

    Safe because the statement is idempotent (ON CONFLICT DO NOTHING), and it spares every delivery the
    `SELECT 1` round trip of Django's CONN_HEALTH_CHECKS: this statement is its own health check.
    """
    reused = connection.connection is not None and not connection.in_atomic_block
    if reused:
        connection.health_check_done = True
    try:
        return _execute(sql, params)
    except (OperationalError, InterfaceError):
        if not reused:
            raise
        logger.info("intake.reconnect", extra={"reason": "the kept database connection was closed"})
        connection.close()
    return _execute(sql, params)


def _execute(sql: str, params: list):
    if not database.is_postgresql():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()
    # Bound on the server: the payload travels as a parameter of its own instead of a literal in the query text
    # (Django's cursors bind on the client), which spares PostgreSQL lexing the whole body, and the statement
    # can be prepared (settings: prepare_threshold).
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        return cursor.execute(sql, params).fetchone()
