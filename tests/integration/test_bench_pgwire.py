"""The benchmark's counting proxy (bench/pgwire.py) between asyncpg and a real PostgreSQL: it runs in a
process of its own and counts exactly what a client sends, whatever the statement's size."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import asyncpg
import pytest
from bench.checkout_run import _via
from bench.pgwire import CountingProxy, WireCounts

from mercato.platform.engines import EngineUrls


@pytest.fixture
def proxy(engine_urls: EngineUrls) -> Iterator[CountingProxy]:
    parts = urlsplit(engine_urls.database)
    counting = CountingProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    counting.start()
    try:
        yield counting
    finally:
        counting.stop()


async def test_the_proxy_counts_statements_and_transactions_of_a_client(
    proxy: CountingProxy, engine_urls: EngineUrls
) -> None:
    url = _via(engine_urls.database, proxy.port).replace("postgresql+asyncpg://", "postgresql://", 1)
    conn = await asyncpg.connect(url, ssl=False)
    try:
        before = proxy.snapshot()
        for i in range(5):
            assert await conn.fetchval("SELECT $1::int", i) == i
        async with conn.transaction():
            await conn.fetchval("SELECT 1")
        big = "x" * 300_000  # spans many of the proxy's reads
        assert await conn.fetchval("SELECT length($1::text)", big) == 300_000
        tx = conn.transaction()
        await tx.start()
        await tx.rollback()
        after = proxy.snapshot()
    finally:
        await conn.close()

    assert after.minus(before) == WireCounts(statements=7, begins=2, commits=1, rollbacks=1)
    assert proxy.cpu_seconds() > 0  # read from /proc: its start-up alone takes CPU


def test_a_stopped_proxy_reports_nothing(engine_urls: EngineUrls) -> None:
    parts = urlsplit(engine_urls.database)
    counting = CountingProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    counting.start()
    assert counting.port > 0

    counting.stop()

    assert counting.snapshot() == WireCounts()
    assert counting.cpu_seconds() == 0.0
