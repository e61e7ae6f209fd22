"""Cache-aside on real Redis: one load per miss under a stampede, and no failure when Redis is down."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from mercato.platform.cache import Cache
from tests.conftest import ref


async def test_a_stampede_on_a_cold_key_loads_once(redis: Redis, namespace: str) -> None:
    cache = Cache(redis, namespace)
    loads = 0

    async def load() -> bytes:
        nonlocal loads
        loads += 1
        await asyncio.sleep(0.05)  # a slow query: every caller arrives while it runs
        return b"page"

    key = cache.key("test", ref())
    results = await asyncio.gather(*(cache.get_or_load(key, load, bytes, bytes) for _ in range(50)))
    assert results == [b"page"] * 50
    assert loads == 1
    assert await redis.get(key) == b"page"


async def test_processes_sharing_redis_wait_for_the_one_loader(redis: Redis, namespace: str) -> None:
    # Two Cache objects stand for two processes: their in-process single-flight cannot see each other,
    # so only the Redis lock keeps the second from loading too.
    first, second = Cache(redis, namespace), Cache(redis, namespace)
    loads = 0

    async def load() -> bytes:
        nonlocal loads
        loads += 1
        await asyncio.sleep(0.1)
        return b"page"

    key = first.key("test", ref())
    results = await asyncio.gather(
        first.get_or_load(key, load, bytes, bytes), second.get_or_load(key, load, bytes, bytes)
    )
    assert results == [b"page", b"page"]
    assert loads == 1


async def test_bumping_the_generation_drops_every_dependent_entry(redis: Redis, namespace: str) -> None:
    cache = Cache(redis, namespace)
    generation = cache.key("test-gen", ref())
    version = 0

    async def load() -> bytes:
        return str(version).encode()

    keys = [cache.key("test", ref()) for _ in range(3)]
    assert [await cache.get_or_load_versioned(generation, k, load, bytes, bytes) for k in keys] == [b"0"] * 3
    version = 1
    assert [await cache.get_or_load_versioned(generation, k, load, bytes, bytes) for k in keys] == [b"0"] * 3
    await cache.bump(generation)
    assert [await cache.get_or_load_versioned(generation, k, load, bytes, bytes) for k in keys] == [b"1"] * 3


async def test_an_unreachable_redis_degrades_to_the_source(namespace: str) -> None:
    dead = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 1))
    cache = Cache(dead, namespace)

    async def load() -> bytes:
        return b"from the database"

    try:
        assert await cache.get_or_load(cache.key("x"), load, bytes, bytes) == b"from the database"
        assert (
            await cache.get_or_load_versioned(cache.key("g"), cache.key("y"), load, bytes, bytes)
            == b"from the database"
        )
        await cache.bump(cache.key("g"))  # logged, not raised
        assert not cache._usable  # later requests skip Redis for a while instead of waiting on it
    finally:
        await dead.aclose()
