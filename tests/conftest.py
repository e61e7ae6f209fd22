"""Test engines: the servers named by MERCATO_*_URL when set, else embedded ones started here.

Nothing is wiped that the suite did not create: tests run in a database of their own
(created and dropped here), under a NATS/Redis namespace of their own (streams and keys removed
at the end). In CI (CI=true) an engine that cannot be reached fails the run; it never skips.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from redis.asyncio import Redis
from sqlalchemy import text

from mercato.app.contexts import MIGRATIONS
from mercato.platform.config import Settings
from mercato.platform.db import Database
from mercato.platform.engines import EmbeddedEngines, EngineUrls
from mercato.platform.messaging import Broker
from mercato.platform.migrations import migrate


@pytest.fixture(scope="session")
def engine_urls() -> Iterator[EngineUrls]:
    env = {name: os.environ.get(f"MERCATO_{name.upper()}_URL") for name in ("database", "nats", "redis")}
    missing = [name for name, url in env.items() if not url]
    supervisor: EmbeddedEngines | None = None
    if missing:
        data_dir = Path(tempfile.mkdtemp(prefix="mercato-test-engines-"))
        supervisor = EmbeddedEngines(data_dir)
        names = {"database": "postgres", "nats": "nats", "redis": "redis"}
        started = supervisor.start(names[m] for m in missing)
        for m in missing:
            env[m] = started[names[m]]
    try:
        yield EngineUrls(database=env["database"] or "", nats=env["nats"] or "", redis=env["redis"] or "")
    finally:
        if supervisor is not None:
            supervisor.stop()
            shutil.rmtree(supervisor.data_dir, ignore_errors=True)


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


@pytest.fixture(scope="session")
def namespace() -> str:
    return f"t{secrets.token_hex(4)}"


async def _admin(engine_urls: EngineUrls, statement: str) -> None:
    admin = await asyncpg.connect(_asyncpg_dsn(engine_urls.database))
    try:
        await admin.execute(statement)
    finally:
        await admin.close()


@contextlib.asynccontextmanager
async def own_database(engine_urls: EngineUrls, namespace: str) -> AsyncIterator[str]:
    """The URL of a database created for `namespace`, dropped on the way out."""
    name = f"mercato_test_{namespace}"
    await _admin(engine_urls, f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(engine_urls.database, name)
    finally:
        await _admin(engine_urls, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def remove_namespace(broker: Broker, redis: Redis, namespace: str) -> None:
    """Delete what `namespace` holds in NATS (its streams) and Redis (its keys), and nothing else."""
    await broker.delete_streams()
    keys = [key async for key in redis.scan_iter(match=f"{namespace}:*", count=1000)]
    if keys:
        await redis.delete(*keys)


@pytest.fixture(scope="session")
async def database_url(engine_urls: EngineUrls, namespace: str) -> AsyncIterator[str]:
    """A database created for this test session and dropped after it."""
    async with own_database(engine_urls, namespace) as url:
        yield url


@pytest.fixture(scope="session")
def settings(engine_urls: EngineUrls, database_url: str, namespace: str) -> Settings:
    return Settings(
        database_url=database_url,
        nats_url=engine_urls.nats,
        redis_url=engine_urls.redis,
        namespace=namespace,
        auth_secret=secrets.token_urlsafe(48),
        outbox_poll_interval_seconds=0.05,
        # Every test client comes from 127.0.0.1 and the session shares one namespace: lift the
        # gateway's rate limits (tests/e2e/test_rate_limits.py tests them with settings of its own).
        cart_create_per_ip=1_000_000,
        checkout_per_customer=1_000_000,
        checkout_per_ip=1_000_000,
        password_reset_requests_per_email=1_000_000,
        password_reset_requests_per_ip=1_000_000,
        reservation_sweep_interval_seconds=0.2,
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture(scope="session")
async def db(settings: Settings) -> AsyncIterator[Database]:
    assert settings.database_url is not None
    database = Database(settings.database_url, pool_size=20)
    await migrate(database, MIGRATIONS)
    yield database
    try:
        await assert_money_reconciles(database)
    finally:
        await database.dispose()


# Orders whose money must have settled: captured minus refunded equals what the customer still owes.
_SETTLED = {
    "CONFIRMED": "o.total_amount - o.refunded_amount",
    "FULFILLED": "o.total_amount - o.refunded_amount",
    "PARTIALLY_REFUNDED": "o.total_amount - o.refunded_amount",
    "REFUNDED": "0",
    "REJECTED": "0",
    "CANCELLED": "0",
}


async def assert_money_reconciles(database: Database) -> None:
    """After the whole run: for every settled order, the payments ledger nets to what the order
    says is owed (no charge lost, doubled or left uncaptured). Orders still in flight are skipped."""
    owed = " ".join(f"WHEN '{status}' THEN {expr}" for status, expr in _SETTLED.items())
    query = text(
        "SELECT o.id, o.status, CASE o.status " + owed + " END AS owed, "
        "coalesce(sum(CASE l.kind WHEN 'CAPTURE' THEN l.amount WHEN 'REFUND' THEN -l.amount ELSE 0 END), 0) "
        "AS net FROM orders.orders o "
        "LEFT JOIN payments.ledger_entries l ON l.order_reference = o.id::text "
        "WHERE o.status = ANY(:settled) GROUP BY o.id, o.status, o.total_amount, o.refunded_amount"
    )
    async with database.connect() as conn:
        rows = (await conn.execute(query, {"settled": list(_SETTLED)})).all()
    mismatched = [(str(r.id), r.status, r.owed, r.net) for r in rows if r.owed != r.net]
    assert not mismatched, f"orders whose payments do not reconcile: {mismatched[:5]}"


@pytest.fixture(scope="session")
async def broker(settings: Settings) -> AsyncIterator[Broker]:
    assert settings.nats_url is not None
    b = Broker(settings.nats_url, settings.namespace)
    await b.connect()
    yield b
    await b.delete_streams()
    await b.close()


@pytest.fixture(scope="session")
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    assert settings.redis_url is not None
    client = Redis.from_url(settings.redis_url)
    yield client
    keys = [key async for key in client.scan_iter(match=f"{settings.namespace}:*", count=1000)]
    if keys:
        await client.delete(*keys)
    await client.aclose()


def ref(prefix: str = "x") -> str:
    """A unique lowercase reference, so tests never collide on shared data."""
    return f"{prefix}-{secrets.token_hex(5)}"
