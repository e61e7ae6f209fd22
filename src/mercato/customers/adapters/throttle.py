"""Sign-in throttling: fixed-window counters of *failed* attempts in Redis, per account and per IP.

Keys: `<namespace>:throttle:account:<sha256 of the email>` and `<namespace>:throttle:ip:<ip>`
(hashing keeps email addresses out of Redis and bounds the key length).

Only failures count, so a busy address (a shop's office, a carrier NAT) can sign in correctly as
often as it likes. Checking and counting are still one atomic step, or a burst of concurrent guesses
would all pass a "below the limit?" check before any of them counted: each attempt *reserves* a
place on both counters (the shared fixed-window count of `platform.rate_limit`: INCR, and EXPIRE for a
new counter, in one Lua script, so a crash can never leave a counter without expiry). A sign-in
that succeeds gives its place back: the account's counter is deleted (a correct password proves
the owner) and the IP's is decremented (one good password must not wipe the counter of an address
trying many accounts). So at rest both counters hold failures only, and in flight they hold
failures plus attempts not yet settled.

If Redis is unreachable the throttle FAILS OPEN: the attempt is allowed and a warning logged.
Failing closed would turn a Redis outage into nobody being able to sign in, while the password
check still protects every account and argon2's cost still slows guessing down; an outage long
enough to matter for brute force shows up in monitoring.
"""

from __future__ import annotations

import hashlib
import logging

from redis.asyncio import Redis

from mercato.platform.rate_limit import UNREACHABLE, FixedWindow

log = logging.getLogger(__name__)

# KEYS[1]: the account counter (deleted); KEYS[2], if given: the IP counter, given back one place.
# A counter whose window ended meanwhile is not recreated (DECR on a missing key would make it -1).
_SUCCEEDED = """
redis.call('DEL', KEYS[1])
if KEYS[2] and redis.call('GET', KEYS[2]) then
  if redis.call('DECR', KEYS[2]) <= 0 then
    redis.call('DEL', KEYS[2])
  end
end
return 1
"""


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
        # The reservation is the shared fixed-window count (platform.rate_limit); giving a place back
        # on success is this throttle's own.
        self.window = FixedWindow(
            redis, namespace, "throttle", window_seconds=window_seconds, label="sign-in throttle"
        )
        self.prefix = self.window.prefix
        self.per_account = per_account
        self.per_ip = per_ip
        self.window_seconds = window_seconds
        self._succeeded = redis.register_script(_SUCCEEDED)

    def account_key(self, email: str) -> str:
        return self.window.key("account", hashlib.sha256(email.encode("utf-8")).hexdigest())

    def ip_key(self, ip: str) -> str:
        return self.window.key("ip", ip)

    def _keys(self, email: str, ip: str | None) -> list[str]:
        return [self.account_key(email)] if ip is None else [self.account_key(email), self.ip_key(ip)]

    async def attempt(self, email: str, ip: str | None) -> bool:
        counts = await self.window.hit(self._keys(email, ip))
        if counts is None:
            return True  # Redis is down: fail open (logged by the counter)
        if int(counts[0]) > self.per_account:
            return False
        return ip is None or int(counts[1]) <= self.per_ip

    async def succeeded(self, email: str, ip: str | None) -> None:
        try:
            await self._succeeded(keys=self._keys(email, ip), args=[])
        except UNREACHABLE as exc:
            log.warning("sign-in throttle unavailable (%r); the attempt stays counted", exc)
