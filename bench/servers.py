"""What the benchmarks start and must stop: a throwaway PostgreSQL database and gunicorn servers."""

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

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/connector"


def celery_worker_command(
    *, name: str, concurrency: int = 8, queues: str = "default,deliveries", loglevel: str = "INFO"
) -> list[str]:
    """A worker as the Procfile runs it (thread pool, both queues), under a unique name."""
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


@contextmanager
def fresh_database(name: str):
    """Create database `name` (dropping any leftover), yield its URL, drop it afterwards."""
    with _admin_connection() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield database_url(name)
    finally:
        with _admin_connection() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manage(env: dict, *args: str, timeout: float = 120) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )
    if done.returncode:
        raise RuntimeError(f"manage.py {args[0]} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return done.stdout


def _answers_http(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            return s.recv(16).startswith(b"HTTP/")
    except OSError:
        return False


# The web process as the Procfile runs it; BENCH_WORKER_CLASS=sync (or BENCH_THREADS) tries another configuration.
WORKER_CLASS = os.environ.get("BENCH_WORKER_CLASS", "gthread")
THREADS = int(os.environ.get("BENCH_THREADS", "4"))


def gunicorn_label(workers: int = 2) -> str:
    return f"{workers} {WORKER_CLASS} workers" + (f" x {THREADS} threads" if WORKER_CLASS == "gthread" else "")


@contextmanager
def gunicorn(app: str, env: dict, *, workers: int = 2, timeout: float = 30):
    """Serve `app` (module:callable) with gunicorn on a free loopback port, as the Procfile does; yield the port.

    Every benchmark server is started by this one function, so they all run with the same settings.
    """
    port = free_port()
    (REPO / "var").mkdir(exist_ok=True)
    log = (REPO / "var" / f"bench-gunicorn-{port}.log").open("w")  # read it when a server misbehaves
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            app,
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            WORKER_CLASS,
            *(["--threads", str(THREADS)] if WORKER_CLASS == "gthread" else []),
            "--log-level",
            "warning",
            "--graceful-timeout",
            "5",
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + timeout
        while not _answers_http(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn serving {app} did not start (exit code {proc.poll()})")
            time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
