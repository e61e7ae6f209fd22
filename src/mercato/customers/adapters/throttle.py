"""Sign-in throttling: fixed-window attempt counters in Redis, per account and per IP.

Keys: `<namespace>:throttle:account:<sha256 of the email>` and `<namespace>:throttle:ip:<ip>`
(hashing keeps email addresses out of Redis and bounds the key length). Each attempt INCRements
both counters and gives a new counter its window with EXPIRE, atomically in one Lua script (one
round trip; a crash can never leave a counter without expiry, which would lock an account for good).
Every process shares the counters, so the limits hold across the whole deployment.

If Redis is unreachable the throttle FAILS OPEN: the attempt is allowed and a warning logged.
Failing closed would turn a Redis outage into nobody being able to sign in, while the password
check still protects every account and argon2's cost still slows guessing down; an outage long
enough to matter for brute force shows up in monitoring.
"""

from __future__ import annotations

import hashlib
import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# KEYS: the counters; ARGV[1]: the window in seconds. Returns each counter after the increment.
# The TTL check (rather than "count == 1") also repairs a counter that somehow lost its expiry.
_ATTEMPT = """
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
_UNREACHABLE = (RedisError, OSError, TimeoutError)


class RedisLoginThrottle:
    def __init__(
        self,
        redis: Redis,
        namespace: str,
        *,
        per_account: int,
        per_ip: int,
        window_seconds: int,
    ) -> None:
        self.redis = redis
        self.prefix = f"{namespace}:throttle:"
        self.per_account = per_account
        self.per_ip = per_ip
        self.window_seconds = window_seconds
        self._attempt = redis.register_script(_ATTEMPT)

    def account_key(self, email: str) -> str:
        return f"{self.prefix}account:{hashlib.sha256(email.encode('utf-8')).hexdigest()}"

    def ip_key(self, ip: str) -> str:
        return f"{self.prefix}ip:{ip[:64]}"

    async def attempt(self, email: str, ip: str | None) -> bool:
        keys = [self.account_key(email)] if ip is None else [self.account_key(email), self.ip_key(ip)]
        try:
            counts = await self._attempt(keys=keys, args=[self.window_seconds])
        except _UNREACHABLE as exc:
            log.warning("sign-in throttle unavailable (%r); allowing the attempt unthrottled", exc)
            return True
        if int(counts[0]) > self.per_account:
            return False
        return ip is None or int(counts[1]) <= self.per_ip

    async def succeeded(self, email: str) -> None:
        try:
            await self.redis.delete(self.account_key(email))
        except _UNREACHABLE as exc:
            log.warning("sign-in throttle unavailable (%r); account counter not reset", exc)
