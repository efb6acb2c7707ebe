"""The per-workspace Intercom rate limiter, against the real Redis.

Most tests inject `now=` so they can walk through many 10-second windows in milliseconds. The concurrency
tests run real threads and processes against an accelerated clock; one short test runs in real time.
Windows are checked the way the Intercom simulator counts: aligned to unix multiples of the window, a call
counted when it arrives.
"""

import collections
import heapq
import multiprocessing
import random
import threading
import time
import uuid

import pytest
import redis

from deliveries.ratelimit import WorkspaceRateLimiter

T0 = 1_700_000_000.0  # a window boundary (multiple of 10)


@pytest.fixture
def make_limiter(redis_client):
    """Limiters on a key prefix unique to the test; every key under it is removed afterwards."""
    prefix = f"test-rl-{uuid.uuid4().hex}"

    def make(**kwargs):
        return WorkspaceRateLimiter(redis_client, prefix, **kwargs)

    yield make
    keys = list(redis_client.scan_iter(match=f"{prefix}:*"))
    if keys:
        redis_client.delete(*keys)


def take(limiter, times, workspace="ws"):
    """How many of the calls at these times were let through."""
    return sum(limiter.acquire(workspace, now=t) == 0 for t in times)


def headers(limit, remaining, reset):
    return {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(reset)}


def test_it_lets_the_default_limit_through_per_window_before_any_header(make_limiter):
    limiter = make_limiter(default_limit=5)
    assert take(limiter, [T0 + 1 + i * 0.01 for i in range(8)]) == 5
    assert take(limiter, [T0 + 11 + i * 0.01 for i in range(8)]) == 5


def test_a_full_window_asks_callers_to_wait_until_just_after_the_next_one_starts(make_limiter):
    limiter = make_limiter(default_limit=2, head_guard=0.1)
    take(limiter, [T0 + 3, T0 + 3])
    wait = limiter.acquire("ws", now=T0 + 4)
    assert wait == pytest.approx(6.1, abs=0.01)
    assert limiter.acquire("ws", now=T0 + 4 + wait) == 0


def test_workspaces_are_limited_separately(make_limiter):
    limiter = make_limiter(default_limit=1)
    assert limiter.acquire("a", now=T0 + 1) == 0
    assert limiter.acquire("b", now=T0 + 1) == 0
    assert limiter.acquire("a", now=T0 + 2) > 0


def test_a_learned_lower_limit_applies_at_once(make_limiter):
    limiter = make_limiter(default_limit=166)
    assert take(limiter, [T0 + 1] * 5) == 5
    limiter.observe("ws", headers(limit=6, remaining=1, reset=T0 + 10), now=T0 + 1.2)
    assert limiter.limit_for("ws") == 6
    assert take(limiter, [T0 + 2] * 5) == 1
    assert take(limiter, [T0 + 12] * 10) == 6


def test_remaining_from_the_server_counts_calls_made_by_others(make_limiter):
    limiter = make_limiter(default_limit=10)
    limiter.observe("ws", headers(limit=10, remaining=3, reset=T0 + 10), now=T0 + 1)
    assert take(limiter, [T0 + 2] * 10) == 3


def test_a_configured_cap_wins_over_a_higher_learned_limit(make_limiter):
    limiter = make_limiter(default_limit=10, cap=4)
    limiter.observe("ws", headers(limit=1666, remaining=1666, reset=T0 + 10), now=T0 + 1)
    assert limiter.limit_for("ws") == 4
    assert take(limiter, [T0 + 2] * 10) == 4


def test_block_until_holds_every_worker_until_the_reset(make_limiter):
    worker_a, worker_b = make_limiter(default_limit=100), make_limiter(default_limit=100)
    worker_a.block_until("ws", T0 + 20)
    assert worker_b.acquire("ws", now=T0 + 5) == pytest.approx(15 + worker_b.head_guard, abs=0.01)
    assert worker_a.acquire("ws", now=T0 + 19.9) > 0
    assert worker_b.acquire("ws", now=T0 + 20 + worker_b.head_guard) == 0
    worker_a.block_until("ws", T0 + 10)  # an older reset never shortens a block
    assert worker_a.acquire("ws", now=T0 + 20.5) == 0


def test_a_call_taken_at_the_end_of_a_window_also_counts_in_the_next(make_limiter):
    limiter = make_limiter(default_limit=3, tail_guard=1.0)
    assert take(limiter, [T0 + 9.5]) == 1  # may arrive after T0 + 10
    assert take(limiter, [T0 + 10.5] * 5) == 2


