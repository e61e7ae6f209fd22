"""Migrations from an empty database, idempotent, each context in its own schema."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import text

from mercato.app.contexts import MIGRATIONS
from mercato.platform.db import Database
from mercato.platform.engines import EngineUrls
from mercato.platform.migrations import current_revisions, migrate
from tests.conftest import _asyncpg_dsn, _with_database

# The head revision of each context; a context's next migration updates this table.
HEADS = {
    **{m.schema: f"{m.schema}_0001" for m in MIGRATIONS},
    "catalog": "catalog_0003",
    "inventory": "inventory_0002",
    "customers": "customers_0002",
    "orders": "orders_0004",
    "payments": "payments_0004",
    "search": "search_0004",
}


@pytest.fixture
async def empty_db(engine_urls: EngineUrls) -> AsyncIterator[Database]:
    name = f"mercato_test_empty_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(_asyncpg_dsn(engine_urls.database))
    await admin.execute(f'CREATE DATABASE "{name}"')
    database = Database(_with_database(engine_urls.database, name))
    try:
        yield database
    finally:
        await database.dispose()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_migrating_an_empty_database_twice(empty_db: Database) -> None:
    assert await current_revisions(empty_db, MIGRATIONS) == {m.schema: None for m in MIGRATIONS}
    await migrate(empty_db, MIGRATIONS)
    await migrate(empty_db, MIGRATIONS)  # a second run changes nothing and does not fail
    assert await current_revisions(empty_db, MIGRATIONS) == HEADS
    async with empty_db.connect() as conn:
        tables = {
            (row.table_schema, row.table_name)
            for row in await conn.execute(
                text(
                    "SELECT table_schema, table_name FROM information_schema.tables "
                    "WHERE table_schema = ANY(:schemas)"
                ),
                {"schemas": list(HEADS)},
            )
        }
        foreign_keys_across_schemas = (
            await conn.execute(
                text(
                    "SELECT count(*) FROM pg_constraint c JOIN pg_class a ON a.oid = c.conrelid "
                    "JOIN pg_class b ON b.oid = c.confrelid WHERE c.contype = 'f' "
                    "AND a.relnamespace <> b.relnamespace"
                )
            )
        ).scalar_one()
    for schema in HEADS:
        assert {(schema, t) for t in ("outbox", "inbox", "dead_letters", "alembic_version")} <= tables
    assert {("catalog", "products"), ("catalog", "variants"), ("inventory", "stock")} <= tables
    assert {("payments", "sandbox_charges"), ("payments", "sandbox_operations")} & tables == set()
    assert foreign_keys_across_schemas == 0


async def test_concurrent_migrations_do_not_collide(empty_db: Database) -> None:
    await asyncio.gather(migrate(empty_db, MIGRATIONS), migrate(empty_db, MIGRATIONS))
    assert await current_revisions(empty_db, MIGRATIONS) == HEADS
