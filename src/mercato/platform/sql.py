"""Hot statements sent straight to asyncpg, on the connection (and in the transaction) SQLAlchemy holds.

Why: per statement, SQLAlchemy Core's execution (cache lookup, execution context, parameter and
result processing) and its async adapter (a greenlet switch each way) cost about as much Python CPU as
asyncpg itself (docs/profiles/README.md), and the checkout's saga runs ~30 statements per order. Its
hottest statements are fixed SQL text, so `Sql` turns their `:name` parameters into asyncpg's `$n`
once, at import, and runs them with asyncpg's own prepared-statement cache on the driver connection
under the caller's `AsyncConnection`. Everything else keeps going through SQLAlchemy on that same
connection, in the same transaction.

What is kept as SQLAlchemy has it:
- the transaction: SQLAlchemy's asyncpg adapter sends BEGIN lazily, before its first statement; a
  statement sent here starts it the same way first, and on a connection not in a transaction yet it
  begins one as SQLAlchemy's autobegin would (the caller commits or rolls back as usual).
- `read`/`run_alone` are the exception, asked for by name: one statement on a connection of its own,
  outside any transaction (PostgreSQL runs it atomically by itself), so no BEGIN and no COMMIT or
  ROLLBACK round trip goes with it: a lone read of the request path, a relay's mark.
- `solo=True` is the other one: a statement that is its unit of work's whole write (a data-modifying
  CTE with its outbox rows) runs without BEGIN when its transaction has sent nothing yet, so it commits
  by itself and the unit of work's COMMIT has nothing left to send: one round trip instead of three.
  Only for a statement that either writes and is followed by the commit alone, or writes nothing (ON
  CONFLICT DO NOTHING) when the use case goes on: a statement after it begins a transaction of its own.
  Each round trip is a loopback write that wakes PostgreSQL: the largest single item of the profile.
- counting: each statement fires the engine's `before_cursor_execute` event, so
  `Database.count_statements()` and the bench's attribution see it (with no cursor and no context).
- errors: asyncpg's exceptions come out as SQLAlchemy's (`IntegrityError`, `DBAPIError`...), with the
  driver's error as `orig`, as from `AsyncConnection.execute`.
- types: the connection has SQLAlchemy's JSON codecs, so json/jsonb results come decoded, and a
  json/jsonb parameter is sent as its JSON text (name it in `json=`).

`fetch_core` does the same for a SQLAlchemy Core SELECT built per request (a storefront listing: its
WHERE and ORDER BY follow the filter and sort): SQLAlchemy compiles it once per shape, under its own
cache key, as its execution would; the values are taken from the statement each time and the text is
exactly what SQLAlchemy sends. Its Row objects and execution context are what is skipped.

`CompiledSql` goes one step further for a statement whose text depends on a few choices only (a
listing's *shape*: sort, which filters): the caller builds it once per shape with named `bindparam`s,
it is compiled once, and each request passes only the values (no statement built, no cache key).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson
from asyncpg import Connection as DriverConnection
from asyncpg import Record
from sqlalchemy import exc
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.expression import Executable
from sqlalchemy.util import LRUCache

from mercato.platform.db import Database

# The `before_cursor_execute` context of a statement sent outside any transaction (no BEGIN, no
# COMMIT): how the bench's attribution tells it from one inside a transaction.
ALONE = object()

# `:name` outside a `::` cast (the statements here use CAST, but a literal `::` must stay as it is).
_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


class Sql:
    """A statement with `:name` parameters, converted once for asyncpg (`$1`, `$2`...; a name used
    twice is one parameter)."""

    __slots__ = ("json", "names", "text")

    def __init__(self, text: str, *, json: Iterable[str] = ()) -> None:
        names: list[str] = []

        def number(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in names:
                names.append(name)
            return f"${names.index(name) + 1}"

        self.text = _PARAM.sub(number, text)
        self.names = tuple(names)
        self.json = frozenset(json)
        if unknown := self.json - set(names):
            raise ValueError(f"json parameters not in the statement: {sorted(unknown)}")

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        if not self.json:
            return [params[name] for name in self.names]
        return [json_text(params[name]) if name in self.json else params[name] for name in self.names]

    async def fetch(
        self,
        conn: AsyncConnection,
        params: Mapping[str, Any] | None = None,
        *,
        alone: bool = False,
        solo: bool = False,
    ) -> list[Record]:
        """Every row the statement returns."""
        args = self.args(params or {})
        driver = await _driver(conn, self.text, args, alone, solo)
        try:
            rows: list[Record] = await driver.fetch(self.text, *args)
        except Exception as error:
            raise _translated(conn, self.text, args, error) from error
        return rows

    async def first(
        self, conn: AsyncConnection, params: Mapping[str, Any] | None = None, *, solo: bool = False
    ) -> Record | None:
        """The first row the statement returns, if any."""
        rows = await self.fetch(conn, params, solo=solo)
        return rows[0] if rows else None

    async def read(self, db: Database, params: Mapping[str, Any] | None = None) -> list[Record]:
        """Every row, read by this statement alone on a pooled connection, outside any transaction."""
        async with db.connect() as conn:
            return await self.fetch(conn, params, alone=True)

    async def read_first(self, db: Database, params: Mapping[str, Any] | None = None) -> Record | None:
        rows = await self.read(db, params)
        return rows[0] if rows else None

    async def run_alone(self, db: Database, params: Mapping[str, Any] | None = None) -> str:
        """Run this one statement on a pooled connection, outside any transaction: it commits by itself."""
        async with db.connect() as conn:
            return await self.execute(conn, params, alone=True)

    async def execute(
        self,
        conn: AsyncConnection,
        params: Mapping[str, Any] | None = None,
        *,
        alone: bool = False,
        solo: bool = False,
    ) -> str:
        """Run a statement whose rows are not needed; returns its status (`UPDATE 3`)."""
        args = self.args(params or {})
        driver = await _driver(conn, self.text, args, alone, solo)
        try:
            status: str = await driver.execute(self.text, *args)
        except Exception as error:
            raise _translated(conn, self.text, args, error) from error
        return status


async def fetch_core(
    conn: AsyncConnection,
    statement: Executable,
    params: Mapping[str, Any] | None = None,
    *,
    alone: bool = False,
) -> list[Record]:
    """Every row of a Core SELECT, by position, sent straight to asyncpg (see the module): `params`
    for its named `bindparam`s, `alone` as for `Sql.fetch`."""
    sync = conn.sync_connection
    if sync is None:  # pragma: no cover - an AsyncConnection is started by `async with` / await
        raise RuntimeError("connection not started")
    text, args = compiled_args(statement, sync.dialect, params)
    driver = await _driver(conn, text, args, alone, False)
    try:
        rows: list[Record] = await driver.fetch(text, *args)
    except Exception as error:
        raise _translated(conn, text, args, error) from error
    return rows


class CompiledSql:
    """A Core statement compiled once, by the dialect of the first connection that runs it, to its
    text and the names of its parameters in order; run with a mapping of those names to values, as
    `Sql` is. Every parameter must be a named `bindparam` given at each run (a value written into the
    statement would be sent again with every run, whatever the request: a `KeyError` here says one was
    left), and none may be expanding (`IN` of a list: its text would follow the list's length; use
    `= ANY(array)`)."""

    __slots__ = ("names", "processors", "statement", "text")

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self.text = ""  # compiled at the first run
        self.names: tuple[str, ...] = ()
        self.processors: tuple[Any, ...] = ()

    def compile(self, dialect: Dialect) -> None:
        element: Any = self.statement
        compiled = element.compile(dialect=dialect)
        if compiled.literal_execute_params or compiled.post_compile_params:
            raise ValueError("a statement compiled once cannot expand parameters (IN of a list)")
        self.names = tuple(compiled.positiontup or ())
        self.processors = tuple(compiled._bind_processors.get(name) for name in self.names)
        self.text = compiled.string

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        return [
            params[name] if process is None else process(params[name])
            for name, process in zip(self.names, self.processors, strict=True)
        ]

    async def fetch(
        self, conn: AsyncConnection, params: Mapping[str, Any], *, alone: bool = False
    ) -> list[Record]:
        """Every row, by position (`alone` as for `Sql.fetch`)."""
        if not self.text:
            sync = conn.sync_connection
            if sync is None:  # pragma: no cover - an AsyncConnection is started by `async with` / await
                raise RuntimeError("connection not started")
            self.compile(sync.dialect)
        args = self.args(params)
        driver = await _driver(conn, self.text, args, alone, False)
        try:
            rows: list[Record] = await driver.fetch(self.text, *args)
        except Exception as error:
            raise _translated(conn, self.text, args, error) from error
        return rows


# SQLAlchemy's compiled forms of the statements `fetch_core` ran, by its cache key (as the engine's
# own `compiled_cache`: the same size, oldest out first).
_COMPILED: Any = LRUCache(500)


def compiled_args(
    statement: Executable, dialect: Dialect, params: Mapping[str, Any] | None = None
) -> tuple[str, list[Any]]:
    """The text of `statement` and its positional arguments, as SQLAlchemy's execution makes them
    (`DefaultExecutionContext._init_compiled`): compiled once per cache key, bind processors applied,
    expanding `IN` parameters rendered."""
    element: Any = statement
    compiled, extracted, collected, _ = element._compile_w_cache(
        dialect, compiled_cache=_COMPILED, column_keys=sorted(params or ()), for_executemany=False
    )
    values = compiled.construct_params(
        params, escape_names=False, extracted_parameters=extracted, _collected_params=collected
    )
    processors = compiled._bind_processors
    if compiled.literal_execute_params or compiled.post_compile_params:
        expanded = compiled._process_parameters_for_postcompile(values)
        text, positions = expanded.statement, expanded.positiontup
        processors = {**processors, **expanded.processors}
    else:
        text, positions = compiled.string, compiled.positiontup
    if processors:
        args = [processors[k](values[k]) if k in processors else values[k] for k in positions]
    else:
        args = [values[k] for k in positions]
    return text, args


def json_text(value: Any) -> str | None:
    """`value` as JSON text: what a `json` parameter is sent as (and what a store casts per element
    when it sends documents as a `text[]`)."""
    return None if value is None else orjson.dumps(value).decode()


def rowcount(status: str) -> int:
    """The rows a command's status (`UPDATE 3`, `INSERT 0 3`, `DELETE 1`) says it touched."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