def test_a_call_taken_at_the_start_of_a_window_also_counts_in_the_previous(make_limiter):
    limiter = make_limiter(default_limit=2, head_guard=0.1)
    assert take(limiter, [T0 + 5, T0 + 5]) == 2
    wait = limiter.acquire("ws", now=T0 + 10.05)  # our clock may be ahead of Intercom's
    assert wait == pytest.approx(0.05, abs=0.01)


def test_the_window_phase_is_learned_from_the_reset_header(make_limiter):
    limiter = make_limiter(default_limit=4, head_guard=0, tail_guard=0)
    for _ in range(2):  # adopted once two responses agree
        limiter.observe("ws", headers(limit=4, remaining=4, reset=T0 + 15), now=T0 + 6)
    # The server's window is [T0+5, T0+15): calls at +8 and +12 share it, +16 is in the next one.
    assert take(limiter, [T0 + 8, T0 + 8, T0 + 12, T0 + 12, T0 + 12]) == 4
    assert take(limiter, [T0 + 16]) == 1


def test_a_phase_change_carries_over_calls_already_counted(make_limiter):
    limiter = make_limiter(default_limit=4, head_guard=0, tail_guard=0)
    assert take(limiter, [T0 + 2] * 4) == 4  # window [T0, T0+10) under the default alignment
    for _ in range(2):
        limiter.observe("ws", headers(limit=4, remaining=4, reset=T0 + 15), now=T0 + 6)
    assert take(limiter, [T0 + 7]) == 0  # those 4 may be in the server's [T0+5, T0+15) window


def test_odd_headers_are_ignored(make_limiter):
    limiter = make_limiter(default_limit=3)
    limiter.observe("ws", {"X-RateLimit-Limit": "lots", "X-RateLimit-Reset": "2026-01-01T00:00Z"}, now=T0)
    limiter.observe("ws", {}, now=T0)
    assert limiter.limit_for("ws") == 3
    assert take(limiter, [T0 + 1] * 5) == 3


# --------------------------------------------------------------------------------------------------------
# Many workers
# --------------------------------------------------------------------------------------------------------

SPEED = 5.0  # simulated seconds per real second in the concurrency tests (a 10-s window is 2 s real, so
# a scheduling stall of a loaded 2-core machine costs a few calls, not a quarter of a window)


def _hammer(redis_kwargs, prefix, limit, start_real, start_sim, sim_seconds, threads, seed):
    """Threads acquiring as fast as allowed; returns simulated arrival times of the calls let through."""
    client = redis.Redis(**redis_kwargs)
    limiter = WorkspaceRateLimiter(client, prefix, default_limit=limit)
    arrivals, lock = [], threading.Lock()

    def clock():
        return start_sim + (time.time() - start_real) * SPEED

    def worker(n):
        rnd = random.Random(seed * 1000 + n)
        while (now := clock()) < start_sim + sim_seconds:
            wait = limiter.acquire("ws", now=now)
            if wait == 0:
                with lock:
                    arrivals.append(now + rnd.uniform(0.0, 0.3))  # counted when it reaches Intercom
                time.sleep(rnd.uniform(0.15, 0.25) / SPEED)  # the call itself
            else:
                time.sleep(wait / SPEED)

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return arrivals


