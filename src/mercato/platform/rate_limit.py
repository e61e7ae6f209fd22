"""Fixed-window counters in Redis: what the sign-in throttle and the gateway's rate limits count with.

Counting and checking are one atomic step: each call reserves a place on every counter it names (INCR,
and EXPIRE for a new counter, in one Lua script: one round trip, and a crash can never leave a counter
without expiry, which would refuse its key for good). The caller compares the counts with its limits,
so a burst of concurrent requests cannot all pass a "below the limit?" check before any of them counted.

If Redis is unreachable the counters FAIL OPEN (`hit` answers None and logs a warning): a Redis outage
must not turn into nobody being able to sign in, create a cart or check out.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from redis.asyncio import Redis
from redis.exceptions import RedisError

from mercato.platform.errors import ClientError

log = logging.getLogger(__name__)

# KEYS: the counters; ARGV[1]: the window in seconds. Returns each counter after the increment.
# The TTL check (rather than "count == 1") also repairs a counter that somehow lost its expiry.
_HIT = """
local counts = {}
for i, key in ipairs(KEYS) do
  counts[i] = redis.call('INCR', key)
  if redis.call('TTL', key) < 0 then
    redis.call('EXPIRE', key, ARGV[1])
  end
end
return counts
"""

# What a Redis outage looks like from redis-py: its own errors, or the socket's.
UNREACHABLE = (RedisError, OSError, TimeoutError)


class FixedWindow:
    """Counters of one kind of attempt under `<namespace>:<kind>:`, each reset `window_seconds` after
    its first hit."""

    def __init__(
        self, redis: Redis, namespace: str, kind: str, *, window_seconds: int, label: str = "rate limit"
    ) -> None:
        self.redis = redis
        self.label = label  # what an outage warning names
        self.prefix = f"{namespace}:{kind}:"
        self.window_seconds = window_seconds
        self._hit = redis.register_script(_HIT)

    def key(self, *parts: str) -> str:
        # Bounded: a key part comes from the client (an address from X-Forwarded-For).
        return self.prefix + ":".join(p[:64] for p in parts)

    async def hit(self, keys: Sequence[str]) -> list[int] | None:
        """Count one attempt on each of `keys`; their counts including it, or None if Redis is down."""
        try:
            counts = await self._hit(keys=list(keys), args=[self.window_seconds])
        except UNREACHABLE as exc:
            log.warning("%s unavailable (%r); allowing the attempt unthrottled", self.label, exc)
            return None
        return [int(c) for c in counts]


class RateLimited(ClientError):
    """Too many attempts from one client in the window; a mutation reports it as its own
    `TOO_MANY_ATTEMPTS` (the code the sign-in throttle answers with)."""

    def __init__(self, what: str, retry_after_seconds: int) -> None:
        super().__init__(
            f"too many {what}; try again in {retry_after_seconds} s or less", code="TOO_MANY_ATTEMPTS"
        )
        self.retry_after_seconds = retry_after_seconds
