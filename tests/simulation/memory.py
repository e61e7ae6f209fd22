"""In-memory tables and transactions for the simulation (tests only), and the crash points in them.

The simulation runs the contexts' real use cases, saga and consumers' handlers; only what sits under
their store Protocols is replaced: a table here is a dict, a transaction writes in place and keeps an
undo log, so a rollback (or a crash, which is one) leaves the tables as they were. Every store call
counts as one statement and is a crash point, and so is every commit: `CrashPoints` raises `Crash`
at the point the scheduler armed. Why memory and not PostgreSQL: docs/reliability.md.

Transactions of one context may be open at once (payments' first transaction runs while the
consumer's is open). They never touch the same rows, which the real code guarantees with its lock
order and NOWAIT; the undo log is per row, so a rollback of one never undoes the other's commit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from mercato.platform.outbox import OutboxRow
from mercato.platform.unit_of_work import UnitOfWork

_MISSING = object()


class Crash(BaseException):
    """The process died at a crash point. A BaseException, so that no `except Exception` of the real
    code handles it: its transactions roll back (`async with` blocks) and nothing else happens."""


@dataclass
class CrashPoints:
    """Counts crash points (statements and commits) during one step and crashes at the armed one."""

    armed: int | None = None
    count: int = 0
    fired: str | None = None
    labels: list[str] = field(default_factory=list)

    def arm(self, at: int | None) -> None:
        self.armed, self.count, self.fired, self.labels = at, 0, None, []

    def point(self, label: str) -> None:
        self.count += 1
        self.labels.append(label)
        if self.armed is not None and self.count == self.armed:
            self.fired = label
            raise Crash(label)


class MemoryDatabase:
    """One context's tables, its committed outbox rows not yet published, and its inbox."""

    def __init__(self, name: str, points: CrashPoints) -> None:
        self.name = name
        self.points = points
        self.tables: dict[str, dict[Any, Any]] = defaultdict(dict)
        self.unpublished: list[OutboxRow] = []

    def begin(self) -> MemoryTransaction:
        return MemoryTransaction(self)

    def statement(self, what: str) -> None:
        self.points.point(f"{self.name}.{what}")


class MemoryTransaction:
    def __init__(self, db: MemoryDatabase) -> None:
        self.db = db
        self.open = True
        self._undo: list[tuple[str, Any, Any]] = []

    def get(self, table: str, key: Any) -> Any:
        return self.db.tables[table].get(key)

    def values(self, table: str) -> Iterator[Any]:
        return iter(list(self.db.tables[table].values()))

    def put(self, table: str, key: Any, value: Any) -> None:
        rows = self.db.tables[table]
        self._undo.append((table, key, rows.get(key, _MISSING)))
        rows[key] = value

    def delete(self, table: str, key: Any) -> None:
        rows = self.db.tables[table]
        if key in rows:
            self._undo.append((table, key, rows.pop(key)))

    def commit(self) -> None:
        self.open, self._undo = False, []

    def rollback(self) -> None:
        for table, key, old in reversed(self._undo):
            if old is _MISSING:
                self.db.tables[table].pop(key, None)
            else:
                self.db.tables[table][key] = old
        self.open, self._undo = False, []


class MemoryUnitOfWork(UnitOfWork):
    """`UnitOfWork` on a `MemoryTransaction`: the same event handling (`add_event`, `embed_events`,
    after-commit actions), the outbox rows kept in `memory.unpublished` at commit. Placed under a
    context's unit of work in the MRO (`class X(InventoryUnitOfWork, MemoryUnitOfWork)`), so that
    the context's own `commit` (stock events, payments' leases) runs on top of it."""

    memory: MemoryDatabase

    async def __aenter__(self) -> Self:
        self._conn = self.memory.begin()  # type: ignore[assignment]
        self._events = []
        self._embedded = []
        self._after_commit = []
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        tx, self._conn = self._conn, None
        if isinstance(tx, MemoryTransaction) and tx.open:
            tx.rollback()

    async def commit(self) -> None:
        tx = self.conn
        assert isinstance(tx, MemoryTransaction)
        embedded, self._embedded = self._embedded, []
        rows: list[OutboxRow] = [row for batch in embedded for row in batch.rows]
        if self._events:
            rows += self.outbox.rows(self._events)
        self.memory.statement("commit")  # a crash here: the transaction rolls back
        tx.commit()
        self.memory.unpublished.extend(rows)
        self.committed_events = [e for batch in embedded for e in batch.events] + self._events
        self._events = []
        actions, self._after_commit = self._after_commit, []
        for action in actions:
            await action()

    async def rollback(self) -> None:
        self._events = []
        self._embedded = []
        self._after_commit = []
        tx = self.conn
        assert isinstance(tx, MemoryTransaction)
        tx.rollback()
