"""Store-then-acknowledge for inbound webhooks.

The request path touches only PostgreSQL: verify, insert the raw event (UNIQUE per sender and delivery id),
answer. Processing is enqueued after the commit as a hint; when the broker is down the sweeper finds the
row later. Nothing here calls a vendor.
"""

import hashlib
import json
import logging
import os
import queue
import threading
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from connector.models import WebhookEvent

logger = logging.getLogger(__name__)


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
        payload = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise IntakeError(400, "The body is not UTF-8 text.") from None
    except json.JSONDecodeError as exc:
        raise IntakeError(
            400, f"The body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}."
        ) from None
    if not isinstance(payload, dict):
        raise IntakeError(400, f"The body must be a JSON object, not {type(payload).__name__}.")
    return payload


def body_digest(body: bytes) -> str:
    """Fallback delivery id for senders without one (Jira Data Center may not send an identifier)."""
    return "sha256:" + hashlib.sha256(body).hexdigest()


HINT_BATCH = 50


def events_enqueue(event_ids: list[int]) -> None:
    from connector.tasks import webhook_events_process

    try:
        webhook_events_process.delay(event_ids)
    except Exception as exc:
        logger.warning("intake.enqueue_failed", extra={"events": len(event_ids), "error": type(exc).__name__})


def event_enqueue(event_id: int) -> None:
    from connector.tasks import webhook_event_process

    try:
        webhook_event_process.delay(event_id)
    except Exception as exc:
        logger.warning("intake.enqueue_failed", extra={"event_id": event_id, "error": type(exc).__name__})


class HintPublisher:
    """Publishes "process event N" hints from a background thread, so the broker's round trip (about a third
    of a delivery's cost) stays out of the sender's request. A hint lost with a dying process costs only time:
    the sweeper enqueues every event that is still unprocessed after WEBHOOK_SWEEP_AFTER_SECONDS."""

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


def webhook_event_store(
    *,
    source: str,
    delivery_id: str,
    payload: dict,
    event_type: str,
    site=None,
    workspace=None,
    retry_header: int = 0,
    status: str = WebhookEvent.Status.RECEIVED,
    error: str = "",
) -> Stored:
    issue = payload.get("issue") if isinstance(payload.get("issue"), dict) else {}
    row = {
        "source": source,
        "site": site.pk if site else None,
        "workspace": workspace.pk if workspace else None,
        "delivery_id": delivery_id[:200],
        "event_type": event_type[:100],
        "issue_id": str(issue.get("id") or "")[:32],
        "issue_key": str(issue.get("key") or "")[:64],
        "payload": json.dumps(payload),
        "received_at": timezone.now(),
        "retry_header": retry_header,
        "status": status,
        "attempts": 0,
        "error": error,
    }
    # One statement in autocommit: stored and durable when it returns, and a duplicate delivery id (Jira
    # retries, or sends the same delivery concurrently) simply inserts nothing.
    meta = WebhookEvent._meta
    columns = ", ".join(meta.get_field(name).column for name in row)
    payload_value = "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"
    values = ", ".join(payload_value if name == "payload" else "%s" for name in row)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {meta.db_table} ({columns}) VALUES ({values}) ON CONFLICT DO NOTHING RETURNING id",  # noqa: S608
            list(row.values()),
        )
        inserted = cursor.fetchone()
    if inserted is None:
        return Stored(event_id=None, duplicate=True)
    if status == WebhookEvent.Status.RECEIVED:
        transaction.on_commit(lambda: hints.put(inserted[0]))  # at once in autocommit; after commit otherwise
    return Stored(event_id=inserted[0], duplicate=False)
