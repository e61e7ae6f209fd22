"""Token stamps (an account's token version and active flag, `domain.tokens.token_stamp`), as every
authenticated request checks them: three tiers so the check costs next to nothing.

1. This process's memory, for `local_ttl` seconds (a few): most requests stop here, no I/O at all.
2. Redis, `<namespace>:customers:token_stamp:<account id>`, shared by every process: one GET.
3. PostgreSQL on a miss of both; the row's stamp is then put in Redis for `redis_ttl` seconds.

A change writes the new stamp to Redis right after its commit and drops the local entry, so this
process sees it at once and every other one within `local_ttl`. Writes keep the larger stamp (a Lua
script): stamps only grow, so a reader that loaded an older row from the database before the change
committed cannot put it back over the newer one. Should that write fail (Redis down), the stale key
lives at most `redis_ttl`, after which the database is read again.

Redis unreachable: the database answers instead (still cached locally), so an outage costs
one small SELECT per account per `local_ttl`, never a refused request.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]  # adapters may not import the service layer's alias

# KEYS[1]: the stamp; ARGV[1]: a stamp; ARGV[2]: its TTL in seconds. Keeps the larger stamp.
_KEEP_MAX = """
local current = redis.call('GET', KEYS[1])
if (not current) or tonumber(current) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
end
return 1
"""

_UNREACHABLE = (RedisError, OSError, TimeoutError)
# Beyond this many accounts the local tier starts over: bounded memory, and a full cache is rebuilt
# from Redis in one GET per account.
_LOCAL_MAX = 50_000


class RedisTokenVersions:
    def __init__(
        self,
        redis: Redis,
        namespace: str,
        load: Callable[[uuid.UUID], Awaitable[int | None]],
        clock: Clock,
        *,
        local_ttl: float,
        redis_ttl: int = 60,
    ) -> None:
        self.redis = redis
        self.prefix = f"{namespace}:customers:token_stamp:"
        self.load = load
        self.clock = clock
        self.local_ttl = local_ttl
        self.redis_ttl = redis_ttl
        self._local: dict[uuid.UUID, tuple[int, float]] = {}
        self._keep_max = redis.register_script(_KEEP_MAX)

    def key(self, account_id: uuid.UUID) -> str:
        return f"{self.prefix}{account_id}"

    async def current(self, account_id: uuid.UUID) -> int | None:
        now = self.clock().timestamp()
        cached = self._local.get(account_id)
        if cached is not None and cached[1] > now:
            return cached[0]
        stamp = await self._shared(account_id)
        if stamp is not None and self.local_ttl > 0:
            if len(self._local) >= _LOCAL_MAX:
                self._local.clear()
            self._local[account_id] = (stamp, now + self.local_ttl)
        return stamp

    async def _shared(self, account_id: uuid.UUID) -> int | None:
        try:
            found = await self.redis.get(self.key(account_id))
        except _UNREACHABLE as exc:
            log.warning("token stamps unavailable in Redis (%r); reading the database", exc)
            return await self.load(account_id)
        if found is not None:
            return int(found)
        stamp = await self.load(account_id)
        if stamp is not None:
            await self._put(account_id, stamp)
        return stamp

    async def changed(self, account_id: uuid.UUID, stamp: int) -> None:
        self._local.pop(account_id, None)
        await self._put(account_id, stamp)

    async def _put(self, account_id: uuid.UUID, stamp: int) -> None:
        try:
            await self._keep_max(keys=[self.key(account_id)], args=[stamp, self.redis_ttl])
        except _UNREACHABLE as exc:
            log.warning("token stamps unavailable in Redis (%r); not cached", exc)