def _per_window(arrivals, window=10):
    return collections.Counter(int(t // window) for t in arrivals)


def _redis_kwargs(client):
    kwargs = client.connection_pool.connection_kwargs
    return {"host": kwargs.get("host", "127.0.0.1"), "port": kwargs.get("port", 6379), "db": kwargs.get("db", 0)}


def test_many_threads_never_exceed_the_limit_in_any_window(make_limiter, redis_client):
    limiter = make_limiter()
    start_sim = T0 + 7.3  # start late in a window so the edges are exercised
    arrivals = _hammer(_redis_kwargs(redis_client), limiter.key_prefix, 40, time.time(), start_sim, 45, 24, 1)
    counts = _per_window(arrivals)
    assert max(counts.values()) <= 40, counts
    full = [c for w, c in counts.items() if w * 10 >= start_sim and (w + 1) * 10 <= start_sim + 45]
    assert full and min(full) >= 36, counts  # the limit is used, not wasted


def test_two_processes_share_one_limit(make_limiter, redis_client):
    limiter = make_limiter()
    args = (_redis_kwargs(redis_client), limiter.key_prefix, 30, time.time() + 1.0, T0 + 4.0, 35, 8)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        results = pool.starmap(_hammer, [(*args, 1), (*args, 2)])
    assert all(results), "both processes got calls through"
    counts = _per_window(results[0] + results[1])
    assert max(counts.values()) <= 30, counts
    assert sum(counts.values()) >= 3 * 30, counts


def test_the_benchmark_load_finishes_close_to_the_floor_without_a_single_429(make_limiter):
    """10,000 calls at 1,666 per 10 s by 48 workers, ~200 ms per call, simulated with injected time."""
    limiter = make_limiter(default_limit=166)
    rnd = random.Random(7)
    limit, calls, start = 1666, 10_000, T0 + 3.7
    ready = [(start + rnd.random() * 0.05, n) for n in range(48)]
    heapq.heapify(ready)
    responses = []  # (time, headers) the workers will observe
    arrivals = collections.Counter()
    sent, last_done = 0, start
    while sent < calls:
        now, n = heapq.heappop(ready)
        while responses and responses[0][0] <= now:
            at, _, hdrs = heapq.heappop(responses)
            limiter.observe("ws", hdrs, now=at)
        wait = limiter.acquire("ws", now=now)
        if wait:
            heapq.heappush(ready, (now + wait, n))
            continue
        sent += 1
        arrived = now + rnd.uniform(0.005, 0.25)
        window = int(arrived // 10)
        arrivals[window] += 1
        done = arrived + rnd.uniform(0.05, 0.15)
        heapq.heappush(responses, (done, sent, headers(limit, max(0, limit - arrivals[window]), (window + 1) * 10)))
        heapq.heappush(ready, (done, n))
        last_done = max(last_done, done)
    floor = calls / limit * 10
    assert max(arrivals.values()) <= limit, arrivals
    assert last_done - start <= 1.1 * floor + 10


def test_real_time_acquisition_keeps_to_the_limit(make_limiter):
    """The one real-time test: Redis's clock, 1-second windows, 6 threads for about 2.5 s."""
    limiter = make_limiter(default_limit=10, window_seconds=1.0, head_guard=0.02, tail_guard=0.2)
    arrivals, lock = [], threading.Lock()
    stop_at = time.time() + 2.5

    def worker():
        while time.time() < stop_at:
            wait = limiter.acquire("ws")
            if wait == 0:
                with lock:
                    arrivals.append(time.time())
                time.sleep(0.02)
            else:
                assert 0 < wait <= 1.0 + limiter.head_guard
                time.sleep(wait)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    counts = _per_window(arrivals, window=1)
    assert max(counts.values()) <= 10, counts
    assert sum(counts.values()) >= 20, counts


def test_a_caller_with_a_reserve_leaves_that_headroom_to_callers_without_one(make_limiter):
    limiter = make_limiter(default_limit=10, head_guard=0.0, tail_guard=0.0)
    t = T0 + 1
    reads = sum(limiter.acquire("ws", now=t, reserve=3) == 0 for _ in range(10))
    assert reads == 7  # reads stop with three slots of the window left
    notes = sum(limiter.acquire("ws", now=t) == 0 for _ in range(10))
    assert notes == 3  # which notes still get
    assert 0 < limiter.acquire("ws", now=t, reserve=3) <= 10  # reads wait for the next window
    assert limiter.acquire("ws", now=T0 + 10.5, reserve=3) == 0


def test_a_batch_gets_in_one_call_the_slots_that_many_single_calls_would(make_limiter):
    limiter = make_limiter(default_limit=5, head_guard=0.1, tail_guard=1.0)
    # "a" asks for batches, "b" one slot at a time, at the same moments: mid-window, in the tail guard
    # (charged to the next window too), at the start of the next window, and after a 429's block.
    for now, wanted in [(T0 + 3, 3), (T0 + 3.5, 4), (T0 + 9.5, 2), (T0 + 10.2, 5), (T0 + 25, 2)]:
        if now == T0 + 25:
            limiter.block_until("a", T0 + 26)
            limiter.block_until("b", T0 + 26)
        batch = limiter.acquire_many("a", wanted, now=now)
        singles, wait = 0, 0.0
        while singles < wanted and (wait := limiter.acquire("b", now=now)) == 0:
            singles += 1
        assert batch == (singles, pytest.approx(wait if singles < wanted else 0.0, abs=1e-6)), now
