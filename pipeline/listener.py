"""Turns PostgreSQL's "event stored" notifications into Celery tasks, so the web process never waits for the broker.

Intake's INSERT carries a `pg_notify` (pipeline.intake): PostgreSQL sends it when the row commits. One
listener per installation holds a session advisory lock and LISTENs (on its own connection, straight to
PostgreSQL when settings.LISTENER_DATABASE_URL bypasses PgBouncer); the listeners of other workers stand by
and take over within STANDBY_SECONDS when its connection drops. It publishes the ids in batches. Nothing is
lost when it is down or the broker is: the rows are still "received", the listener enqueues them when it
(re)starts or the broker returns, and beat's sweeper remains the safety net for everything else.
"""

import logging
import threading
import time

import psycopg
from django.conf import settings
from django.db import connections

from connector import database
from pipeline.events import webhook_event_unattempted_ids
from pipeline.intake import CHANNEL, HINT_BATCH, events_enqueue

logger = logging.getLogger(__name__)

LOCK_KEY = 0x636F6E6E6563  # "connec": one listener per database
STANDBY_SECONDS = 5.0  # how often a standby listener tries to take over
IDLE_SECONDS = 1.0  # how often an idle listener looks up (stop requested, unsent ids, connection alive)
PING_SECONDS = 30.0  # an idle connection is checked this often, so a silent network failure is noticed
RETRY_SECONDS = 2.0  # after the broker refused a publish
MAX_UNSENT = 10_000  # ids kept for the broker's return; beyond that the sweeper finds them
CATCH_UP_LIMIT = 10_000


class IntakeListener:
    def __init__(
        self,
        *,
        alias: str = "default",
        publish=events_enqueue,
        lock_key: int = LOCK_KEY,
        standby_seconds: float = STANDBY_SECONDS,
    ):
        self.alias, self.publish, self.lock_key, self.standby_seconds = alias, publish, lock_key, standby_seconds
        self.unsent: list[int] = []
        self.listening = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._retry_at = 0.0

    def start(self) -> "IntakeListener":
        self._thread = threading.Thread(target=self.run, name="intake-listener", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                with self._connect() as conn:
                    while not self._stop.is_set():
                        if conn.execute("SELECT pg_try_advisory_lock(%s)", [self.lock_key]).fetchone()[0]:
                            self._serve(conn)
                        else:  # another worker listens; stand by on this connection
                            self._stop.wait(self.standby_seconds)
            except psycopg.Error as exc:
                logger.warning("intake.listener_disconnected", extra={"error": type(exc).__name__})
            finally:
                self.listening.clear()
            self._stop.wait(self.standby_seconds)

    def _connect(self) -> psycopg.Connection:
        params = connections[self.alias].get_connection_params()
        params.pop("cursor_factory", None)
        params.pop("context", None)
        params.pop("prepare_threshold", None)
        direct = settings.LISTENER_DATABASE  # around PgBouncer: LISTEN and the session lock need a real session
        if direct:
            fields = {"dbname": "NAME", "user": "USER", "password": "PASSWORD", "host": "HOST", "port": "PORT"}
            params.update({key: direct[name] for key, name in fields.items() if direct.get(name)})
        return psycopg.connect(**params, autocommit=True, application_name="connector-intake-listener")

    def _serve(self, conn: psycopg.Connection) -> None:
        conn.execute(f"LISTEN {CHANNEL}")
        self.listening.set()
        logger.info("intake.listening", extra={"channel": CHANNEL})
        # Stored while nobody listened. A row committed between LISTEN and this query also arrives as a
        # notification; those are dropped until the listener first falls idle, so each id is published once.
        caught_up = set(self._waiting_ids())
        self._send(sorted(caught_up))
        pinged = time.monotonic()
        while not self._stop.is_set():
            ids = [int(n.payload) for n in conn.notifies(timeout=IDLE_SECONDS, stop_after=1)]
            if ids:  # a burst: what has already arrived goes into the same message, without waiting for more
                ids += [int(n.payload) for n in conn.notifies(timeout=0, stop_after=HINT_BATCH - 1)]
                self._send([i for i in ids if i not in caught_up])
                continue
            caught_up.clear()
            if time.monotonic() - pinged > PING_SECONDS:
                conn.execute("SELECT 1")
                pinged = time.monotonic()
            if self.unsent:
                self._send([])

    def _waiting_ids(self) -> list[int]:
        try:
            return webhook_event_unattempted_ids(limit=CATCH_UP_LIMIT)
        finally:
            connections[self.alias].close()  # this thread's Django connection; the listener keeps its own

    def _send(self, ids: list[int]) -> None:
        """Publish what is waiting in batches; after a refusal, keep collecting until RETRY_SECONDS have passed
        (each attempt against a broker that is down costs its connection timeout)."""
        self.unsent = (self.unsent + ids)[-MAX_UNSENT:]
        if not self.unsent or time.monotonic() < self._retry_at:
            return
        pending, self.unsent = self.unsent, []
        for start in range(0, len(pending), HINT_BATCH):
            if not self.publish(pending[start : start + HINT_BATCH]):
                self.unsent = pending[start:]
                self._retry_at = time.monotonic() + RETRY_SECONDS
                return


def listener_active(alias: str = "default") -> bool | None:
    """Whether some worker holds the listener's lock now; None where the database cannot notify."""
    conn = connections[alias]
    if not database.notifies(alias):
        return None
    with conn.cursor() as cursor:
        cursor.execute(  # a bigint advisory key shows as its high and low 32 bits
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND classid = %s AND objid = %s)",
            [LOCK_KEY >> 32, LOCK_KEY & 0xFFFFFFFF],
        )
        return cursor.fetchone()[0]


_listener: IntakeListener | None = None


def listener_start(**kwargs) -> IntakeListener | None:
    """Start this process's listener (a Celery worker at start-up); only where the database can notify."""
    global _listener
    if not database.notifies() or _listener is not None:
        return _listener
    _listener = IntakeListener(**kwargs).start()
    return _listener


def listener_stop() -> None:
    global _listener
    if _listener is not None:
        _listener.stop()
        _listener = None
