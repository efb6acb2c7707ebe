"""What the benchmarks start and must stop: gunicorn servers (Celery, databases: sandbox.processes)."""

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager

from sandbox.processes import REPO, free_port


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


_pids: dict[int, int] = {}  # port -> gunicorn master's pid, while it serves


def pid_of(port: int) -> int:
    """The gunicorn master serving `port` (its workers are its children)."""
    return _pids[port]


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
        _pids[port] = proc.pid
        yield port
    finally:
        _pids.pop(port, None)
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
