"""A small HTTP/1.1 load generator on asyncio: an open model at a fixed rate, and a closed loop at maximum.

Requests are prebuilt bytes written on a fresh connection (gunicorn's sync workers close after every
response anyway), so the client spends little CPU per request on this 2-core machine. At a fixed rate each
request is sent at its scheduled time whether or not earlier ones have finished, and its latency is counted
from that scheduled time: a slow server cannot lower the offered rate or hide its queueing.
"""

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

REQUEST_TIMEOUT = 10.0


@dataclass
class LoadResult:
    sent: int = 0
    statuses: Counter = field(default_factory=Counter)  # HTTP status → count; 0 means no answer (error)
    latencies: list[float] = field(default_factory=list)  # seconds, of 2xx answers
    elapsed: float = 0.0

    @property
    def ok(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    @property
    def rps(self) -> float:
        return self.ok / self.elapsed if self.elapsed else 0.0

    def add(self, other: "LoadResult") -> "LoadResult":
        """Fold another slice of the same load into this one (its time added to ours)."""
        self.sent += other.sent
        self.statuses.update(other.statuses)
        self.latencies.extend(other.latencies)
        self.elapsed += other.elapsed
        return self

    def percentile_ms(self, q: float) -> float | None:
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))  # nearest rank
        return round(ordered[index] * 1000, 2)


async def _exchange(host: str, port: int, request: bytes) -> int:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(request)
        response = await reader.read()  # until the server closes
    finally:
        writer.close()
    return int(response[9:12]) if response[:5] == b"HTTP/" and len(response) >= 12 else 0


async def _timed(host: str, port: int, request: bytes, start: float, result: LoadResult, loop) -> None:
    try:
        status = await asyncio.wait_for(_exchange(host, port, request), REQUEST_TIMEOUT)
    except (TimeoutError, OSError, ValueError):
        status = 0
    result.statuses[status] += 1
    if 200 <= status < 300:
        result.latencies.append(loop.time() - start)


async def _fixed_rate(host, port, make_request, rate, seconds) -> LoadResult:
    loop, result = asyncio.get_running_loop(), LoadResult()
    total, tasks = int(rate * seconds), []
    begin = loop.time()
    for i in range(total):
        scheduled = begin + i / rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(_timed(host, port, make_request(), scheduled, result, loop)))
        result.sent += 1
    await asyncio.gather(*tasks)
    result.elapsed = loop.time() - begin
    return result


async def _maximum(host, port, make_request, concurrency, seconds) -> LoadResult:
    loop, result = asyncio.get_running_loop(), LoadResult()
    begin = loop.time()
    deadline = begin + seconds

    async def user():
        while loop.time() < deadline:
            result.sent += 1
            await _timed(host, port, make_request(), loop.time(), result, loop)

    await asyncio.gather(*(user() for _ in range(concurrency)))
    result.elapsed = loop.time() - begin
    return result


def fixed_rate(host: str, port: int, make_request: Callable[[], bytes], *, rate: float, seconds: float) -> LoadResult:
    """Offer `rate` requests per second for `seconds` (open model)."""
    return asyncio.run(_fixed_rate(host, port, make_request, rate, seconds))


def maximum(host: str, port: int, make_request: Callable[[], bytes], *, concurrency: int, seconds: float) -> LoadResult:
    """As many requests as `concurrency` clients that each wait for their answer can send in `seconds`."""
    return asyncio.run(_maximum(host, port, make_request, concurrency, seconds))


def warm_up(host: str, port: int, make_request: Callable[[], bytes], *, count: int = 40) -> LoadResult:
    """A few requests so both workers have imported everything and opened their connections."""
    return fixed_rate(host, port, make_request, rate=100, seconds=count / 100)
