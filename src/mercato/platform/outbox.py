"""Transactional outbox and its relay to NATS JetStream.

Each context owns `<schema>.outbox`; `UnitOfWork.commit()` writes the rows in the business transaction
and, once it has committed, hands them to the context's relay in the same process. The relay publishes
them at once (`Nats-Msg-Id` = event id) and marks them published in batches: one `UPDATE … WHERE id =
ANY`, at most every `mark_interval` or inside its next poll. A hop costs no claim transaction.

Handed-off rows are written with `next_attempt_at = now() + publish_grace`. The periodic poll
(`publish_pending`) claims only rows past that time, `FOR UPDATE SKIP LOCKED` (relays may run side by
side): rows of a process that died between commit and publish, rows whose publish failed, and rows
written with no relay in their process (no grace). It publishes and marks them in the claim
transaction. A relay that dies after publishing, before marking, leaves its rows to be published again
after the grace: JetStream drops the duplicates inside its dedup window, the consumers' inboxes later.

Order: one transaction's events go out in their order, a relay's hand-offs in commit order (one
publisher task, FIFO). A row whose publish failed comes back later through the poll, out of that order,
which consumers accept as they accept redeliveries.

The writer's trace context (`telemetry.trace_carrier()`) is kept in the envelope's `trace` field and in
the handed-off row; the relay sends it as the message's `traceparent`/`tracestate` headers.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import orjson
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncConnection

from mercato.platform import telemetry
from mercato.platform.db import Database
from mercato.platform.events import DomainEvent, Envelope
from mercato.platform.messaging import Broker
from mercato.platform.shutdown import Stopping, stop_tasks, wait_event
from mercato.platform.sql import Sql

log = logging.getLogger(__name__)


def outbox_table(metadata: MetaData) -> Table:
    return Table(
        "outbox",
        metadata,
        Column("id", UUID(as_uuid=True), primary_key=True),
        Column("seq", BigInteger, Identity(always=True), nullable=False, unique=True),
        Column("subject", Text, nullable=False),
        Column("body", LargeBinary, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("published_at", DateTime(timezone=True)),
        Column("attempts", Integer, nullable=False, server_default="0"),
        Column("next_attempt_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("last_error", Text),
        Index("outbox_pending_idx", "seq", postgresql_where=text("published_at IS NULL")),
    )


def outbox_insert_sql(schema: str) -> str:
    """An INSERT of `EmbeddedEvents.params()` into `schema`'s outbox, for a branch of a data-modifying
    CTE: a store that writes its change in one statement writes the change's events in it too. The
    rows are inserted in their order (their `seq`, the order the poll publishes them in)."""
    return (
        f"INSERT INTO {schema}.outbox (id, subject, body, next_attempt_at) "
        "SELECT e.id, e.subject, e.body, now() + make_interval(secs => :outbox_after) "
        "FROM unnest(CAST(:outbox_ids AS uuid[]), CAST(:outbox_subjects AS text[]), "
        "CAST(:outbox_bodies AS bytea[])) WITH ORDINALITY AS e(id, subject, body, n)"
    )


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One event as its transaction wrote it: what the relay publishes."""

    id: uuid.UUID
    subject: str
    body: bytes
    headers: dict[str, str]  # `Nats-Msg-Id` and the writer's trace context


