"""Unit of work: one PostgreSQL transaction that holds a change and the events it raised.

`commit()` writes the events to the context's outbox in the same transaction, so a change is
never committed without its events, nor an event published for a change that rolled back.
Leaving the block without `commit()` rolls back.

After the commit, the rows written go to `on_commit`. A `RelayHandoff` (what `Engines.waker` builds)
gives them to the context's relay, which publishes them at once. The rows are written with the
relay's grace, so the poll leaves them to the relay. Any other callable is only called, the older
wake-up form, and its rows are written due at once for the poll.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from types import TracebackType
from typing import Generic, Self, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from mercato.platform.business_metrics import observe_committed
from mercato.platform.db import Database
from mercato.platform.events import DomainEvent
from mercato.platform.outbox import Outbox, OutboxRelay, OutboxRow
from mercato.platform.outbox_embed import EmbeddedEvents

StoreT = TypeVar("StoreT")


class RelayHandoff:
    """What a unit of work calls after a commit that wrote events: it gives the rows to the context's
    relay in this process, which publishes them at once.

    It is also callable without arguments, as the older `on_commit` wake-up was, so services that pass
    `on_commit: Callable[[], None]` through to their unit of work keep their signature.
    """

    def __init__(self, relay: Callable[[], OutboxRelay | None]) -> None:
        # Looked up on each commit: the host creates the relays after the services that use this.
        self._relay = relay

    def publish_after(self) -> float:
        """The seconds the poll leaves a row alone: a live relay's grace, or 0 when no relay will
        publish the row (the poll takes it at once)."""
        relay = self._relay()
        return relay.publish_grace if relay is not None and relay.accepting else 0.0

    def hand_off(self, rows: Sequence[OutboxRow]) -> None:
        relay = self._relay()
        if relay is not None:
            relay.hand_off(rows)

    def __call__(self) -> None:
        relay = self._relay()
        if relay is not None:
            relay.wake()


class UnitOfWork:
    def __init__(self, db: Database, outbox: Outbox, on_commit: Callable[[], None] | None = None) -> None:
        self.db = db
        self.outbox = outbox
        self._on_commit = on_commit
        self._handoff = on_commit if isinstance(on_commit, RelayHandoff) else None
        self._conn: AsyncConnection | None = None
        self._events: list[DomainEvent] = []
        self._embedded: list[EmbeddedEvents] = []
        self._after_commit: list[Callable[[], Awaitable[None]]] = []
        self.committed_events: list[DomainEvent] = []

    @property
    def conn(self) -> AsyncConnection:
        if self._conn is None:
            raise RuntimeError("unit of work used outside `async with`")
        return self._conn

    async def __aenter__(self) -> Self:
        self._conn = await self.db.engine.connect()
        await self._conn.begin()
        self._events = []
        self._embedded = []
        self._after_commit = []
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if conn.in_transaction():
                await conn.rollback()
        finally:
            await conn.close()

    def add_event(self, event: DomainEvent) -> None:
        self._events.append(event)

    def add_events(self, events: list[DomainEvent]) -> None:
        self._events.extend(events)

    def after_commit(self, action: Callable[[], Awaitable[None]]) -> None:
        """Run `action` once the transaction has committed (cache invalidation and the like)."""
        self._after_commit.append(action)

    def embed_events(self, events: Sequence[DomainEvent]) -> EmbeddedEvents:
        """Outbox rows of `events` for the caller to insert in one of its own statements (with
        `outbox_embed.outbox_insert_sql`); call `embedded(...)` once that statement wrote them."""
        return EmbeddedEvents(tuple(events), tuple(self.outbox.rows(events)), self._publish_after())

    def embedded(self, events: EmbeddedEvents) -> None:
        """`events` are in the outbox, written by the caller's statement in this transaction: they
        commit, and are handed to the relay, with the rest."""
        self._embedded.append(events)

    def _publish_after(self) -> float:
        return self._handoff.publish_after() if self._handoff is not None else 0.0

    async def commit(self) -> None:
        embedded, self._embedded = self._embedded, []
        rows: list[OutboxRow] = [row for batch in embedded for row in batch.rows]
        if self._events:
            rows += await self.outbox.write(self.conn, self._events, publish_after=self._publish_after())
        await self.conn.commit()
        self.committed_events = [e for batch in embedded for e in batch.events] + self._events
        observe_committed(self.committed_events)
        self._events = []
        if rows:
            if self._handoff is not None:
                self._handoff.hand_off(rows)
            elif self._on_commit is not None:
                self._on_commit()
        actions, self._after_commit = self._after_commit, []
        for action in actions:
            await action()

    async def rollback(self) -> None:
        self._events = []
        self._embedded = []
        self._after_commit = []
        await self.conn.rollback()


class StoreUnitOfWork(UnitOfWork, Generic[StoreT]):
    """A unit of work whose repository ("store") is built on its connection by an injected factory,
    so the service layer depends on a store Protocol and only bootstrap knows the SQL adapter."""

    store: StoreT

    def __init__(
        self,
        db: Database,
        outbox: Outbox,
        on_commit: Callable[[], None] | None = None,
        *,
        store: Callable[[AsyncConnection], StoreT],
        clock: Callable[[], datetime],
    ) -> None:
        super().__init__(db, outbox, on_commit)
        self._store_factory = store
        self.clock = clock

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.store = self._store_factory(self.conn)
        return self
