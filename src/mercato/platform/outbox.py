"""Transactional outbox and its relay to NATS JetStream.

Each context owns `<schema>.outbox`. Rows are written by `UnitOfWork.commit()` in the business
transaction. The relay claims unpublished rows with `FOR UPDATE SKIP LOCKED` (so several relays
may run side by side), publishes each with `Nats-Msg-Id` = event id, and marks them published in
the same claim transaction. A relay that dies after publishing but before marking leaves the rows
unpublished; the next relay publishes them again and JetStream drops the duplicates inside its
dedup window, while consumers' inboxes drop any that arrive later.

The trace context of the transaction that wrote an event (`telemetry.trace_carrier()`) is kept in the
envelope's `trace` field, since the relay publishes later and elsewhere; the relay copies it into the
message's `traceparent`/`tracestate` headers, where consumers pick it up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence

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
    insert,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncConnection

from mercato.platform import telemetry
from mercato.platform.db import Database
from mercato.platform.events import DomainEvent, Envelope
from mercato.platform.messaging import Broker

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


class Outbox:
    """Writes a context's events into its outbox table."""

    def __init__(self, table: Table, namespace: str) -> None:
        self.table = table
        self.namespace = namespace

    @property
    def schema(self) -> str:
        assert self.table.schema is not None
        return self.table.schema

    async def write(self, conn: AsyncConnection, events: Sequence[DomainEvent]) -> None:
        rows = []
        # Every event of one transaction continues the same trace: the request or message handling it.
        trace = telemetry.trace_carrier()
        for event in events:
            envelope = Envelope.of(event, trace)
            rows.append(
                {"id": envelope.id, "subject": envelope.subject(self.namespace), "body": envelope.to_json()}
            )
        # One multi-row INSERT whatever the number of events.
        await conn.execute(insert(self.table).values(rows))


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


# A hook between publishing and marking rows published; tests use it to simulate a crash there.
AfterPublishHook = Callable[[Sequence[uuid.UUID]], Awaitable[None]]


class OutboxRelay:
    def __init__(
        self,
        db: Database,
        outbox: Outbox,
        broker: Broker,
        *,
        batch_size: int = 200,
        poll_interval: float = 0.5,
        max_backoff: float = 30.0,
    ) -> None:
        self.db = db
        self.outbox = outbox
        self.broker = broker
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.max_backoff = max_backoff
        self.after_publish: AfterPublishHook | None = None
        self._wake = asyncio.Event()
        self._schema = outbox.schema

    def wake(self) -> None:
        """Ask the relay to look at the outbox now rather than at its next poll."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                published = await self.publish_pending()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay for %s failed; retrying", self._schema)
                published = 0
            if published >= self.batch_size:
                continue  # more may be waiting
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval)
            self._wake.clear()

    async def publish_pending(self) -> int:
        """Publish one batch of pending rows; returns how many were published."""
        schema = self._schema
        async with self.db.engine.begin() as conn:
            result = await conn.execute(
                text(
                    f"SELECT id, subject, body FROM {schema}.outbox "
                    "WHERE published_at IS NULL AND next_attempt_at <= now() "
                    "ORDER BY seq LIMIT :limit FOR UPDATE SKIP LOCKED"
                ),
                {"limit": self.batch_size},
            )
            rows = result.all()
            if not rows:
                return 0
            js = self.broker.js
            outcomes = await asyncio.gather(
                *(js.publish(row.subject, row.body, headers=_headers(row.id, row.body)) for row in rows),
                return_exceptions=True,
            )
            done = [
                row.id
                for row, outcome in zip(rows, outcomes, strict=True)
                if not isinstance(outcome, BaseException)
            ]
            failed = [
                (row.id, repr(outcome)[:500])
                for row, outcome in zip(rows, outcomes, strict=True)
                if isinstance(outcome, BaseException)
            ]
            if self.after_publish is not None:
                await self.after_publish(done)
            if done:
                await conn.execute(
                    text(f"UPDATE {schema}.outbox SET published_at = now() WHERE id = ANY(:ids)"),
                    {"ids": done},
                )
            if failed:
                log.warning("outbox %s: %d events not published: %s", schema, len(failed), failed[0][1])
                await conn.execute(
                    text(
                        f"UPDATE {schema}.outbox SET attempts = attempts + 1, last_error = :error, "
                        "next_attempt_at = now() + "
                        "make_interval(secs => least(:max, 0.2 * power(2, attempts))) "
                        "WHERE id = ANY(:ids)"
                    ),
                    {"ids": [row_id for row_id, _ in failed], "error": failed[0][1], "max": self.max_backoff},
                )
            return len(done)

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
