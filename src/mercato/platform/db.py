"""Async SQLAlchemy engine on asyncpg, one per process, plus a statement counter for tests."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool, ConnectionPoolEntry

from mercato.platform.business_metrics import db_pool_wait, watch_pool
from mercato.platform.config import to_asyncpg_url


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


@dataclass
class StatementCounter:
    """Counts SQL statements and commits sent through one engine while active."""

    statements: list[str] = field(default_factory=list)
    commits: int = 0

    @property
    def count(self) -> int:
        return len(self.statements)


_current_counter: ContextVar[StatementCounter | None] = ContextVar("mercato_statement_counter", default=None)


class TimedPool(AsyncAdaptedQueuePool):
    """The engine's pool, timing each checkout (`mercato_db_pool_wait_seconds`): SQLAlchemy's pool
    events fire once a connection is had, none before the wait, so the timer wraps the pool's get."""

    def _do_get(self) -> ConnectionPoolEntry:
        start = time.perf_counter()
        try:
            return super()._do_get()
        finally:
            db_pool_wait.observe(time.perf_counter() - start)


class Database:
    """`connect_timeout`: seconds to open a connection (asyncpg's default, 60, is a hang to a request).
    `command_timeout`: the client-side deadline of one statement, None for none. An engine that stops
    answering without closing the connection (a partition, a frozen server) is noticed by nothing
    else: a statement waits on its socket for ever and holds its pooled connection. The processes
    serving requests set it (`Settings.db_command_timeout_seconds`); batch commands leave it off.
    `pool_timeout`: seconds to wait for a free connection of the pool.

    `pool_size`: the pool holds up to twice this many connections (the budget the chart counts,
    docs: deploy/helm/mercato/README.md) and keeps every one it opened. They are opened as needed,
    never ahead. SQLAlchemy's overflow (`pool_size` kept + as many more closed at check-in) closed
    and reopened connections all the time under load: each new one paid the TCP connect, asyncpg's
    SSL probe, the type introspection of SQLAlchemy's codecs and a fresh prepare of every statement,
    8-10% of the CPU per order at 32 checkouts in flight (docs/profiles/README.md)."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        application_name: str = "mercato",
        connect_timeout: float = 10.0,
        command_timeout: float | None = None,
        pool_timeout: float = 30.0,
    ) -> None:
        self.url = to_asyncpg_url(url)
        self.application_name, self.command_timeout = application_name, command_timeout
        connect_args: dict[str, Any] = {
            "server_settings": {"application_name": application_name},
            "timeout": connect_timeout,
        }
        if command_timeout:
            connect_args["command_timeout"] = command_timeout
        self.engine: AsyncEngine = create_async_engine(
            self.url,
            pool_size=2 * pool_size,
            max_overflow=0,
            pool_pre_ping=False,
            pool_timeout=pool_timeout,
            poolclass=TimedPool,
            json_serializer=_dumps,
            json_deserializer=orjson.loads,
            connect_args=connect_args,
        )
        event.listen(self.engine.sync_engine, "before_cursor_execute", self._on_statement)
        event.listen(self.engine.sync_engine, "commit", self._on_commit)
        watch_pool(self.engine.sync_engine.pool)  # mercato_db_pool_connections, read at scrape

    def _on_statement(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        counter = _current_counter.get()
        if counter is not None:
            counter.statements.append(statement)

    def _on_commit(self, _conn: Any) -> None:
        counter = _current_counter.get()
        if counter is not None:
            counter.commits += 1

    @contextmanager
    def count_statements(self) -> Iterator[StatementCounter]:
        """Count what this task (and tasks it starts) sends; background tasks started earlier are not
        counted, so a test can measure one request while relays and consumers keep running."""
        counter = StatementCounter()
        token = _current_counter.set(counter)
        try:
            yield counter
        finally:
            _current_counter.reset(token)

    def connect(self) -> AsyncConnection:
        return self.engine.connect()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for plain reads, outside any transaction (autocommit). Inside one, as
        `connect()` has it, each read costs two more round trips (asyncpg's BEGIN before the first
        statement, the ROLLBACK when the connection returns to the pool) and sees nothing more
        consistent: at READ COMMITTED every statement takes a snapshot of its own either way. For
        reads only; a statement that writes would commit at once."""
        async with self.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            yield conn

    def begin(self) -> Any:
        return self.engine.begin()

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


def violated_constraint(exc: BaseException) -> str | None:
    """Name of the unique/check/foreign-key constraint behind an IntegrityError, if asyncpg says."""
    current: BaseException | None = exc
    while current is not None:
        name = getattr(current, "constraint_name", None)
        if name:
            return str(name)
        current = current.__cause__ or getattr(current, "orig", None)
    return None