class Outbox:
    """Writes a context's events into its outbox table."""

    def __init__(self, table: Table, namespace: str) -> None:
        self.table = table
        self.namespace = namespace
        # The same INSERT the stores embed in their statements, sent straight to asyncpg (`platform.sql`).
        self._insert = Sql(outbox_insert_sql(self.schema))

    @property
    def schema(self) -> str:
        assert self.table.schema is not None
        return self.table.schema

    def rows(self, events: Sequence[DomainEvent]) -> list[OutboxRow]:
        """`events` as the rows to insert and publish, in their order."""
        # Every event of one transaction continues the same trace: the request or message handling it.
        trace = telemetry.trace_carrier()
        trace_headers = {k: v for k, v in trace.items() if k in telemetry.TRACE_KEYS}
        rows = []
        for event in events:
            envelope = Envelope.of(event, trace)
            rows.append(
                OutboxRow(
                    envelope.id,
                    envelope.subject(self.namespace),
                    envelope.to_json(),
                    {"Nats-Msg-Id": str(envelope.id), **trace_headers},
                )
            )
        return rows

    async def write(
        self, conn: AsyncConnection, events: Sequence[DomainEvent], *, publish_after: float = 0.0
    ) -> list[OutboxRow]:
        """Insert `events`, in their order, and return them as rows to publish. The poll leaves them
        alone for `publish_after` seconds, which is the time their relay has to publish them first."""
        rows = self.rows(events)
        # One INSERT whatever the number of events; due by the database's clock, not this process's:
        # the poll compares with now() of another process.
        params = {
            "outbox_ids": [r.id for r in rows],
            "outbox_subjects": [r.subject for r in rows],
            "outbox_bodies": [r.body for r in rows],
            "outbox_after": float(publish_after),
        }
        await self._insert.execute(conn, params)
        return rows


def _headers(event_id: uuid.UUID, body: bytes) -> dict[str, str]:
    headers = {"Nats-Msg-Id": str(event_id)}
    # An event written outside any trace has `"trace":{}` and costs no second parse.
    if b'"traceparent"' in body:
        trace = orjson.loads(body).get("trace")
        if isinstance(trace, dict):
            headers.update(
                (k, v) for k, v in trace.items() if k in telemetry.TRACE_KEYS and isinstance(v, str)
            )
    return headers


def _no_heartbeat() -> None:
    pass


# A hook between publishing and marking rows published; tests use it to simulate a crash there.
AfterPublishHook = Callable[[Sequence[uuid.UUID]], Awaitable[None]]


