"""What every benchmark round starts from: a migrated database of its own, and a child process with Django set
up against it.

Migrating takes seconds, a copy of a migrated database a fraction of one, so the first round of a `python -m
bench` run migrates a template and every round after copies it (PostgreSQL's CREATE DATABASE ... TEMPLATE).
"""

import atexit
import json
import os
import subprocess
import sys
import tempfile
from contextlib import contextmanager

from sandbox.processes import REPO, database_create, database_drop, fresh_database, manage

TEMPLATE = os.environ.get("BENCH_DATABASE", "connector_bench") + "_template"
_template_ready = False


def _template() -> str:
    """The migrated template, made on first use in this process and dropped when it exits."""
    global _template_ready
    if not _template_ready:
        url = database_create(TEMPLATE)
        atexit.register(database_drop, TEMPLATE)
        manage({**os.environ, "DJANGO_ENV": "test", "DATABASE_URL": url}, "migrate", "--noinput", "-v0",
               timeout=300)
        _template_ready = True
    return TEMPLATE


@contextmanager
def migrated_database(name: str):
    """A fresh, migrated database `name`; its URL, dropped afterwards."""
    with fresh_database(name, template=_template()) as url:
        yield url


def run_child(
    module: str, mode: str, options: dict, *, database: str, redis_url: str, timeout: float, env: dict | None = None
) -> dict:
    """`python -m <module> <mode> <json options>` on a fresh migrated database and a temporary VAR_DIR, with
    `env` on top; the figures are the JSON on its last line of output."""
    with migrated_database(database) as url, tempfile.TemporaryDirectory() as var:
        child_env = {
            **os.environ,
            "DJANGO_ENV": "test",
            "DATABASE_URL": url,
            "REDIS_URL": redis_url,
            "VAR_DIR": var,
            "PYTHONUNBUFFERED": "1",
            "DELIVERY_SWEEP_SECONDS": "2",
            **(env or {}),
        }
        done = subprocess.run(
            [sys.executable, "-m", module, mode, json.dumps(options)],
            cwd=REPO, env=child_env, capture_output=True, text=True, timeout=timeout,
        )
    if done.returncode:
        raise RuntimeError(f"{module} {mode} failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}")
    if os.environ.get("BENCH_DEBUG"):
        print(done.stderr[-3000:], file=sys.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])
