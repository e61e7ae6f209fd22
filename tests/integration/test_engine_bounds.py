"""The bounds on a serving process's database calls (`Settings.db_*_seconds`, `platform.db.Database`):
a statement past its deadline is cut and counts as the engine's fault (UNAVAILABLE), its pool serves
the next one; the settings reach every pool of a process; and migrations are not held to the
deadline, since waiting for another process's migration (their lock) may rightly take longer. And
the broker's readiness ping (`Broker.ping`): unanswered while NATS is silent, it leaves the connection
working once NATS answers again.

(A stalled or cut engine behind the chaos proxy, seen through the GraphQL API: tests/e2e/
test_engine_outages.py.)"""

from __future__ import annotations

import asyncio
import secrets
from urllib.parse import urlsplit

import pytest
from bench.chaos.proxy import ProxyProcess
from sqlalchemy import text

from mercato.app.components import Engines
from mercato.app.contexts import MIGRATIONS
from mercato.platform.config import Settings
from mercato.platform.db import Database
from mercato.platform.engines import EngineUrls
from mercato.platform.errors import Unavailable
from mercato.platform.faults import is_unavailable
from mercato.platform.messaging import Broker
from mercato.platform.migrations import _LOCK_KEY, migrate

DEADLINE = 0.5  # seconds


@pytest.fixture
async def bounded(settings: Settings, db: Database) -> Database:  # `db`: the schema is migrated
    assert settings.database_url is not None
    return Database(settings.database_url, pool_size=1, command_timeout=DEADLINE)


async def test_a_statement_past_its_deadline_is_cut_as_unavailable_and_the_pool_serves_on(
    bounded: Database,
) -> None:
    try:
        with pytest.raises(TimeoutError) as cut:
            async with bounded.connect() as conn:
                await conn.execute(text("SELECT pg_sleep(30)"))
        assert is_unavailable(cut.value)
        async with bounded.connect() as conn:
            assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1
    finally:
        await bounded.dispose()


async def test_the_bounds_of_the_settings_reach_every_pool_of_a_process(settings: Settings) -> None:
    own = settings.model_copy(
        update={
            "db_command_timeout_seconds": 7.0,
            "db_pool_timeout_seconds": 4.0,
            "orders_database_url": "postgresql://orders@127.0.0.1:5432/elsewhere",  # a role of its own
        }
    )
    engines, batch = Engines(own), Engines(own.for_batch())  # they connect to nothing
    try:
        pools = [engines.db, engines.db_for("orders")]

        assert pools[0] is not pools[1]
        assert [p.command_timeout for p in pools] == [7.0, 7.0]
        assert [p.engine.pool.timeout() for p in pools] == [4.0, 4.0]  # type: ignore[attr-defined]
        assert batch.db.command_timeout is None
    finally:
        await engines.close()
        await batch.close()


async def test_migrations_wait_for_another_processes_migration_longer_than_a_statement_may(
    bounded: Database, settings: Settings
) -> None:
    assert settings.database_url is not None
    other = Database(settings.database_url, pool_size=1)  # another process, migrating
    try:
        async with other.connect() as holder:
            await holder.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _LOCK_KEY})
            await holder.commit()
            migrating = asyncio.create_task(migrate(bounded, MIGRATIONS))
            await asyncio.sleep(4 * DEADLINE)
            assert not migrating.done()  # still waiting for the lock, not cut by the deadline
            await holder.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK_KEY})
            await holder.commit()
        async with asyncio.timeout(60):  # a bound on a hang, not a measure
            await migrating  # then it runs (nothing to upgrade: the schema is at head)
    finally:
        await other.dispose()  # its connection closed: the lock is released whatever happened
        await bounded.dispose()


async def test_a_ping_unanswered_while_nats_is_silent_leaves_the_connection_working_once_it_answers(
    engine_urls: EngineUrls,
) -> None:
    nats = urlsplit(engine_urls.nats)
    proxy = ProxyProcess({"nats": f"{nats.hostname}:{nats.port}"})
    broker = Broker(f"nats://{proxy.address('nats')}", f"ping{secrets.token_hex(3)}")
    try:
        await broker.connect()
        await broker.ping()
        proxy.stall("nats")
        with pytest.raises(Unavailable):
            await broker.ping(wait=0.3)

        proxy.heal("nats")

        # Answered again, and JetStream with it (before the fix, nats-py's flush timeout had killed
        # the client's read loop: every later ping and request went unanswered until a re-dial).
        await broker.ping(wait=10.0)
        await broker.ensure_stream("catalog")
    finally:
        proxy.heal("nats")
        if broker.is_connected:
            await broker.delete_streams()
        await broker.close()
        proxy.stop()
