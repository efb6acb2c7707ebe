"""Outgoing webhook deliveries: sign, send, remember, redeliver. Failures are recorded, never raised."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any


def hub_signature(raw_body: bytes, secret: str, algorithm: str = "sha256") -> str:
    """WebSub-style `X-Hub-Signature` value: `<algorithm>=<hex HMAC of the raw body>`."""
    return f"{algorithm}=" + hmac.new(secret.encode(), raw_body, getattr(hashlib, algorithm)).hexdigest()


@dataclass
class Attempt:
    status: int | None
    error: str | None
    retry: int
    at: float


@dataclass
class Delivery:
    identifier: str
    url: str
    event: str
    body: bytes
    headers: dict[str, str]
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def status(self) -> int | None:
        return self.attempts[-1].status if self.attempts else None

    def summary(self) -> dict[str, Any]:
        return {"identifier": self.identifier, "url": self.url, "event": self.event, "status": self.status,
                "attempts": [vars(a) for a in self.attempts], "headers": self.headers,
                "body": self.body.decode()}


class WebhookSender:
    """Keeps the last `keep` deliveries so tests can redeliver one (same identifier) or fan it out."""

    def __init__(self, user_agent: str, keep: int = 500, timeout: float = 10.0) -> None:
        self.user_agent = user_agent
        self.keep = keep
        self.timeout = timeout
        self.deliveries: list[Delivery] = []
        self._lock = threading.Lock()

    def send(self, delivery: Delivery) -> Delivery:
        with self._lock:
            self.deliveries.append(delivery)
            del self.deliveries[:-self.keep]
        self._attempt(delivery, retry=0)
        return delivery

    def find(self, identifier: str) -> Delivery:
        with self._lock:
            for delivery in reversed(self.deliveries):
                if delivery.identifier == identifier:
                    return delivery
        raise KeyError(identifier)

    def redeliver(self, identifier: str, times: int = 1, concurrent: bool = False) -> list[int | None]:
        """Send a kept delivery again with the same identifier, as Jira's retries do."""
        delivery = self.find(identifier)
        first_retry = len(delivery.attempts)
        retries = range(first_retry, first_retry + times)
        if not concurrent:
            return [self._attempt(delivery, retry=r) for r in retries]
        results: dict[int, int | None] = {}
        threads = [threading.Thread(target=lambda r=r: results.__setitem__(r, self._attempt(delivery, r)))
                   for r in retries]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return [results[r] for r in retries]

    def _attempt(self, delivery: Delivery, retry: int) -> int | None:
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": self.user_agent,
                   **delivery.headers}
        if retry:
            headers["X-Atlassian-Webhook-Retry"] = str(retry)
        request = urllib.request.Request(delivery.url, data=delivery.body, method="POST",  # noqa: S310
                                         headers=headers)
        status: int | None = None
        error = None
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                status = response.status
        except urllib.error.HTTPError as exc:
            status, error = exc.code, exc.read()[:500].decode(errors="replace")
        except (OSError, ValueError) as exc:  # refused, reset, timeout, bad URL: recorded like Jira does
            error = f"{type(exc).__name__}: {exc}"
        with self._lock:
            delivery.attempts.append(Attempt(status, error, retry, time.time()))
        return status
