"""One rate limiter per Intercom workspace, shared by every worker thread and process through Redis.

Intercom counts REST calls per workspace in fixed 10-second windows and answers 429 past the limit; the
headers say the limit (`X-RateLimit-Limit`), what is left (`X-RateLimit-Remaining`) and when the window
ends (`X-RateLimit-Reset`, unix seconds).

How it works, and why:

- We mirror Intercom's windows: one Redis counter per window, windows `[phase + k·W, phase + (k+1)·W)`.
  The phase is learned from `X-RateLimit-Reset` (reset mod W), the limit from `X-RateLimit-Limit`. Until a
  header is seen we use a conservative default limit and windows aligned to unix multiples of W.
- `acquire` is one Lua script, so checking and taking a slot is atomic across all workers; `acquire_many`
  takes the slots for a batch of calls in one round trip, exactly as that many `acquire`s would.
- Intercom counts a call when it *arrives*, which is a little after we took the slot (Redis round trip,
  thread scheduling, TLS, network). A call taken near the end of window k may therefore be counted in
  k+1. Instead of refusing calls near the end (a guard band wastes throughput whenever we are not
  saturated) a call taken in the last `tail_guard` seconds of a window is charged to *both* windows, so
  whichever window it lands in has already counted it. Under saturation the budget of a window is used up
  well before its end and nothing is charged twice; when not saturated the double charge costs nothing
  that was needed. The same in reverse for clock skew: a call in the first `head_guard` seconds of a window
  is also charged to the previous one, so it is safe even if our clock runs slightly ahead of Intercom's.
  Under saturation that makes the first `head_guard` seconds of each window unusable, which is why it is
  small (0.1 s = 1 % of a window).
- After a 429 `block_until` holds every caller until the reset the server named.
- `X-RateLimit-Remaining` lets us catch up with calls we did not make (other apps on the workspace): the
  counter of the window it describes is raised to `limit - remaining` if that is higher.
- Time comes from Redis (`TIME`) unless `now` is passed, so all workers share one clock.
- All keys of a workspace share a hash tag (`{workspace}`), so the script also works on Redis Cluster.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["DEFAULT_LIMIT", "WINDOW_SECONDS", "WorkspaceRateLimiter"]

WINDOW_SECONDS = 10.0
DEFAULT_LIMIT = 166  # per window until headers say otherwise: 1 000/min, Intercom's lowest plan

# Shared by both scripts: the counter key of the window starting at `start` (milliseconds, so a
# fractional phase still gives a stable name).
_LUA_HELPERS = """
local function wkey(prefix, start) return prefix .. string.format('%d', math.floor(start * 1000 + 0.5)) end
local function count(prefix, start) return tonumber(redis.call('GET', wkey(prefix, start)) or '0') end
-- A wait is never reported as 0 ("0" means the slot was taken), and it is rounded up by 1 ms: at unix-time
-- magnitudes a double difference is off by ~1e-7 s, and a caller who sleeps exactly the wait must land
-- after the edge, not just before it.
local function wait(seconds) return tostring(math.max(seconds, 0) + 0.001) end
local function clock(arg)
  local now = tonumber(arg)
  if now then return now end
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end
"""

# KEYS[1] config hash, KEYS[2] window key prefix.
# ARGV: now ('' = Redis TIME), default limit, cap (0 = none), window, head guard, tail guard, reserve.
# `reserve` slots of each window stay free for callers that ask with none (notes before reads).
# Returns '0' when the slot was taken, else the seconds to wait (a string: Lua numbers become integers).
_ACQUIRE = _LUA_HELPERS + """
local now = clock(ARGV[1])
local cfg = redis.call('HMGET', KEYS[1], 'limit', 'phase', 'blocked_until')
local limit = tonumber(cfg[1]) or tonumber(ARGV[2])
local cap = tonumber(ARGV[3])
if cap > 0 and cap < limit then limit = cap end
limit = limit - math.min(tonumber(ARGV[7]) or 0, limit - 1)
local blocked = tonumber(cfg[3]) or 0
if now < blocked then return wait(blocked - now) end
local period, head, tail = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local phase = tonumber(cfg[2]) or 0
local start = phase + math.floor((now - phase) / period) * period
if count(KEYS[2], start) >= limit then return wait(start + period + head - now) end
local charged = {start}
if now - start < head then
  if count(KEYS[2], start - period) >= limit then return wait(start + head - now) end
  table.insert(charged, start - period)
end
if start + period - now < tail then
  if count(KEYS[2], start + period) >= limit then return wait(start + 2 * period + head - now) end
  table.insert(charged, start + period)
end
for _, s in ipairs(charged) do
  local k = wkey(KEYS[2], s)
  redis.call('INCR', k)
  redis.call('EXPIRE', k, math.ceil(period * 3) + 1)
