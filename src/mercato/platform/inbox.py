"""Durable JetStream consumers with an inbox table: a redelivered message has no second effect.

Group commit. A consumer fetches what its durable consumer has for it, up to `batch_size` messages
(a fetch returns as soon as one message is there: a lone message never waits for a batch to fill), and
applies the batch in one unit of work: one multi-row INSERT claims every message in `<schema>.inbox`,
the handlers of the newly claimed messages run in fetch order on that unit of work, one commit, then
every message is acknowledged. A message whose inbox row already exists (a redelivery) is acknowledged
without its handler running again. Under load the batches fill, so one transaction, one claim and one
commit serve more messages as load grows.

Poison isolation. If the batch fails (a handler raises, a deadlock with a concurrent batch, a
serialization failure), it is rolled back whole and retried one message at a time, each in a unit of
work of its own: the good messages commit, and the bad one is nak'ed with backoff, then parked in
`<schema>.dead_letters` after `max_deliveries` attempts rather than blocking the stream. A crash before
the ack means redelivery, and the inbox row makes the second delivery a no-op.

Set-based handlers. A subscription may declare, per event type, a batch handler
(`Subscription.batch_handlers`) that applies many messages of that type at once, in a constant number
of statements. The newly claimed messages of a batch are cut into runs: consecutive messages of one
type with a batch handler form one run (fetch order is kept across types, so a reserve and then a
release of one order stay in that order), every other message is a run of one for its own handler. A
lone message, and each message of the one-at-a-time retry, is a run of one for its batch handler.

Handlers must be batch-safe. A handler's unit of work holds other messages' work too: it never commits
nor rolls it back (in a batch, `uow.commit()` raises and an ended transaction fails the batch). To undo
part of its own work it uses a savepoint (`async with uow.conn.begin_nested():`) and adds events only
for what it keeps. What it does outside the transaction (a cache drop, a call) must be idempotent,
since a handler of a failed batch runs again.

Handlers idempotent by themselves. A subscription declared with `inbox=False` (its handlers' whole
effect is a write guarded by a version) claims no inbox row: a redelivery runs again and changes nothing.

Tracing: `inbox_tracing` (a span per message, one per batch, linked). Declarations (subscriptions,
tables): `inbox_schema`, re-exported here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Sequence

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode
from sqlalchemy import text

from mercato.platform.business_metrics import consumer_redeliveries, dead_letters
from mercato.platform.db import Database
from mercato.platform.events import Envelope, stream_name
from mercato.platform.inbox_delivery import (
    BATCH_LIFE_SECONDS,
    Delivery,
    HandlerBrokeTheBatch,
    kept_in_progress,
    no_heartbeat,
    redelivered,
    refuse_commit,
)
from mercato.platform.inbox_schema import (
    BatchHandler,
    Handler,
    Subscription,
    dead_letter_table,
    inbox_table,
)
from mercato.platform.inbox_tracing import (
    DUPLICATE,
    ROLLED_BACK,
    batch_span,
    end,
    log_fields_of,
    message_span,
    run_of,
)
from mercato.platform.logs import log_fields
from mercato.platform.messaging import Broker, fetch_ready
from mercato.platform.shutdown import Stopping
from mercato.platform.sql import Sql
from mercato.platform.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

# Declared beside, re-exported: contexts import them from here.
__all__ = [
    "BATCH_LIFE_SECONDS",
    "BatchHandler",
    "EventConsumer",
    "Handler",
    "HandlerBrokeTheBatch",
    "Subscription",
    "dead_letter_table",
    "inbox_table",
]


class EventConsumer:
    """One durable consumer of one subscription. `run()` keeps up to `concurrency` batches in flight
    (fetching the next while others commit); `poll()` fetches and applies one batch."""

    def __init__(
        self,
        db: Database,
        broker: Broker,
        schema: str,
        subscription: Subscription,
        uow_factory: Callable[[], UnitOfWork],
        *,
        batch_size: int = 100,
        max_deliveries: int = 10,
        ack_wait: float = 10.0,
        concurrency: int = 1,
        fetch_wait: float = 1.0,
    ) -> None:
        self.db = db
        self.broker = broker
        self.schema = schema
        self.subscription = subscription
        self.uow_factory = uow_factory
        # The subscription's own limits, if it declares them, over the process's.
        self.batch_size = subscription.batch_size or batch_size
        # What the next fetch asks for: halved after a failed batch, doubled after one that committed,
        # so concurrent batches that keep deadlocking on the same rows shrink instead of retrying whole.
        self.fetch_limit = self.batch_size
        self.max_deliveries = max_deliveries
        self.ack_wait = ack_wait
        self.concurrency = max(1, subscription.concurrency or concurrency)
        self.fetch_wait = fetch_wait
        self.durable = f"{broker.namespace}_{schema}_{subscription.name}"
        self.stream = stream_name(broker.namespace, subscription.source_context)
        self._psub: JetStreamContext.PullSubscription | None = None
        # Checked at every turn of `run`: a cancellation lost inside the NATS client must not keep it going.
        self.stopping = Stopping()
        # Called at every turn of `run` (a fetch returned, empty or not): the watchdog's sign of life.
        self.heartbeat: Callable[[], None] = no_heartbeat
        # Sent straight to asyncpg (`platform.sql`): one claim per batch and per lone message.
        self._claim = Sql(
            f"INSERT INTO {schema}.inbox (consumer, event_id) "
            "SELECT CAST(:consumer AS text), e FROM unnest(CAST(:event_ids AS uuid[])) AS e "
            "ON CONFLICT DO NOTHING RETURNING event_id"
        )
        self._claim_one = Sql(
            f"INSERT INTO {schema}.inbox (consumer, event_id) VALUES (:c, :e) "
            "ON CONFLICT DO NOTHING RETURNING 1"
        )

    async def start(self) -> None:
        self._psub = await self.broker.durable_pull(
            self.subscription.source_context,
            self.durable,
            ack_wait=self.ack_wait,
            max_deliveries=self.max_deliveries,
            event_types=self.subscription.event_types(),
        )
        log.debug("consumer %s on %s started", self.durable, self.stream)

    async def stop(self) -> None:
        """Stop fetching; the durable consumer stays on the server and resumes where it left off."""
        if self._psub is not None:
            await self._psub.unsubscribe()
            self._psub = None

    async def resubscribe(self, wait: float = 2.0) -> None:
        """Let go of the subscription (a fetch wedged on it goes with it) and take a new one; the
        durable consumer on the server keeps the messages and their ack state."""
        psub, self._psub = self._psub, None
        if psub is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(wait):
                    await psub.unsubscribe()
        await self.start()

    async def pending(self) -> int:
        """This consumer's lag: messages of its stream not delivered yet plus delivered and not acked.

        Read from the durable consumer on the server, so every replica reports the same number."""
        info = await self.broker.js.consumer_info(self.stream, self.durable)
        return int(info.num_pending or 0) + int(info.num_ack_pending or 0)

    async def run(self) -> None:
        """Fetch and apply batches until cancelled, up to `concurrency` of them at once. A slot is taken
        before fetching, so no fetched message waits for a slot while its ack wait runs."""
        if self._psub is None:
            await self.start()
        slots = asyncio.Semaphore(self.concurrency)
        in_flight: set[asyncio.Task[None]] = set()

        def done(task: asyncio.Task[None]) -> None:
            in_flight.discard(task)
            slots.release()
            if not task.cancelled() and task.exception() is not None:
                log.error("consumer %s: a batch failed", self.durable, exc_info=task.exception())

        loop = asyncio.get_running_loop()
        next_fetch = loop.time()
        try:
            while not self.stopping:
                await slots.acquire()
                if (delay := next_fetch - loop.time()) > 0:
                    await asyncio.sleep(delay)
                next_fetch = loop.time() + self.subscription.fetch_interval
                limit = self.fetch_limit
                try:
                    messages = await self._fetch(self.fetch_wait)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    self.heartbeat()
                    slots.release()
                    log.exception("consumer %s failed to fetch; retrying", self.durable)
                    await asyncio.sleep(0.5)
                    continue
                self.heartbeat()
                if len(messages) >= limit:
                    # A full batch: a backlog, which the interval (there to gather a trickle of
                    # messages into batches) would only drain slower. Fetch again at once.
                    next_fetch = loop.time()
                if not messages:
                    slots.release()
                    continue
                task = asyncio.create_task(self.handle(*messages))
                in_flight.add(task)
                task.add_done_callback(done)
        finally:
            # Unacknowledged messages of a cancelled batch are redelivered after their ack wait.
            for task in list(in_flight):
                task.cancel()
            await asyncio.gather(*in_flight, return_exceptions=True)

    async def poll(self, wait: float = 1.0) -> int:
        """Fetch and apply one batch; returns the number of messages fetched."""
        messages = await self._fetch(wait)
        if messages:
            await self.handle(*messages)
        return len(messages)

    async def _fetch(self, wait: float) -> list[Msg]:
        if self._psub is None:
            await self.start()
        assert self._psub is not None
        # What is available at once, else the first message to arrive within `wait`.
        return await fetch_ready(self._psub, self.fetch_limit, wait)

    async def handle(self, *messages: Msg) -> None:
        """Apply `messages` (a fetched batch, in order): one transaction for all of them, or, if that
        fails or there is only one to handle, one transaction each."""
        deliveries: list[Delivery] = []
        for msg in messages:
            if redelivered(msg):
                consumer_redeliveries.labels(self.subscription.name).inc()
            try:
                envelope = Envelope.from_json(msg.data)
            except Exception:  # no redelivery will ever parse it: drop it, loudly
                log.exception("consumer %s: dropping an unreadable message on %s", self.durable, msg.subject)
                await msg.term()
                continue
            wants = self.subscription.wants
            if not self.subscription.handles(envelope.type) or (wants is not None and not wants(envelope)):
                await msg.ack()  # not an event this consumer cares about
            else:
                deliveries.append(Delivery(msg, envelope))
        if not deliveries:
            return
        async with kept_in_progress(deliveries, self.ack_wait, self.heartbeat):
            if len(deliveries) == 1:
                await self._apply_alone(deliveries[0])
                return
            if not await self._apply_batch(deliveries):
                self.fetch_limit = max(1, len(deliveries) // 2)
                for delivery in deliveries:
                    await self._apply_alone(delivery)
                return
            self.fetch_limit = min(self.batch_size, self.fetch_limit * 2)
        for delivery in deliveries:
            # Buffered by the client and flushed together: no round trip is awaited per message.
            await delivery.msg.ack()

    async def _apply_batch(self, deliveries: Sequence[Delivery]) -> bool:
        """The whole batch in one unit of work; False (everything rolled back) if any of it failed."""
        spans = [message_span(d.msg, d.envelope, self.durable) for d in deliveries]
        batch = batch_span(spans, self.durable)
        failed: list[int] = []
        try:
            async with self.uow_factory() as uow:
                ids = [d.envelope.id for d in deliveries]
                claimed = set(await self._claim_all(uow, ids) if self.subscription.inbox else ids)
                new: list[int] = []
                for index, (delivery, span) in enumerate(zip(deliveries, spans, strict=True)):
                    # The same message twice in one fetch (a redelivery) runs once.
                    duplicate = delivery.envelope.id not in claimed
                    span.set_attribute(DUPLICATE, duplicate)
                    if not duplicate:
                        claimed.discard(delivery.envelope.id)
                        new.append(index)
                # A handler's commit would commit every claimed inbox row, those of the messages still
                # to run included: a later failure would then leave them claimed but never handled.
                commit = uow.commit
                uow.commit = refuse_commit  # type: ignore[method-assign]
                try:
                    for run in self.subscription.runs([deliveries[i].envelope for i in new]):
                        failed = [new[i] for i in run]
                        run_spans = [spans[i] for i in failed]
                        await self._apply_run([deliveries[i].envelope for i in failed], run_spans, batch, uow)
                finally:
                    uow.commit = commit  # type: ignore[method-assign]
                failed = []
                with trace.use_span(batch, record_exception=False, set_status_on_exception=False):
                    await uow.commit()
        except asyncio.CancelledError:
            end(batch, *spans)
            raise
        except Exception as exc:  # noqa: BLE001 - any failure: roll back, then one message at a time
            log.info(
                "consumer %s: batch of %d rolled back, retrying one at a time: %r",
                self.durable,
                len(deliveries),
                exc,
            )
            batch.record_exception(exc)
            batch.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            for index, span in enumerate(spans):
                span.set_attribute(ROLLED_BACK, True)
                if index in failed:
                    span.record_exception(exc)
                    span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            end(batch, *spans)
            return False
        end(batch, *spans)
        return True

    async def _apply_run(
        self, run: Sequence[Envelope], spans: Sequence[Span], batch: Span, uow: UnitOfWork
    ) -> None:
        """One run of a batch (`Subscription.runs`) on the batch's unit of work: a lone message under its
        own span, several under the batch's (which links to theirs; `within_message` enters one)."""
        current = spans[0] if len(run) == 1 else batch
        with (
            trace.use_span(current, record_exception=False, set_status_on_exception=False),
            run_of(run, spans),
            log_fields(**log_fields_of(run[0])),
        ):
            log.debug("handling %d x %s", len(run), run[0].type)
            await self.subscription.apply_run(run, uow)
        if not uow.conn.in_transaction():
            raise HandlerBrokeTheBatch(f"{run[0].type} ended the shared transaction")

    async def _claim_all(self, uow: UnitOfWork, event_ids: list[uuid.UUID]) -> list[uuid.UUID]:
        """Insert the inbox rows of `event_ids` in one statement; returns the ids that were new."""
        params = {"consumer": self.subscription.name, "event_ids": event_ids}
        return [row[0] for row in await self._claim.fetch(uow.conn, params)]

    async def _apply_alone(self, delivery: Delivery) -> None:
        """One message in its own unit of work: acked after the commit, nak'ed or parked on failure."""
        msg, envelope = delivery.msg, delivery.envelope
        span = message_span(msg, envelope, self.durable)
        with trace.use_span(span, end_on_exit=True, record_exception=False, set_status_on_exception=False):
            try:
                async with self.uow_factory() as uow:
                    params = {"c": self.subscription.name, "e": envelope.id}
                    inbox = self.subscription.inbox
                    duplicate = inbox and await self._claim_one.first(uow.conn, params) is None
                    span.set_attribute(DUPLICATE, duplicate)
                    if not duplicate:
                        with log_fields(**log_fields_of(envelope)):
                            log.debug("handling %s alone", envelope.type)
                            await self.subscription.apply_run([envelope], uow)
                    await uow.commit()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any handler failure is retried, then parked
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
                await self._failed(msg, envelope, exc)
                return
            await msg.ack()

    async def _failed(self, msg: Msg, envelope: Envelope, exc: Exception) -> None:
        deliveries = msg.metadata.num_delivered or 1
        if deliveries < self.max_deliveries:
            log.warning("consumer %s: %s failed (try %d): %r", self.durable, envelope.type, deliveries, exc)
            await msg.nak(delay=min(30.0, 0.1 * 2**deliveries))
            return
        log.error("consumer %s: parking %s after %d tries: %r", self.durable, envelope.id, deliveries, exc)
        async with self.db.engine.begin() as conn:
            await conn.execute(
                text(
                    f"INSERT INTO {self.schema}.dead_letters (consumer, event_id, subject, body, error) "
                    "VALUES (:c, :e, :s, :b, :err) ON CONFLICT DO NOTHING"
                ),
                {
                    "c": self.subscription.name,
                    "e": envelope.id,
                    "s": msg.subject,
                    "b": msg.data,
                    "err": repr(exc)[:2000],
                },
            )
        await msg.term()
        dead_letters.labels(self.subscription.name).inc()