async def _driver(
    conn: AsyncConnection, statement: str, args: Sequence[Any], alone: bool, solo: bool
) -> DriverConnection:
    """The asyncpg connection under `conn`, in the connection's transaction (begun first if need be)
    unless `alone`, or `solo` with nothing sent in it yet; fires `before_cursor_execute` (with `ALONE`
    as the context of a statement that goes outside any transaction)."""
    sync = conn.sync_connection
    if sync is None:  # pragma: no cover - an AsyncConnection is started by `async with` / await
        raise RuntimeError("connection not started")
    adapted: Any = sync.connection.dbapi_connection  # SQLAlchemy's AsyncAdapt_asyncpg_connection
    context: object = None
    if alone:
        if sync.in_transaction():
            raise RuntimeError("a statement alone needs a connection outside any transaction")
        context = ALONE
    else:
        if not sync.in_transaction():
            # SQLAlchemy's autobegin: no I/O here, the asyncpg adapter begins lazily (below).
            sync.begin()
        if adapted._transaction is None:
            if solo:
                context = ALONE  # SQLAlchemy's COMMIT will find no driver transaction: sends nothing
            else:
                # What the adapter does before its own first statement (`_prepare_and_execute`).
                await adapted._start_transaction()
    sync.dispatch.before_cursor_execute(sync, None, statement, args, context, False)
    driver: DriverConnection = adapted._connection
    return driver


def _translated(conn: AsyncConnection, statement: str, args: Sequence[Any], error: Exception) -> Exception:
    """`error` as SQLAlchemy would have raised it from `execute`."""
    sync = conn.sync_connection
    assert sync is not None
    adapted: Any = sync.connection.dbapi_connection
    dialect = sync.dialect
    dbapi_error: Exception
    try:
        adapted._handle_exception(error)  # raises the driver error as the DB-API error it maps to
    except Exception as mapped:  # noqa: BLE001 - that is what it is for
        dbapi_error = mapped
    else:  # pragma: no cover - _handle_exception always raises
        dbapi_error = error
    if not isinstance(dbapi_error, dialect.loaded_dbapi.Error):
        return dbapi_error  # not a database error (a cancellation, a bug): as it was
    wrapped: Exception = exc.DBAPIError.instance(
        statement, list(args), dbapi_error, dialect.loaded_dbapi.Error, dialect=dialect
    )
    return wrapped
