"""What the delivery workers share: the per-workspace rate limiter and the pump lease.

With Redis (every real deployment, and the tests) both live in Redis, so every worker process sees the same
limit. On the embedded default of `make run` (no Redis, one worker process) an in-process version with the
same interface is used instead.
"""

import threading
import time
import uuid
from collections.abc import Mapping
from functools import cache

import redis
from django.conf import settings

from connector.redis_client import redis_connect
from deliveries.ratelimit import DEFAULT_LIMIT, WINDOW_SECONDS, WorkspaceRateLimiter, _header, _number


class LocalRateLimiter:
    """In-process fixed windows aligned to unix time; for a single worker process only."""

    def __init__(self, *, default_limit: int = DEFAULT_LIMIT, cap: int | None = None,
                 window_seconds: float = WINDOW_SECONDS):
        self.default_limit, self.cap, self.window_seconds = default_limit, cap, window_seconds
        self._lock = threading.Lock()
        self._limits: dict[str, int] = {}
        self._counts: dict[tuple[str, int], int] = {}
        self._blocked: dict[str, float] = {}

    def limit_for(self, workspace_id: str) -> int:
        limit = self._limits.get(workspace_id, self.default_limit)
        return min(limit, self.cap) if self.cap else limit

    def acquire(self, workspace_id: str, *, now: float | None = None, reserve: int = 0) -> float:
        now = time.time() if now is None else now
        limit = self.limit_for(workspace_id)
        limit -= min(reserve, limit - 1)
        with self._lock:
            blocked = self._blocked.get(workspace_id, 0.0)
            if now < blocked:
                return blocked - now + 0.001
            window = int(now // self.window_seconds)
            used = self._counts.get((workspace_id, window), 0)
            if used >= limit:
                return (window + 1) * self.window_seconds - now + 0.001
            self._counts[(workspace_id, window)] = used + 1
            for key in [k for k in self._counts if k[1] < window - 1]:
                del self._counts[key]
            return 0.0

    def acquire_many(self, workspace_id: str, wanted: int, *, now: float | None = None) -> tuple[int, float]:
        taken = 0
        while taken < wanted:
            wait = self.acquire(workspace_id, now=now)
            if wait > 0:
                return taken, wait
            taken += 1
        return taken, 0.0

    def observe(self, workspace_id: str, headers: Mapping[str, str], *, now: float | None = None) -> None:
        limit = _number(_header(headers, "X-RateLimit-Limit"))
        if limit:
            with self._lock:
                self._limits[workspace_id] = int(limit)

    def block_until(self, workspace_id: str, reset_at: float) -> None:
        with self._lock:
            self._blocked[workspace_id] = max(self._blocked.get(workspace_id, 0.0), float(reset_at))

    def reset(self, workspace_id: str) -> None:
        with self._lock:
            self._limits.pop(workspace_id, None)
            self._blocked.pop(workspace_id, None)


@cache
def redis_client() -> redis.Redis | None:
    if not settings.REDIS_URL:
        return None
    return redis_connect()


@cache
def limiter():
    cap = settings.INTERCOM_RATE_LIMIT_CAP or None
    client = redis_client()
    if client is None:
        return LocalRateLimiter(cap=cap)
    return WorkspaceRateLimiter(client, key_prefix=f"{settings.REDIS_KEY_PREFIX}:rl", cap=cap)


class Lease:
    """At most one pump per workspace at a time; expires by itself if its holder dies."""

    _local: dict[str, tuple[str, float]] = {}
    _local_lock = threading.Lock()

    def __init__(self, name: str, ttl: float):
        self.key = f"{settings.REDIS_KEY_PREFIX}:lease:{name}"
        self.ttl = ttl
        self.token = uuid.uuid4().hex

    def acquire(self) -> bool:
        client = redis_client()
        if client is not None:
            return bool(client.set(self.key, self.token, nx=True, px=int(self.ttl * 1000)))
        with self._local_lock:
            holder = self._local.get(self.key)
            if holder and holder[1] > time.monotonic():
                return False
            self._local[self.key] = (self.token, time.monotonic() + self.ttl)
            return True

    def renew(self) -> bool:
        client = redis_client()
        if client is not None:
            renewed = client.eval(
                "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end "
                "return 0",
                1,
                self.key,
                self.token,
                int(self.ttl * 1000),
            )
            return bool(renewed)
        with self._local_lock:
            if self._local.get(self.key, ("",))[0] != self.token:
                return False
            self._local[self.key] = (self.token, time.monotonic() + self.ttl)
            return True

    def release(self) -> None:
        client = redis_client()
        if client is not None:
            client.eval(
                "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
                1,
                self.key,
                self.token,
            )
            return
        with self._local_lock:
            if self._local.get(self.key, ("",))[0] == self.token:
                del self._local[self.key]

    def held(self) -> bool:
        client = redis_client()
        if client is not None:
            return client.exists(self.key) == 1
        with self._local_lock:
            holder = self._local.get(self.key)
            return bool(holder and holder[1] > time.monotonic())
