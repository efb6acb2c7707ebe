"""One beat, however many run: a celery beat scheduler that sends periodic tasks only while it holds a lease.

Run it with `celery -A config beat --scheduler config.beat:LeaderScheduler` (the Procfile's beat line). Every
beat process tries to take the lease in Redis (SET NX PX, BEAT_LEASE_SECONDS); the holder renews it every third
of the lease and sends, the others wait. A holder that exits hands the lease back; one that is killed loses it
when it expires, and a standby takes over within the lease. When a beat becomes the holder it reads each
entry's last run from Redis (the previous holder recorded them), so a takeover neither repeats a run that was
already sent nor restarts every interval from zero. Without Redis (`make run`) there is one beat and it sends.
"""

import logging
import os
import socket
import time
import uuid
from datetime import datetime

import redis
from celery.beat import Scheduler
from django.conf import settings

from connector.redis_client import redis_connect

logger = logging.getLogger(__name__)

_RENEW = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0"
_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"


class LeaderScheduler(Scheduler):
    """The in-memory scheduler of celery, sending only while this process holds the beat lease."""

    def __init__(self, *args, **kwargs):
        self.lease_seconds = float(settings.BEAT_LEASE_SECONDS)
        self.lease_key = f"{settings.REDIS_KEY_PREFIX}:beat:leader"
        self.last_runs_key = f"{settings.REDIS_KEY_PREFIX}:beat:last-run"
        # Who holds the lease, readable by an operator (`GET <prefix>:beat:leader`).
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.client = redis_connect() if settings.REDIS_URL else None
        self.leading_since: float | None = None  # monotonic time of the last successful take or renewal
        super().__init__(*args, **kwargs)

    def tick(self, *args, **kwargs) -> float:
        if not self._lead():
            # A standby polls often enough to take over well within one lease.
            return min(self.lease_seconds / 3, self.max_interval)
        return min(super().tick(*args, **kwargs), self.lease_seconds / 3)

    def reserve(self, entry):
        entry = super().reserve(entry)
        if self.client is not None:
            try:
                self.client.hset(self.last_runs_key, entry.name, entry.last_run_at.isoformat())
            except redis.RedisError:
                logger.warning("beat.last_run_not_recorded", extra={"entry": entry.name}, exc_info=True)
        return entry

    def close(self):
        try:
            super().close()
        finally:
            self._step_down(release=True)

    def _lead(self) -> bool:
        """Take or keep the lease; True while it is certainly ours."""
        if self.client is None:
            return True
        started = time.monotonic()
        if self.leading_since is not None and started - self.leading_since < self.lease_seconds / 3:
            return True
        ttl_ms = int(self.lease_seconds * 1000)
        try:
            if self.leading_since is not None:
                held = bool(self.client.eval(_RENEW, 1, self.lease_key, self.token, ttl_ms))
                if not held:
                    logger.warning("beat.lease_lost: another beat holds %s now; standing by", self.lease_key)
            else:
                held = bool(self.client.set(self.lease_key, self.token, nx=True, px=ttl_ms))
                if held:
                    logger.info("beat.lease_taken: %s sends the periodic tasks", self.token)
                    self._load_last_runs()
        except redis.RedisError:
            # Without Redis no beat can prove it is the only one: send nothing rather than risk doubles.
            logger.warning("beat.lease_unreachable: Redis cannot be reached; sending nothing", exc_info=True)
            held = False
        if not held:
            self._step_down(release=False)
            return False
        self.leading_since = started
        return True

    def _load_last_runs(self) -> None:
        recorded = self.client.hgetall(self.last_runs_key)
        for name, entry in self.schedule.items():
            value = recorded.get(name.encode())
            if value:
                entry.last_run_at = datetime.fromisoformat(value.decode())
        self._heap = None  # rebuilt from the loaded times on this tick

    def _step_down(self, *, release: bool) -> None:
        if release and self.leading_since is not None and self.client is not None:
            try:
                self.client.eval(_RELEASE, 1, self.lease_key, self.token)
            except redis.RedisError:
                logger.warning("beat.lease_not_released: it expires by itself", exc_info=True)
        self.leading_since = None
