"""The pace of linking's Jira calls per site, shared by every worker: the limiter of deliveries, in 1-second
windows, learning from Jira's answers.

Jira Cloud answers `X-RateLimit-Limit` and `X-RateLimit-Remaining` (its `X-RateLimit-Reset` is a minute-precise
ISO date, too coarse to place windows by) and, past the limit, 429 with `Retry-After` seconds. So the limit in
force is the last `X-RateLimit-Limit` seen (JIRA_RATE_LIMIT_DEFAULT until then, never above JIRA_RATE_LIMIT_CAP),
and a 429 (or a 503 with Retry-After) holds every caller of the site until its Retry-After.
"""

import threading
import time
from collections.abc import Mapping
from functools import cache

from django.conf import settings

from connector.errors import retry_at_from_headers
from connector.jira_client import JiraClient
from connector.models import JiraSite
from deliveries.coordination import LocalRateLimiter, redis_client
from deliveries.ratelimit import WorkspaceRateLimiter, _header, _number

WINDOW_SECONDS = 1.0
MAX_WAIT_SECONDS = 30.0  # a call waits this long at most for its slot, then goes anyway (Jira answers 429)
REQUEST_MAX_WAIT_SECONDS = 2.0  # the same for a call a user's request waits on


@cache
def pacer():
    cap = settings.JIRA_RATE_LIMIT_CAP or None
    client = redis_client()
    if client is None:
        return LocalRateLimiter(default_limit=settings.JIRA_RATE_LIMIT_DEFAULT, cap=cap, window_seconds=WINDOW_SECONDS)
    return WorkspaceRateLimiter(
        client,
        key_prefix=f"{settings.REDIS_KEY_PREFIX}:jira-rl",
        default_limit=settings.JIRA_RATE_LIMIT_DEFAULT,
        cap=cap,
        window_seconds=WINDOW_SECONDS,
        head_guard=0.01,
        tail_guard=0.05,
    )


def _key(site_id: int) -> str:
    return f"site-{site_id}"


def slot(site_id: int, max_wait: float = MAX_WAIT_SECONDS) -> None:
    """Wait for this site's next call slot."""
    limiter, key = pacer(), _key(site_id)
    deadline = time.monotonic() + max_wait
    while (wait := limiter.acquire(key)) > 0 and time.monotonic() < deadline:
        time.sleep(min(wait, deadline - time.monotonic(), 1.0))


def observe(site_id: int, status: int, headers: Mapping[str, str]) -> None:
    limiter, key = pacer(), _key(site_id)
    limit = _number(_header(headers, "X-RateLimit-Limit"))
    if limit and limit >= 1:
        limiter.observe(key, {"X-RateLimit-Limit": str(int(limit))})
    if status == 429 or (status == 503 and _header(headers, "Retry-After")):
        limiter.block_until(key, retry_at_from_headers(headers, status=status) or time.time() + 1)


_local = threading.local()  # per thread: (site, wait, timeout) → (credentials, client), reused across calls


def client_for(site: JiraSite, *, max_wait: float = MAX_WAIT_SECONDS, timeout: float | None = None) -> JiraClient:
    """A Jira client for the site's app user whose every call waits for the site's pace and teaches it. Every
    call with the app user's credentials counts against one limit at Jira, the ones made in requests too."""
    key = (site.pk, max_wait, timeout)
    credentials = (site.base_url, site.deployment, site.account_email, site.api_token)
    clients = _local.__dict__.setdefault("clients", {})
    cached = clients.get(key)
    if cached is not None and cached[0] == credentials:
        return cached[1]
    client = JiraClient.for_site(site, timeout=timeout)  # new, or the credentials changed: the old one is dropped
    client.before_request = lambda: slot(site.pk, max_wait)
    client.on_response = lambda status, headers: observe(site.pk, status, headers)
    clients[key] = (credentials, client)
    return client


def request_client_for(site: JiraSite, *, timeout: float | None = None) -> JiraClient:
    """client_for, for a call a user's request waits on: a slot is waited for REQUEST_MAX_WAIT_SECONDS at most."""
    return client_for(site, max_wait=REQUEST_MAX_WAIT_SECONDS, timeout=timeout)
