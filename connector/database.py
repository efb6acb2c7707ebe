"""What the database backend can do, in one place: PostgreSQL in production and tests, SQLite under `make run`.

The hot path (intake, planning, claiming, recording) asks here instead of testing the vendor itself, so the
second plumbing stays one small module wide.
"""

import functools
import hashlib

from django.db import DEFAULT_DB_ALIAS, connection, connections


@functools.cache  # an alias keeps its backend for the life of the process; the lookup is per delivery otherwise
def is_postgresql(alias: str = DEFAULT_DB_ALIAS) -> bool:
    return connections[alias].vendor == "postgresql"


def notifies(alias: str = DEFAULT_DB_ALIAS) -> bool:
    """LISTEN/NOTIFY: intake's insert can announce the row when it commits (SQLite: a background hint instead)."""
    return is_postgresql(alias)


def json_placeholder() -> str:
    """A JSON text parameter as the column expects it (jsonb needs a cast; SQLite stores the text)."""
    return "CAST(%s AS jsonb)" if is_postgresql() else "%s"


def skip_locked() -> str:
    """The row lock that lets concurrent claimers pass over each other's rows (SQLite serialises writers)."""
    return "FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""


def updates_from_values() -> bool:
    """UPDATE … FROM (VALUES …): many rows with their own values in one statement."""
    return is_postgresql()


def transaction_lock(name: str) -> None:
    """Serialise transactions on `name` until commit (SQLite already runs one writer at a time)."""
    if not is_postgresql():
        return
    lock_id = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [lock_id])
