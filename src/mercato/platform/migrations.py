"""Alembic migrations, one history per context, each with its version table in its own schema.

`migrate()` is idempotent and safe to run from several processes at once (advisory lock).
A context's `migrations/env.py` only calls `run_env()`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import Connection, text

from mercato.platform.db import Database
from mercato.platform.db_roles import ContextRole, ensure_role

_LOCK_KEY = 0x6D65726361746F  # "mercato"


@dataclass(frozen=True)
class MigrationSource:
    schema: str
    script_location: Path


def _config(source: MigrationSource, connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(source.script_location))
    cfg.attributes["schema"] = source.schema
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def _upgrade(connection: Connection, source: MigrationSource) -> None:
    command.upgrade(_config(source, connection), "head")


def _current(connection: Connection, source: MigrationSource) -> str | None:
    result = connection.execute(
        text("SELECT to_regclass(:t)"), {"t": f"{source.schema}.alembic_version"}
    ).scalar()
    if result is None:
        return None
    return connection.execute(text(f"SELECT version_num FROM {source.schema}.alembic_version")).scalar()


async def migrate(db: Database, sources: list[MigrationSource], roles: Iterable[ContextRole] = ()) -> None:
    """Upgrade every source, then create/update each context's own role (`db_roles`), as `db`'s
    user: the owner of the schemas.

    On a connection of its own without `db`'s statement deadline: waiting for the lock while another
    process migrates, and DDL on big tables, may rightly take longer than a request may."""
    if db.command_timeout is None:
        await _migrate(db, sources, roles)
        return
    unbounded = Database(db.url, pool_size=1, application_name=db.application_name)
    try:
        await _migrate(unbounded, sources, roles)
    finally:
        await unbounded.dispose()


async def _migrate(db: Database, sources: list[MigrationSource], roles: Iterable[ContextRole]) -> None:
    async with db.engine.connect() as conn:
        await conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _LOCK_KEY})
        await conn.commit()
        try:
            for source in sources:
                await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{source.schema}"'))
                await conn.run_sync(_upgrade, source)
                await conn.commit()
            for role in roles:
                await ensure_role(conn, role, [s.schema for s in sources])
                await conn.commit()
        finally:
            await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK_KEY})
            await conn.commit()


async def current_revisions(db: Database, sources: list[MigrationSource]) -> dict[str, str | None]:
    async with db.engine.connect() as conn:
        return {s.schema: await conn.run_sync(_current, s) for s in sources}


def run_env() -> None:
    """Body of every context's `env.py`: online migrations on the connection handed in."""
    cfg = context.config
    connection: Connection = cfg.attributes["connection"]
    schema: str = cfg.attributes["schema"]
    context.configure(connection=connection, version_table_schema=schema, transactional_ddl=True)
    with context.begin_transaction():
        context.run_migrations()


def messaging_tables_v1(schema: str) -> list[str]:
    """DDL of the outbox, inbox and dead-letter tables (matches platform.outbox/inbox, version 1).

    Migrations call this; a later change to these tables gets a `_v2` and a migration of its own.
    """
    return [
        f"""CREATE TABLE {schema}.outbox (
            id uuid PRIMARY KEY,
            seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
            subject text NOT NULL,
            body bytea NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            published_at timestamptz,
            attempts integer NOT NULL DEFAULT 0,
            next_attempt_at timestamptz NOT NULL DEFAULT now(),
            last_error text)""",
        f"CREATE INDEX outbox_pending_idx ON {schema}.outbox (seq) WHERE published_at IS NULL",
        f"""CREATE TABLE {schema}.inbox (
            consumer text NOT NULL,
            event_id uuid NOT NULL,
            received_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (consumer, event_id))""",
        f"""CREATE TABLE {schema}.dead_letters (
            consumer text NOT NULL,
            event_id uuid NOT NULL,
            subject text NOT NULL,
            body bytea NOT NULL,
            error text NOT NULL,
            failed_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (consumer, event_id))""",
    ]


def script_location(package_file: str) -> Path:
    """The `migrations` folder beside a context package's `__init__.py`."""
    return Path(package_file).parent / "migrations"
