"""Processes the tests and the benchmarks start and must stop: Celery, a throwaway database, a simulator.

Shared by `tests/` and `bench/` (neither imports the other); like the rest of the sandbox it never imports
Django or the connector — `manage()` runs manage.py as a child process.
"""

import os
import socket
import subprocess
import sys
import time
import urllib.parse
import uuid
from contextlib import contextmanager
from pathlib import Path

import psycopg

from sandbox.server import SimControl

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/connector"


def celery_worker_command(
    *, name: str, concurrency: int = 8, queues: str = "webhooks,deliveries,default,housekeeping",
    loglevel: str = "INFO",
) -> list[str]:
    """A worker as the Procfile runs it (thread pool), under a unique name; by default one worker serves every
    queue (the Procfile's worker and housekeeping in one)."""
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "--pool",
        "threads",
        "--concurrency",
        str(concurrency),
        "--queues",
        queues,
        "--loglevel",
        loglevel,
        "--without-gossip",
        "--without-mingle",
        "--hostname",
        f"{name}-{uuid.uuid4().hex[:8]}@%h",
    ]


def celery_beat_command(schedule: Path, *, loglevel: str = "INFO") -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel", loglevel, "--schedule", str(schedule)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url(name: str) -> str:
    """The URL of database `name` on the server the tests use (DATABASE_URL or the local default)."""
    parts = urllib.parse.urlparse(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
    return urllib.parse.urlunparse(parts._replace(path=f"/{name}"))


def _admin_connection() -> psycopg.Connection:
    return psycopg.connect(database_url("postgres"), autocommit=True)


def database_create(name: str, *, template: str = "") -> str:
    """Create database `name` (dropping any leftover), a copy of `template` if one is named; its URL."""
    with _admin_connection() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return database_url(name)


def database_drop(name: str) -> None:
    with _admin_connection() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_database(name: str, *, template: str = ""):
    """Database `name`, new (a copy of `template` if one is named); its URL; dropped afterwards."""
    url = database_create(name, template=template)
    try:
        yield url
    finally:
        database_drop(name)


def manage(env: dict, *args: str, timeout: float = 120) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )
    if done.returncode:
        raise RuntimeError(f"manage.py {args[0]} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return done.stdout


@contextmanager
def process(args: list[str], log: Path, env: dict | None = None):
    """Run `args` from the repository with its output in `log`; terminate it (then kill it) on the way out."""
    with log.open("w") as out:
        proc = subprocess.Popen(args, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, env=env or os.environ.copy())
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def wait_for_line(log: Path, text: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        content = log.read_text() if log.exists() else ""
        if text in content:
            return content
        time.sleep(0.1)
    raise RuntimeError(f"{log.name} never said {text!r}:\n{log.read_text()[-3000:]}")


@contextmanager
def intercom_simulator(*, rate_limit: int, latency: float, log: Path, app_id: str = "sandbox1",
                       validate_every: int = 1):
    """The Intercom simulator as its own process; yields its URL, its control plane and the process."""
    port = free_port()
    args = [
        sys.executable,
        "-m",
        "sandbox",
        "intercom",
        "--port",
        str(port),
        "--rate-limit",
        str(rate_limit),
        "--latency",
        str(latency),
        "--app-id",
        app_id,
        "--validate-every",
        str(validate_every),
    ]
    with process(args, log) as proc:
        wait_for_line(log, "http://")
        yield f"http://127.0.0.1:{port}", SimControl(f"http://127.0.0.1:{port}"), proc
