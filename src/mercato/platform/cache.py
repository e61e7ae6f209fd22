"""Redis cache-aside with stampede protection.

A miss is loaded once: concurrent misses in this process share one in-flight load, and across
processes a short Redis lock (SET NX PX) lets one loader fill the key while the others wait for it
briefly. Invalidation deletes keys or bumps a generation counter that is part of dependent keys; a
bump is also published, so processes that keep local copies of versioned entries (`local_cache`)
drop them at once. A Redis outage degrades to loading from the source of truth, never to an error.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError

from mercato.platform.local_cache import LocalCopies, watch

log = logging.getLogger(__name__)
T = TypeVar("T")

_LOCK_MS = 5_000
BYPASS_SECONDS = 5.0
_WAIT_STEP = 0.01
_WAIT_STEPS = 100

# One round trip: read a generation counter and the value stored under that generation.
_GET_VERSIONED = """
local gen = redis.call('GET', KEYS[1]) or '0'
return {gen, redis.call('GET', ARGV[1] .. ':g' .. gen)}
"""


class Cache:
    def __init__(
        self,
        redis: Redis,
        namespace: str,
        *,
        ttl_seconds: int = 300,
        enabled: bool = True,
        local_ttl_seconds: float = 0.0,
        local_max_bytes: int = 0,
    ) -> None:
        self.redis = redis
        self.prefix = f"{namespace}:cache:"
        self.ttl = ttl_seconds
        self.enabled = enabled
        # Local copies are kept only while `watch_invalidations` runs (and hears the bumps).
        self.local = LocalCopies(local_ttl_seconds, local_max_bytes)
        self.invalidations_channel = self.prefix + "invalidated"
        self._inflight: dict[str, asyncio.Future[Any]] = {}
        self._bypass_until = 0.0
        self._get_versioned = redis.register_script(_GET_VERSIONED)

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    @property
    def _usable(self) -> bool:
        # After a Redis failure, skip the cache for a while instead of paying a timeout per request.
        return self.enabled and time.monotonic() >= self._bypass_until

    def _broken(self, exc: RedisError, doing: str) -> None:
        self._bypass_until = time.monotonic() + BYPASS_SECONDS
        log.warning("cache %s failed (%s); serving from the source for %ss", doing, exc, BYPASS_SECONDS)

    async def get_or_load(
        self,
        key: str,
        loader: Callable[[], Awaitable[T]],
        encode: Callable[[T], bytes],
        decode: Callable[[bytes], T],
    ) -> T:
        if not self._usable:
            return await loader()
        try:
            raw = await self.redis.get(key)
        except RedisError as exc:
            self._broken(exc, "read")
            return await loader()
        if raw is not None:
            return decode(bytes(raw) if isinstance(raw, bytes) else raw.encode())
        return await self._single_flight(key, lambda: self._fill(key, loader, encode, decode))

    async def get_or_load_versioned(
        self,
        generation_key: str,
        key: str,
        loader: Callable[[], Awaitable[T]],
        encode: Callable[[T], bytes],
        decode: Callable[[bytes], T],
        *,
        store_if: Callable[[T], bool] | None = None,
    ) -> T:
        """Like `get_or_load` for a key that lives under the current value of `generation_key`.
        With `store_if`, a loaded value is kept only when it says so (e.g. not error responses)."""
        if not self._usable:
            return await loader()
        local = self.local
        if local.usable:
            copy = local.get(key)
            if copy is not None:
                return decode(copy)
        epoch = local.epoch
        try:
            generation, raw = await self._get_versioned(keys=[generation_key], args=[key])
        except RedisError as exc:
            self._broken(exc, "read")
            return await loader()
        if raw is not None:
            found = bytes(raw) if isinstance(raw, bytes) else raw.encode()
            local.put(key, found, epoch)
            return decode(found)
        gen = generation.decode() if isinstance(generation, bytes) else str(generation)
        full_key = f"{key}:g{gen}"
        return await self._single_flight(
            full_key, lambda: self._fill(full_key, loader, encode, decode, store_if)
        )

    async def _single_flight(self, key: str, fill: Callable[[], Awaitable[T]]) -> T:
        pending = self._inflight.get(key)
        if pending is not None:
            result: T = await asyncio.shield(pending)
            return result
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            value = await fill()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it themselves
            raise
        else:
            future.set_result(value)
            return value
        finally:
            self._inflight.pop(key, None)

    async def _fill(
        self,
        key: str,
        loader: Callable[[], Awaitable[T]],
        encode: Callable[[T], bytes],
        decode: Callable[[bytes], T],
        store_if: Callable[[T], bool] | None = None,
    ) -> T:
        lock_key = key + ":lock"
        try:
            got_lock = await self.redis.set(lock_key, b"1", nx=True, px=_LOCK_MS)
            if not got_lock:
                # Another process is loading: wait for its value, or stop waiting once its lock is gone
                # without a value (it decided not to store one).
                for _ in range(_WAIT_STEPS):
                    await asyncio.sleep(_WAIT_STEP)
                    raw, locked = await self.redis.mget(key, lock_key)
                    if raw is not None:
                        return decode(bytes(raw) if isinstance(raw, bytes) else raw.encode())
                    if locked is None:
                        break
            value = await loader()
            if store_if is None or store_if(value):
                await self.redis.set(key, encode(value), ex=self.ttl)
            if got_lock:
                await self.redis.delete(lock_key)
            return value
        except RedisError as exc:
            self._broken(exc, "fill")
            return await loader()

    async def delete(self, *keys: str) -> None:
        if not keys:
            return
        try:
            await self.redis.delete(*keys)
        except RedisError as exc:
            log.warning("cache invalidation failed (%s); entries expire after %ss", exc, self.ttl)

    async def bump(self, generation_key: str) -> None:
        """Invalidate every key stored under `generation_key` at once, here and in every process's
        local copies."""
        self.local.invalidate()
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.incr(generation_key)
                pipe.publish(self.invalidations_channel, generation_key)
                await pipe.execute()
        except RedisError as exc:
            log.warning("cache invalidation failed (%s); entries expire after %ss", exc, self.ttl)

    async def watch_invalidations(self) -> None:
        """Keep local copies of versioned entries while hearing the bumps; runs until cancelled.
        Without it (or with a zero local TTL) every read asks Redis."""
        if self.local.ttl > 0 and self.local.max_bytes > 0:
            await watch(self.redis, self.invalidations_channel, self.local)
