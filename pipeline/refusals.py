"""Webhooks we refused (bad signature, malformed, too large): counted per sender and reason, the last few kept
with their headers and size only, never the body. An admin sees them on the dashboard and the connection pages.

The counts live in Redis, not PostgreSQL: a refusal is what a stranger can send as fast as they like, and it
must stay as cheap to answer as it was. Redis down costs the record, never the answer.
"""

import json
import logging
import time
from dataclasses import dataclass

import redis
from django.utils import timezone

from connector.redis_client import redis_connect

logger = logging.getLogger(__name__)
KEEP_LAST = 10
KEEP_SECONDS = 7 * 24 * 3600
UNKNOWN = "unknown"  # refusals at a URL no connection has; one bucket, so random ids cannot fill Redis
# Headers worth seeing to tell a misconfigured sender from a stranger; the signature is cut to its method.
SHOWN_HEADERS = (
    "User-Agent", "Content-Type", "Content-Length", "X-Atlassian-Webhook-Identifier", "X-Atlassian-Webhook-Retry",
    "X-Forwarded-For",
)
_client: redis.Redis | None = None


def _redis() -> redis.Redis:
    global _client
    if _client is None:
        _client = redis_connect(socket_timeout=0.5, socket_connect_timeout=0.5, retry_on_timeout=False)
    return _client


def _headers(request) -> dict[str, str]:
    shown = {name: request.headers[name][:200] for name in SHOWN_HEADERS if name in request.headers}
    signature = request.headers.get("X-Hub-Signature")
    if signature is not None:
        shown["X-Hub-Signature"] = signature.split("=", 1)[0][:20] + "=…" if "=" in signature else "(no method)"
    return shown


def refusal_record(*, source: str, sender: str | None, status: int, reason: str, request) -> None:
    """Count one refused delivery. `sender` is the connection's public id, None when no connection has the URL."""
    sender = sender or UNKNOWN
    entry = {
        "at": timezone.now().isoformat(), "status": status, "reason": reason[:300],
        "size": int(request.META.get("CONTENT_LENGTH") or 0) if str(request.META.get("CONTENT_LENGTH") or "0").isdigit()
        else 0, "headers": _headers(request), "address": request.META.get("REMOTE_ADDR", ""),
    }
    hour = int(time.time() // 3600)
    try:
        pipe = _redis().pipeline(transaction=False)
        pipe.hincrby(f"refusals:{source}:{sender}", f"{status} {reason[:300]}", 1)
        pipe.expire(f"refusals:{source}:{sender}", KEEP_SECONDS)
        pipe.lpush(f"refusals:last:{source}:{sender}", json.dumps(entry))
        pipe.ltrim(f"refusals:last:{source}:{sender}", 0, KEEP_LAST - 1)
        pipe.expire(f"refusals:last:{source}:{sender}", KEEP_SECONDS)
        pipe.incr(f"refusals:hour:{hour}")
        pipe.expire(f"refusals:hour:{hour}", 26 * 3600)
        pipe.execute()
    except redis.RedisError as exc:
        logger.warning("intake.refusal_not_recorded", extra={"error": type(exc).__name__})


@dataclass
class Refusals:
    counts: list[tuple[str, int]]  # ("401 The X-Hub-Signature does not match …", n), most first
    last: list[dict]

    @property
    def total(self) -> int:
        return sum(n for _, n in self.counts)


def refusals_for(*, source: str, sender: str | None) -> Refusals:
    """Counts per reason (the last 7 days) and the last few refusals of one sender (None: unknown URLs)."""
    sender = sender or UNKNOWN
    try:
        client = _redis()
        counts = client.hgetall(f"refusals:{source}:{sender}")
        last = client.lrange(f"refusals:last:{source}:{sender}", 0, KEEP_LAST - 1)
    except redis.RedisError:
        return Refusals([], [])
    pairs = sorted(((k.decode(), int(v)) for k, v in counts.items()), key=lambda kv: -kv[1])
    return Refusals(pairs, [json.loads(item) for item in last])


def refusals_last_day() -> int | None:
    """Refused deliveries in the last 24 hours, all senders; None when Redis cannot say."""
    hour = int(time.time() // 3600)
    try:
        values = _redis().mget([f"refusals:hour:{h}" for h in range(hour - 23, hour + 1)])
    except redis.RedisError:
        return None
    return sum(int(v) for v in values if v)
