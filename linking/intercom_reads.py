"""Every Intercom read of the linking app goes through here: the shared per-workspace rate limiter, below notes.

Reads take a slot only while the current window has more than a reserve left (INTERCOM_READ_RESERVE, a share
of the limit), so notes, which ask with no reserve, always find room; a read that finds no room is not made
and the caller tries later. A 429 blocks the whole workspace until Intercom's reset, for notes too.
"""

import math
import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings

from connector.errors import VendorError, VendorErrorKind
from connector.intercom_client import IntercomClient, client_for
from connector.models import IntercomWorkspace
from deliveries.coordination import limiter

T = TypeVar("T")


def read_reserve(limit: int) -> int:
    return math.ceil(limit * settings.INTERCOM_READ_RESERVE)


def read_slot(workspace: IntercomWorkspace, *, max_wait: float = 0.0) -> None:
    """Take a read slot, waiting up to max_wait seconds; else VendorError(RATE_LIMITED) with when to ask again."""
    rl, key = limiter(), str(workspace.pk)
    reserve = read_reserve(rl.limit_for(key))
    deadline = time.monotonic() + max_wait
    while True:
        wait = rl.acquire(key, reserve=reserve)
        if wait == 0:
            return
        if time.monotonic() + wait > deadline:
            raise VendorError(
                "The Intercom rate limit has no room for reads just now (notes come first); trying again shortly.",
                kind=VendorErrorKind.RATE_LIMITED,
                retry_at=time.time() + wait,
            )
        time.sleep(wait)


def read(workspace: IntercomWorkspace, call: Callable[[IntercomClient], T], *, max_wait: float = 0.0) -> T:
    """One Intercom read under the shared limiter; its rate-limit headers teach the limiter."""
    read_slot(workspace, max_wait=max_wait)
    rl, key = limiter(), str(workspace.pk)
    client = client_for(workspace)
    client.on_headers = lambda headers: rl.observe(key, headers)  # the same hook the delivery pump sets
    try:
        return call(client)
    except VendorError as exc:
        if exc.kind == VendorErrorKind.RATE_LIMITED:
            rl.block_until(key, exc.retry_at or time.time() + 10)
        raise
