"""A process's own short-lived copies of versioned cache entries, dropped when a generation is bumped.

A cached listing answered from Redis costs one round trip per request; under load that round trip,
queued behind the other requests' on a shared pool, was most of the response time and much of its
tail. A copy here answers without it. It stays correct across processes because every generation
bump is also published on a Redis channel that each process listens to (`watch`): a bump empties
every copy at once, and while a process is not subscribed it keeps no copies at all. The TTL bounds
what a lost message could cost; the epoch keeps a read that raced a bump from storing what it read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

_RETRY_SECONDS = 1.0


class LocalCopies:
    """Raw entries by key, least recently used dropped first once over `max_bytes`."""

    def __init__(self, ttl_seconds: float, max_bytes: int) -> None:
        self.ttl = ttl_seconds
        self.max_bytes = max_bytes
        self.epoch = 0  # bumped by every invalidation
        self.listening = False  # copies are kept only while bumps are heard
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._bytes = 0

    @property
    def usable(self) -> bool:
        return self.listening and self.ttl > 0 and self.max_bytes > 0

    def get(self, key: str) -> bytes | None:
        found = self._entries.get(key)
        if found is None:
            return None
        expires, raw = found
        if expires < time.monotonic():
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return raw

    def put(self, key: str, raw: bytes, epoch: int) -> None:
        """Keep `raw`, read when the epoch was `epoch`, unless a bump came since."""
        if epoch != self.epoch or not self.usable or len(raw) > self.max_bytes:
            return
        self._drop(key)
        self._entries[key] = (time.monotonic() + self.ttl, raw)
        self._bytes += len(raw)
        while self._bytes > self.max_bytes:
            self._drop(next(iter(self._entries)))

    def invalidate(self) -> None:
        self.epoch += 1
        self._entries.clear()
        self._bytes = 0

    def _drop(self, key: str) -> None:
        found = self._entries.pop(key, None)
        if found is not None:
            self._bytes -= len(found[1])


async def watch(redis: Redis, channel: str, copies: LocalCopies) -> None:
    """Empty `copies` on every message of `channel`, until cancelled; keep none while unsubscribed."""
    while True:
        pubsub = redis.pubsub()
        try:
            await pubsub.subscribe(channel)
            # Keep copies only once Redis confirmed the subscription: a bump before it is not heard.
            confirmed = await pubsub.get_message(timeout=_RETRY_SECONDS * 5)
            if confirmed is None or confirmed["type"] != "subscribe":
                raise RedisError("no confirmation of the subscription")
            copies.invalidate()
            copies.listening = True
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=30.0)
                if message is not None:
                    copies.invalidate()
        except (RedisError, OSError) as exc:
            log.warning("cache invalidation channel lost (%s); no local copies until it is back", exc)
        finally:
            copies.listening = False
            copies.invalidate()
            with contextlib.suppress(RedisError, OSError):
                await asyncio.shield(pubsub.aclose())
        await asyncio.sleep(_RETRY_SECONDS)
