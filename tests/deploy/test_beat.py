"""Two real `celery beat` processes with the Procfile's scheduler (config.beat:LeaderScheduler) against Redis:
each period's task is sent once, not twice; when the sending beat is killed the other takes over within the
lease; a beat that stops hands the lease back."""

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from tests.conftest import REPO

PERIOD = 1.0
LEASE = 3


class Arrivals:
    """Pops the probe queue in a thread and keeps the monotonic time at which each send arrived."""

    def __init__(self, client, queue: str):
        self.client, self.queue, self.times = client, queue, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            if self.client.brpop(self.queue, timeout=0.2):
                self.times.append(time.monotonic())

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)

    def between(self, start: float, end: float) -> list[float]:
        return [t for t in self.times if start <= t < end]


def _wait(predicate, timeout: float, message: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


def _beat(tmp: Path, name: str, env: dict) -> tuple[subprocess.Popen, Path]:
    log = tmp / f"beat-{name}.log"
    command = [sys.executable, "-m", "celery", "-A", "tests.deploy.beat_probe", "beat",
               "--scheduler", "config.beat:LeaderScheduler", "--loglevel", "INFO"]
    with log.open("w") as out:
        proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    return proc, log


def _assert_once_per_period(times: list[float], what: str):
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps and min(gaps) > PERIOD / 2, f"{what}: a period's task was sent twice (gaps {gaps})"


@pytest.fixture
def beats(tmp_path, redis_client):
    prefix = f"test-beat-{uuid.uuid4().hex[:8]}"
    queue = f"{prefix}-probe"
    env = dict(os.environ, DJANGO_ENV="test", REDIS_URL=settings.REDIS_URL, REDIS_KEY_PREFIX=prefix,
               BEAT_LEASE_SECONDS=str(LEASE), BEAT_PROBE_SECONDS=str(PERIOD), BEAT_PROBE_QUEUE=queue,
               PYTHONUNBUFFERED="1")
    started = [_beat(tmp_path, name, env) for name in ("a", "b")]
    try:
        yield {"procs": {p.pid: (p, log) for p, log in started}, "key": f"{prefix}:beat:leader", "queue": queue}
    finally:
        for proc, _ in started:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
        redis_client.delete(queue, f"{prefix}:beat:leader", f"{prefix}:beat:last-run")


def _leader_pid(redis_client, key: str) -> int | None:
    value = redis_client.get(key)
    return int(value.decode().split(":")[1]) if value else None


def test_two_beats_send_each_period_once_and_the_standby_takes_over_within_the_lease(beats, redis_client):
    key, procs = beats["key"], beats["procs"]
    with Arrivals(redis_client, beats["queue"]) as arrivals:
        _wait(lambda: len(arrivals.times) >= 2, 60, "the first sends from beat")
        both_running = time.monotonic()
        time.sleep(8 * PERIOD)
        steady = arrivals.between(both_running, time.monotonic())
        assert all(p.poll() is None for p, _ in procs.values()), "both beats keep running"
        assert 7 <= len(steady) <= 9, f"8 periods with two beats: {len(steady)} sends"
        _assert_once_per_period(steady, "two beats running")

        leader = _leader_pid(redis_client, key)
        assert leader in procs, f"the lease names one of the two beats: {redis_client.get(key)!r}"
        procs[leader][0].kill()  # no goodbye: the lease has to expire
        killed = time.monotonic()
        _wait(lambda: arrivals.between(killed, time.monotonic()), LEASE + 2 * PERIOD + 3, "the standby to send")
        takeover = arrivals.between(killed, time.monotonic())[0] - killed
        assert takeover <= LEASE + LEASE / 3 + PERIOD + 1, f"the standby sent {takeover:.1f}s after the kill"
        (standby,) = set(procs) - {leader}
        assert _leader_pid(redis_client, key) == standby

        time.sleep(4 * PERIOD)
        _assert_once_per_period(arrivals.times, "across the takeover")

    procs[standby][0].send_signal(signal.SIGTERM)
    procs[standby][0].wait(timeout=15)
    assert redis_client.get(key) is None, "a beat that stops hands the lease back"
    assert "beat.lease_taken" in procs[standby][1].read_text()
