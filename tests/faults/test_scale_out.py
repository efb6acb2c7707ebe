"""Two nodes (web, worker and beat each, on loopback) share one PostgreSQL and Redis; one is killed with SIGKILL
in the middle of a fan-out to two workspaces: every note arrives once and no workspace's window goes over its
limit. It runs the multi-node benchmark's own orchestration at a bounded size (`python -m bench.scale_out`, a
child process: the tests never import the benchmarks) against this run's database server and Redis DB."""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings

from tests.conftest import REPO

pytestmark = pytest.mark.faults

OPTIONS = {
    "workspaces": 2,
    "conversations": 250,
    # Two windows' worth (Intercom's lowest plan, which the limiter assumes until a response names the limit),
    # so the node dies with notes still to send.
    "limit": 166,
    "runs": [{"nodes": 2, "workers": 2, "kill": True}],
}


def test_a_node_killed_mid_fan_out_loses_and_doubles_nothing_and_keeps_the_limit():
    db = settings.DATABASES["default"]
    env = dict(
        os.environ,
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/postgres",
        BENCH_DATABASE=f"{db['NAME']}_nodes",
        BENCH_REDIS_URL=settings.REDIS_URL,
    )
    done = subprocess.run(
        [sys.executable, "-m", "bench.scale_out", "--options", json.dumps(OPTIONS)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    figures = json.loads(done.stdout)
    (run,) = figures["runs"].values()
    assert run["killed_node_workers"] == 1
    assert run["notes_out_when_killed"] < 500, "the node died with notes still to send"
    assert (run["notes"], run["lost"], run["duplicates"]) == (500, 0, 0)
    assert run["max_calls_per_window"] <= 166
    assert "failed" not in figures