class OutboxRelay:
    """Publishes one context's outbox: rows handed to it after their commit, at once, and rows left
    behind, by a poll every `poll_interval` seconds. The poll is the safety net."""

    def __init__(
        self,
        db: Database,
        outbox: Outbox,
        broker: Broker,
        *,
        batch_size: int = 200,
        poll_interval: float = 2.0,
        publish_grace: float = 5.0,
        mark_interval: float = 1.0,
        max_backoff: float = 30.0,
        max_handed: int = 10_000,
    ) -> None:
        self.db = db
        self.outbox = outbox
        self.broker = broker
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        # Must exceed the time a hand-off takes to publish and get marked; otherwise the poll publishes
        # the same rows a second time (harmless, wasted).
        self.publish_grace = publish_grace
        self.mark_interval = mark_interval
        self.max_backoff = max_backoff
        # The most rows waiting to be published; more (a broker that hangs) are left to the poll.
        self.max_handed = max_handed
        self.after_publish: AfterPublishHook | None = None
        self._wake = asyncio.Event()
        self._schema = outbox.schema
        self._mark_sql = Sql(f"UPDATE {self._schema}.outbox SET published_at = now() WHERE id = ANY(:ids)")
        self._handed: deque[OutboxRow] = deque()
        self._more = asyncio.Event()
        self._unmarked: list[uuid.UUID] = []  # published after a hand-off, not yet marked
        # When the oldest unmarked row is marked: a mark waits `mark_interval` to take others with it.
        self._mark_due: float | None = None
        self._publisher: asyncio.Task[None] | None = None
        # Publishing runs in the relay's context, not the committing request's: its SQL is the relay's
        # (statement counters, the bench's attribution) and so is its lifetime.
        self._context = contextvars.copy_context()
        self._closed = False
        self.stopping = Stopping()  # `run` returns at its next turn (see `platform.shutdown`)
        self._next_poll: float | None = None  # when `run` polls next; None while it polls or is not running
        # Called at every turn of `run`: the watchdog's sign that the poll is not wedged.
        self.heartbeat: Callable[[], None] = _no_heartbeat

    @property
    def accepting(self) -> bool:
        """Whether rows handed off now will be published (false once the relay is closed)."""
        return not self._closed

    def wake(self) -> None:
        """Ask the relay to poll the outbox now rather than at its next poll."""
        self._wake.set()

    # -- publishing right after commit ---------------------------------------------------------

    def hand_off(self, rows: Sequence[OutboxRow]) -> None:
        """Publish `rows`, which have just committed, after those handed earlier. This returns at once
        and never fails: a row that is not published stays for the poll, which takes it after the grace.
        """
        if self._closed or not rows:
            return
        if len(self._handed) + len(rows) > self.max_handed:
            log.warning(
                "outbox %s: %d events left to the poll (publishing is behind)", self._schema, len(rows)
            )
            return
        self._handed.extend(rows)
        self._more.set()
        if self._publisher is None or self._publisher.done():
            self._publisher = asyncio.get_running_loop().create_task(
                self._publishing(), context=self._context.copy()
            )

    async def _publishing(self) -> None:
        """The one publisher task: batches of hand-offs in order, then the marks once due."""
        loop = asyncio.get_running_loop()
        while True:
            if self._handed:
                batch = [self._handed.popleft() for _ in range(min(len(self._handed), self.batch_size))]
                await self._publish_handed(batch)
                continue
            if not self._unmarked:
                return
            due, next_poll = self._mark_due, self._next_poll
            if self._closed or due is None:
                wait = 0.0
            elif next_poll is not None and next_poll <= due:
                return  # the poll comes first: it marks them in the transaction it runs anyway
            else:
                wait = due - loop.time()
            if wait > 0:
                self._more.clear()
                await wait_event(self._more, wait)
                continue
            if not await self.mark_published():
                return  # the database failed: the next poll or hand-off marks them

    async def _publish_handed(self, batch: Sequence[OutboxRow]) -> None:
        try:
            outcomes = await self._publish(batch)
        except Exception as exc:  # noqa: BLE001 - the broker is gone: every row waits for the poll
            outcomes = [exc] * len(batch)
        failures = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
        self._unmarked.extend(
            row.id
            for row, outcome in zip(batch, outcomes, strict=True)
            if not isinstance(outcome, BaseException)
        )
        if self._unmarked and self._mark_due is None:
            self._mark_due = asyncio.get_running_loop().time() + self.mark_interval
        if failures:
            log.warning(
                "outbox %s: %d events not published, the poll retries them in %.1f s: %r",
                self._schema,
                len(failures),
                self.publish_grace,
                failures[0],
            )

    async def mark_published(self) -> bool:
        """Mark what hand-offs published, in one UPDATE; false if the database failed (they stay
        pending, for the next try)."""
        ids = self._take_unmarked()
        if not ids:
            return True
        try:
            # One statement on its own (no BEGIN/COMMIT round trips): the UPDATE is atomic by itself.
            await self._mark_sql.run_alone(self.db, {"ids": ids})
        except Exception:
            log.exception("outbox %s: marking %d events published failed", self._schema, len(ids))
            self._keep_unmarked(ids)
            return False
        return True

    def _take_unmarked(self) -> list[uuid.UUID]:
        ids, self._unmarked, self._mark_due = self._unmarked, [], None
        return ids

    def _keep_unmarked(self, ids: list[uuid.UUID]) -> None:
        """Marking `ids` failed: they wait for the next mark, a mark interval from now at the latest."""
        self._unmarked[:0] = ids
        if ids:
            self._mark_due = asyncio.get_running_loop().time() + self.mark_interval

    async def close(self, wait_seconds: float = 5.0) -> None:
        """Shutdown: take no more hand-offs, publish those taken and mark what was published. Rows it
        cannot finish within `wait_seconds` stay for another process's poll."""
        self._closed = True
        self._more.set()  # a publisher waiting for the mark interval marks now
        publisher = self._publisher
        if publisher is not None and not publisher.done():
            # Waited for, not awaited: a timeout here must not cancel it before `stop_tasks` does.
            await asyncio.wait({publisher}, timeout=wait_seconds)
            await stop_tasks([publisher], grace=1.0)
        self._handed.clear()
        await self.mark_published()

    # -- the fallback poll ---------------------------------------------------------------------

    async def run(self) -> None:
        # The task that runs the relay owns the publishing it starts (see `_context`).
        self._context = contextvars.copy_context()
        loop = asyncio.get_running_loop()
        try:
            while not self.stopping:
                self._next_poll = None
                try:
                    published = await self.publish_pending()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("outbox relay for %s failed; retrying", self._schema)
                    published = 0
                self.heartbeat()
                if published >= self.batch_size:
                    continue  # more may be waiting
                self._next_poll = loop.time() + self.poll_interval
                await wait_event(self._wake, self.poll_interval)
                self._wake.clear()
                self.heartbeat()
        finally:
            self._next_poll = None

    async def due(self, statement_timeout_ms: int = 1000) -> int:
        """Rows the poll should publish now (unpublished, past their grace): the relay's backlog."""
        async with self.db.connect() as conn:
            await conn.execute(text(f"SET LOCAL statement_timeout = {int(statement_timeout_ms)}"))
            found = await conn.execute(
                text(
                    f"SELECT count(*) FROM {self._schema}.outbox "
                    "WHERE published_at IS NULL AND next_attempt_at <= now()"
                )
            )
            return int(found.scalar_one())

    async def publish_pending(self) -> int:
        """One poll, in one transaction: claim a batch of due rows and publish them, then mark them and
        whatever hand-offs published since the last mark in one UPDATE. Returns how many rows it
        claimed and published."""
        schema = self._schema
        handed = self._take_unmarked()
        try:
            async with self.db.engine.begin() as conn:
                result = await conn.execute(
                    text(
                        f"SELECT id, subject, body FROM {schema}.outbox "
                        "WHERE published_at IS NULL AND next_attempt_at <= now() "
                        "ORDER BY seq LIMIT :limit FOR UPDATE SKIP LOCKED"
                    ),
                    {"limit": self.batch_size},
                )
                rows = [OutboxRow(r.id, r.subject, r.body, _headers(r.id, r.body)) for r in result]
                done: list[uuid.UUID] = []
                failed: list[tuple[uuid.UUID, str]] = []
                if rows:
                    outcomes = await self._publish(rows)
                    for row, outcome in zip(rows, outcomes, strict=True):
                        if isinstance(outcome, BaseException):
                            failed.append((row.id, repr(outcome)[:500]))
                        else:
                            done.append(row.id)
                    if self.after_publish is not None:
                        await self.after_publish(done)
                if handed or done:
                    await self._mark(conn, [*handed, *done])
                if failed:
                    log.warning("outbox %s: %d events not published: %s", schema, len(failed), failed[0][1])
                    await conn.execute(
                        text(
                            f"UPDATE {schema}.outbox SET attempts = attempts + 1, last_error = :error, "
                            "next_attempt_at = now() + "
                            "make_interval(secs => least(:max, 0.2 * power(2, attempts))) "
                            "WHERE id = ANY(:ids)"
                        ),
                        {
                            "ids": [row_id for row_id, _ in failed],
                            "error": failed[0][1],
                            "max": self.max_backoff,
                        },
                    )
        except BaseException:
            self._keep_unmarked(handed)
            raise
        return len(done)

    async def _publish(self, rows: Sequence[OutboxRow]) -> list[object]:
        """Publish `rows` concurrently over the one connection, in their order (each publish is written
        to the connection before the next starts); the outcome of each, an exception if it failed."""
        js = self.broker.js
        return await asyncio.gather(
            *(js.publish(row.subject, row.body, headers=row.headers) for row in rows), return_exceptions=True
        )

    async def _mark(self, conn: AsyncConnection, ids: Sequence[uuid.UUID]) -> None:
        await self._mark_sql.execute(conn, {"ids": list(ids)})

    async def prune(self, older_than_hours: int = 72) -> int:
        async with self.db.engine.begin() as conn:
            result = await conn.execute(
                text(
                    f"DELETE FROM {self._schema}.outbox "
                    "WHERE published_at < now() - make_interval(hours => :h)"
                ),
                {"h": older_than_hours},
            )
            return int(result.rowcount)