end
return '0'
"""

# As _ACQUIRE, for up to ARGV[7] slots at once: the same slots as that many calls of _ACQUIRE at this moment,
# in one round trip. Returns {slots taken, seconds to wait for the next one ('0' when all were taken)}.
_ACQUIRE_MANY = _LUA_HELPERS + """
local now = clock(ARGV[1])
local cfg = redis.call('HMGET', KEYS[1], 'limit', 'phase', 'blocked_until')
local limit = tonumber(cfg[1]) or tonumber(ARGV[2])
local cap = tonumber(ARGV[3])
if cap > 0 and cap < limit then limit = cap end
local blocked = tonumber(cfg[3]) or 0
if now < blocked then return {'0', wait(blocked - now)} end
local period, head, tail = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local wanted = tonumber(ARGV[7])
local phase = tonumber(cfg[2]) or 0
local start = phase + math.floor((now - phase) / period) * period
-- Each window a call would be charged to bounds how many can go now; the tightest one says when more can.
local free, next_at = limit - count(KEYS[2], start), start + period + head
local charged = {start}
if now - start < head then
  local f = limit - count(KEYS[2], start - period)
  if f < free then free, next_at = f, start + head end
  table.insert(charged, start - period)
end
if start + period - now < tail then
  local f = limit - count(KEYS[2], start + period)
  if f < free then free, next_at = f, start + 2 * period + head end
  table.insert(charged, start + period)
end
local taken = math.max(0, math.min(free, wanted))
if taken > 0 then
  for _, s in ipairs(charged) do
    local k = wkey(KEYS[2], s)
    redis.call('INCRBY', k, taken)
    redis.call('EXPIRE', k, math.ceil(period * 3) + 1)
  end
end
if taken == wanted then return {tostring(taken), '0'} end
return {tostring(taken), wait(next_at - now)}
"""

# KEYS[1] config hash, KEYS[2] window key prefix.
# ARGV: now ('' = Redis TIME), limit, reset, remaining ('' = absent), window, config ttl.
_OBSERVE = _LUA_HELPERS + """
local now = clock(ARGV[1])
local limit, reset, remaining = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local period, ttl = tonumber(ARGV[5]), tonumber(ARGV[6])
local function raise(start, value)
  local k = wkey(KEYS[2], start)
  if count(KEYS[2], start) < value then
    redis.call('SET', k, value, 'EX', math.ceil(period * 3) + 1)
  end
end
if limit and limit >= 1 then redis.call('HSET', KEYS[1], 'limit', limit) end
if reset and math.abs(reset - now) <= 3 * period then
  local new_phase = reset % period
  local old_phase = tonumber(redis.call('HGET', KEYS[1], 'phase')) or 0
  local diff = math.abs(new_phase - old_phase)
  if math.min(diff, period - diff) > 0.001 then
    -- Adopt a new phase only when two responses in a row agree, so one odd header cannot move it.
    local candidate = tonumber(redis.call('HGET', KEYS[1], 'phase_candidate'))
    if candidate and math.abs(candidate - new_phase) <= 0.001 then
      -- Carry the calls counted under the old windows into the new current and next windows, taking
      -- every old window that overlaps a new one (over-counts once, never under-counts).
      local function old_start(t) return old_phase + math.floor((t - old_phase) / period) * period end
      local cur = new_phase + math.floor((now - new_phase) / period) * period
      for _, s in ipairs({cur, cur + period}) do
        local a, b = old_start(s), old_start(s + period - 0.001)
        local carried = count(KEYS[2], a)
        if b ~= a then carried = carried + count(KEYS[2], b) end
        raise(s, carried)
      end
      redis.call('HSET', KEYS[1], 'phase', new_phase)
      redis.call('HDEL', KEYS[1], 'phase_candidate')
    else
      redis.call('HSET', KEYS[1], 'phase_candidate', new_phase)
    end
  else
    redis.call('HDEL', KEYS[1], 'phase_candidate')
    if limit and remaining and remaining >= 0 and remaining <= limit then
      -- The window ending at `reset` has seen at least limit - remaining calls, ours or not.
      raise(reset - period, limit - remaining)
    end
  end
