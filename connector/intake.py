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

from django.db import IntegrityError, transaction

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
            event_enqueue(self._queue.get())


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
    try:
        with transaction.atomic():
            event = WebhookEvent.objects.create(
                source=source,
                site=site,
                workspace=workspace,
                delivery_id=delivery_id[:200],
                event_type=event_type[:100],
                payload=payload,
                retry_header=retry_header,
                status=status,
                error=error,
                issue_id=str(issue.get("id") or "")[:32],
                issue_key=str(issue.get("key") or "")[:64],
            )
            if status == WebhookEvent.Status.RECEIVED:
                transaction.on_commit(lambda: hints.put(event.pk))
    except IntegrityError:
        # The same delivery again (Jira retries, or sends concurrently): already stored, nothing new.
        return Stored(event_id=None, duplicate=True)
    return Stored(event_id=event.pk, duplicate=False)
