"""Engines for a benchmark run: a database and a namespace of its own, removed afterwards.

With MERCATO_DATABASE_URL / MERCATO_NATS_URL / MERCATO_REDIS_URL set, the run creates
`mercato_bench_<hex>` on that PostgreSQL server and works under the namespace `bench<hex>`; at the end
it drops that database, deletes the namespace's Redis keys and NATS streams, and touches nothing else.
Without them it starts embedded engines in a throwaway directory and stops them at the end.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import socket
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from redis.asyncio import Redis
from sqlalchemy import text

from mercato.app import demo_data
from mercato.app.bulk.importer import import_records
from mercato.app.bulk.records import ImportRecords
from mercato.app.contexts import MIGRATIONS
from mercato.app.runtime import Runtime
from mercato.app.seed import seed_demo
from mercato.platform.config import Settings
from mercato.platform.db import Database
from mercato.platform.engines import EmbeddedEngines
from mercato.platform.messaging import Broker
from mercato.platform.migrations import migrate

URL_VARS = ("MERCATO_DATABASE_URL", "MERCATO_NATS_URL", "MERCATO_REDIS_URL")


@dataclass
class BenchEngines:
    """Where this run's data lives; `database_url` points at the run's own database."""

    server_url: str  # the PostgreSQL server's URL as given (or as the embedded engine reports it)
    nats_url: str
    redis_url: str
    embedded: bool
    namespace: str = field(default_factory=lambda: f"bench{secrets.token_hex(4)}")
    # The server refuses to start without a token-signing secret; a throwaway one per run.
    auth_secret: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    versions: dict[str, str] = field(default_factory=dict)

    @property
    def database(self) -> str:
        return f"mercato_{self.namespace}"

    @property
    def database_url(self) -> str:
        return _with_database(self.server_url, self.database)

    @property
    def label(self) -> str:
        return "embedded" if self.embedded else "external"

    def settings(self) -> Settings:
        return Settings(
            database_url=self.database_url,
            nats_url=self.nats_url,
            redis_url=self.redis_url,
            namespace=self.namespace,
            auth_secret=self.auth_secret,
            # Shoppers come from one address and check out in loops: no rate limits in a benchmark.
            cart_create_per_ip=1_000_000,
            checkout_per_customer=1_000_000,
            _env_file=None,
        )

    def server_env(self) -> dict[str, str]:
        """Environment of the server subprocess: the run's URLs and namespace, nothing inherited
        that could point it elsewhere."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("MERCATO_")}
        env.update(
            MERCATO_DATABASE_URL=self.database_url,
            MERCATO_NATS_URL=self.nats_url,
            MERCATO_REDIS_URL=self.redis_url,
            MERCATO_NAMESPACE=self.namespace,
            MERCATO_AUTH_SECRET=self.auth_secret,
            MERCATO_CART_CREATE_PER_IP="1000000",
            MERCATO_CHECKOUT_PER_CUSTOMER="1000000",
        )
        return env


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def _asyncpg_dsn(url: str) -> str:
    for prefix in ("postgresql+asyncpg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


def configured_urls() -> dict[str, str] | None:
    """The engines named by the environment, or None when any is unset (embedded run)."""
    values = {name: os.environ.get(name, "") for name in URL_VARS}
    if all(values.values()):
        return values
    missing = [name for name, value in values.items() if not value]
    if len(missing) < len(URL_VARS):
        print(f"bench: {', '.join(missing)} unset; using embedded engines for all three")
    return None


def start_embedded() -> tuple[EmbeddedEngines, BenchEngines]:
    data_dir = Path(tempfile.mkdtemp(prefix="mercato-bench-engines-"))
    engines = EmbeddedEngines(data_dir)
    try:
        urls = engines.start()
    except BaseException:
        engines.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
        raise
    return engines, BenchEngines(urls["postgres"], urls["nats"], urls["redis"], embedded=True)


def stop_embedded(engines: EmbeddedEngines) -> None:
    try:
        engines.stop()
    finally:
        shutil.rmtree(engines.data_dir, ignore_errors=True)


def _nats_version(url: str) -> str:
    """The version a NATS server announces in its INFO line."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 4222), timeout=5) as sock:
        line = sock.makefile("rb").readline().decode()
    if not line.startswith("INFO "):
        return "unknown"
    return str(json.loads(line[5:]).get("version", "unknown"))


async def prepare(engines: BenchEngines) -> None:
    """Create the run's database, migrate it, and note the engines' versions."""
    admin = await asyncpg.connect(_asyncpg_dsn(_with_database(engines.server_url, "postgres")))
    try:
        engines.versions["PostgreSQL"] = str(await admin.fetchval("SHOW server_version"))
        await admin.execute(f'CREATE DATABASE "{engines.database}"')
    finally:
        await admin.close()
    redis = Redis.from_url(engines.redis_url)
    try:
        info = await redis.info("server")
        engines.versions["Redis"] = str(info.get("redis_version", "unknown"))
    finally:
        await redis.aclose()
    engines.versions["NATS"] = await asyncio.to_thread(_nats_version, engines.nats_url)
    db = Database(engines.database_url)
    try:
        await migrate(db, MIGRATIONS)
    finally:
        await db.dispose()


async def cleanup(engines: BenchEngines) -> None:
    """Drop the run's database, its Redis keys and its NATS streams; each step runs whatever failed
    before it."""
    try:
        admin = await asyncpg.connect(_asyncpg_dsn(_with_database(engines.server_url, "postgres")))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{engines.database}" WITH (FORCE)')
        finally:
            await admin.close()
    finally:
        try:
            redis = Redis.from_url(engines.redis_url)
            try:
                keys = [key async for key in redis.scan_iter(match=f"{engines.namespace}:*", count=1000)]
                for start in range(0, len(keys), 500):
                    await redis.delete(*keys[start : start + 500])
            finally:
                await redis.aclose()
        finally:
            broker = Broker(engines.nats_url, engines.namespace)
            await broker.connect()
            try:
                await broker.delete_streams()
            finally:
                await broker.close()


async def seed(engines: BenchEngines, products: int, *, via_import: bool = False) -> tuple[str, float]:
    """Grow the catalog to `products` products (the demo plan is prefix-stable, so earlier products
    are skipped); returns the seed summary and the seconds it took. `via_import`: through the bulk
    importer (`mercato import`, one transaction, thousands of products a second) instead of the use
    cases one product at a time (about 50-90 ms each): what makes 100k-product catalogs practical."""
    runtime = Runtime(engines.settings())
    started = time.perf_counter()
    try:
        if via_import:
            # Initial stock only, as the use-case seeder: growing the catalog never resets the stock
            # of products an earlier run (or a checkout scenario) already has.
            plan = demo_data.generate(products)
            records = ImportRecords.of_plan(plan, f"demo catalog of {products:,}", initial_stock=True)
            imported = await import_records(runtime.catalog, runtime.inventory, records)
            if imported.rejected:
                raise RuntimeError(f"seeding by import refused: {imported.rejected[0].describe()}")
            summary = imported.describe()
        else:
            summary = (await seed_demo(runtime.catalog, runtime.inventory, products=products)).describe()
    finally:
        await runtime.stop()
    return summary, time.perf_counter() - started


async def _pending_work(engines: BenchEngines, db: Database, broker: Broker) -> int:
    """Unpublished outbox rows plus undelivered or unacknowledged messages of the namespace."""
    async with db.connect() as conn:
        pending = 0
        # Every context's outbox (the checkout's events start in orders, inventory and payments).
        schemas = await conn.scalars(
            text(
                "SELECT table_schema FROM information_schema.columns "
                "WHERE table_name = 'outbox' AND column_name = 'published_at'"
            )
        )
        for schema in schemas.all():
            found = await conn.scalar(
                text(f'SELECT count(*) FROM "{schema}".outbox WHERE published_at IS NULL')
            )
            pending += int(found or 0)
    prefix = f"{engines.namespace}_".upper()
    for stream in await broker.js.streams_info():
        name = stream.config.name
        if name and name.startswith(prefix):
            for consumer in await broker.js.consumers_info(name):
                pending += (consumer.num_pending or 0) + (consumer.num_ack_pending or 0)
    return pending


async def wait_until_quiet(engines: BenchEngines, limit: float) -> tuple[bool, float]:
    """Wait until the server's relays and consumers have worked off the events of seeding, so
    that no cache invalidation lands inside a measurement. Returns (quiet, seconds waited)."""
    started = time.perf_counter()
    db = Database(engines.database_url, pool_size=1)
    broker = Broker(engines.nats_url, engines.namespace)
    await broker.connect()
    try:
        calm = 0
        while time.perf_counter() - started < limit:
            calm = calm + 1 if await _pending_work(engines, db, broker) == 0 else 0
            if calm >= 3:
                return True, time.perf_counter() - started
            await asyncio.sleep(0.5)
        return False, time.perf_counter() - started
    finally:
        await broker.close()
        await db.dispose()