end
redis.call('EXPIRE', KEYS[1], ttl)
return 1
"""

# KEYS[1] config hash. ARGV: blocked-until timestamp, config ttl. Only ever moves the block later.
_BLOCK = """
local current = tonumber(redis.call('HGET', KEYS[1], 'blocked_until')) or 0
if tonumber(ARGV[1]) > current then redis.call('HSET', KEYS[1], 'blocked_until', ARGV[1]) end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1
"""


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    try:
        items = headers.items()
    except AttributeError:
        return None
    for key, value in items:
        if isinstance(key, str) and key.lower() == lowered:
            return value
    return None


def _number(value: Any) -> float | None:
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None  # no NaN / inf


class WorkspaceRateLimiter:
    """Global per-workspace limiter for Intercom REST calls. See the module docstring for the design."""

    def __init__(
        self,
        redis_client: Any,
        key_prefix: str = "rl",
        *,
        default_limit: int = DEFAULT_LIMIT,
        cap: int | None = None,
        window_seconds: float = WINDOW_SECONDS,
        head_guard: float = 0.1,
        tail_guard: float = 1.0,
        config_ttl: int = 86_400,
    ) -> None:
        if default_limit < 1:
            raise ValueError("default_limit must be at least 1")
        if cap is not None and cap < 1:
            raise ValueError("cap must be at least 1 when given")
        if not 0 <= head_guard < window_seconds / 2 or not 0 <= tail_guard < window_seconds / 2:
            raise ValueError("guards must be shorter than half a window")
        self.redis = redis_client
        self.key_prefix = key_prefix
        self.default_limit = default_limit
        self.cap = cap
        self.window_seconds = float(window_seconds)
        self.head_guard = float(head_guard)
        self.tail_guard = float(tail_guard)
        self.config_ttl = int(config_ttl)
        self._acquire = redis_client.register_script(_ACQUIRE)
        self._acquire_many = redis_client.register_script(_ACQUIRE_MANY)
        self._observe = redis_client.register_script(_OBSERVE)
        self._block = redis_client.register_script(_BLOCK)

    def _keys(self, workspace_id: str) -> list[str]:
        base = f"{self.key_prefix}:{{{workspace_id}}}"
        return [f"{base}:cfg", f"{base}:w:"]

    @staticmethod
    def _now_arg(now: float | None) -> str:
        return "" if now is None else repr(float(now))

    def acquire(self, workspace_id: str, *, now: float | None = None, reserve: int = 0) -> float:
        """Take a slot for one call: 0.0 when it may go now, else seconds to wait before asking again.

        With `reserve`, the slot is only taken while more than `reserve` slots of the window are left, so
        lower-priority calls (reads) leave that headroom to the others (notes); one slot always remains usable.
        """
        result = self._acquire(
            keys=self._keys(workspace_id),
            args=[self._now_arg(now), self.default_limit, self.cap or 0, repr(self.window_seconds),
                  repr(self.head_guard), repr(self.tail_guard), int(reserve)],
        )
        return 0.0 if result in ("0", b"0") else float(result)

    def acquire_many(self, workspace_id: str, wanted: int, *, now: float | None = None) -> tuple[int, float]:
        """Take up to `wanted` slots in one round trip: (slots taken, seconds to wait before asking for more;
        0.0 when all were taken)."""
        if wanted < 1:
            return 0, 0.0
        taken, wait = self._acquire_many(
            keys=self._keys(workspace_id),
            args=[self._now_arg(now), self.default_limit, self.cap or 0, repr(self.window_seconds),
                  repr(self.head_guard), repr(self.tail_guard), int(wanted)],
        )
        return int(taken), float(wait)

    def acquire_blocking(
        self,
        workspace_id: str,
        *,
        max_wait: float,
        sleep: Callable[[float], None] = time.sleep,
    ) -> bool:
        """Wait for a slot up to max_wait seconds in total. False means: reschedule the call instead."""
        deadline = time.monotonic() + max_wait
        while True:
            wait = self.acquire(workspace_id)
            if wait == 0:
                return True
            if time.monotonic() + wait > deadline:
                return False
            sleep(wait)

    def observe(self, workspace_id: str, headers: Mapping[str, str], *, now: float | None = None) -> None:
        """Learn the limit and the window phase from a response's X-RateLimit-* headers."""
        limit = _number(_header(headers, "X-RateLimit-Limit"))
        reset = _number(_header(headers, "X-RateLimit-Reset"))
        remaining = _number(_header(headers, "X-RateLimit-Remaining"))
        if limit is None and reset is None:
            return
        self._observe(
            keys=self._keys(workspace_id),
            args=[self._now_arg(now), "" if limit is None else int(limit), "" if reset is None else repr(reset),
                  "" if remaining is None else int(remaining), repr(self.window_seconds), self.config_ttl],
        )

    def block_until(self, workspace_id: str, reset_at: float) -> None:
        """After a 429: nobody calls this workspace before reset_at (plus the head guard)."""
        value = _number(reset_at)
        if value is None:
            return
        self._block(keys=self._keys(workspace_id)[:1], args=[repr(value + self.head_guard), self.config_ttl])

    def limit_for(self, workspace_id: str) -> int:
        """The limit in force: learned from headers (or the default), never above the configured cap."""
        raw = self.redis.hget(self._keys(workspace_id)[0], "limit")
        limit = int(float(raw)) if raw is not None else self.default_limit
        return min(limit, self.cap) if self.cap else limit

    def reset(self, workspace_id: str) -> None:
        """Forget what was learned about a workspace (e.g. after it was reconnected)."""
        cfg, prefix = self._keys(workspace_id)
        keys = [cfg, *self.redis.scan_iter(match=prefix.replace("[", "\\[") + "*", count=500)]
        self.redis.delete(*keys)
