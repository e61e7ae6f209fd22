"""Durable JetStream consumers with an inbox table: a redelivered message has no second effect.

For every message the consumer opens the context's unit of work, inserts (consumer, event id) into
`<schema>.inbox` and, only if that row is new, runs the handler in the same transaction. The
message is acknowledged after the commit. A crash before the ack means redelivery, and the inbox
row makes the second delivery a no-op. A handler that keeps failing is parked in
`<schema>.dead_letters` after `max_deliveries` attempts rather than blocking the stream.

Handling a message is a CONSUMER span, a child of the trace context the event was written in (the
message's `traceparent` header, else the envelope's `trace`), so the events a handler raises continue
the trace of the request that started it all.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import FetchTimeoutError
from opentelemetry.trace import SpanKind, Status, StatusCode
from sqlalchemy import Column, DateTime, LargeBinary, MetaData, PrimaryKeyConstraint, Table, Text, func, text
from sqlalchemy.dialects.postgresql import UUID

from mercato.platform import telemetry
from mercato.platform.db import Database
from mercato.platform.events import Envelope, stream_name
from mercato.platform.messaging import Broker
from mercato.platform.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


def inbox_table(metadata: MetaData) -> Table:
    return Table(
        "inbox",
        metadata,
        Column("consumer", Text, nullable=False),
        Column("event_id", UUID(as_uuid=True), nullable=False),
        Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        PrimaryKeyConstraint("consumer", "event_id"),
    )


def dead_letter_table(metadata: MetaData) -> Table:
    return Table(
        "dead_letters",
        metadata,
        Column("consumer", Text, nullable=False),
        Column("event_id", UUID(as_uuid=True), nullable=False),
        Column("subject", Text, nullable=False),
        Column("body", LargeBinary, nullable=False),
        Column("error", Text, nullable=False),
        Column("failed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        PrimaryKeyConstraint("consumer", "event_id"),
    )


Handler = Callable[[Envelope, UnitOfWork], Awaitable[None]]


@dataclass(frozen=True)
class Subscription:
    """`name` consumes events of `source_context` whose type is in `handlers`."""

    name: str
    source_context: str
    handlers: dict[str, Handler]


class EventConsumer:
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
    ) -> None:
        self.db = db
        self.broker = broker
        self.schema = schema
        self.subscription = subscription
        self.uow_factory = uow_factory
        self.batch_size = batch_size
        self.max_deliveries = max_deliveries
        self.ack_wait = ack_wait
        self.durable = f"{broker.namespace}_{schema}_{subscription.name}"
        self.stream = stream_name(broker.namespace, subscription.source_context)
        self._psub: JetStreamContext.PullSubscription | None = None

    async def start(self) -> None:
        stream = await self.broker.ensure_stream(self.subscription.source_context)
        subject = f"{self.broker.namespace}.{self.subscription.source_context}.>"
        self._psub = await self.broker.js.pull_subscribe(
            subject,
            durable=self.durable,
            stream=self.stream,
            config=ConsumerConfig(
                ack_policy=AckPolicy.EXPLICIT,
                deliver_policy=DeliverPolicy.ALL,
                ack_wait=self.ack_wait,
                max_deliver=self.max_deliveries + 1,
            ),
        )
        log.debug("consumer %s on %s started", self.durable, stream)

    async def stop(self) -> None:
        """Stop fetching; the durable consumer stays on the server and resumes where it left off."""
        if self._psub is not None:
            await self._psub.unsubscribe()
            self._psub = None

    async def pending(self) -> int:
        """This consumer's lag: messages of its stream not delivered yet plus delivered and not acked.

        Read from the durable consumer on the server, so every replica reports the same number."""
        info = await self.broker.js.consumer_info(self.stream, self.durable)
        return int(info.num_pending or 0) + int(info.num_ack_pending or 0)

    async def run(self) -> None:
        if self._psub is None:
            await self.start()
        while True:
            try:
                await self.poll(wait=1.0)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("consumer %s failed; retrying", self.durable)
                await asyncio.sleep(0.5)

    async def poll(self, wait: float = 1.0) -> int:
        """Fetch and handle one batch; returns the number of messages handled."""
        if self._psub is None:
            await self.start()
        try:
            assert self._psub is not None
            messages: list[Msg] = await self._psub.fetch(self.batch_size, timeout=wait)
        except (FetchTimeoutError, TimeoutError):
            return 0
        for msg in messages:
            await self.handle(msg)
        return len(messages)

    async def handle(self, msg: Msg) -> None:
        envelope = Envelope.from_json(msg.data)
        handler = self.subscription.handlers.get(envelope.type)
        if handler is None:
            await msg.ack()  # not an event this consumer cares about
            return
        with telemetry.tracer(__name__).start_as_current_span(
            f"process {envelope.type}",
            context=telemetry.extract(_trace_of(msg, envelope)),
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "nats",
                "messaging.operation.type": "process",
                "messaging.destination.name": msg.subject,
                "messaging.consumer.group.name": self.durable,
                "messaging.message.id": str(envelope.id),
            },
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                async with self.uow_factory() as uow:
                    inserted = await uow.conn.execute(
                        text(
                            f"INSERT INTO {self.schema}.inbox (consumer, event_id) VALUES (:c, :e) "
                            "ON CONFLICT DO NOTHING RETURNING 1"
                        ),
                        {"c": self.subscription.name, "e": envelope.id},
                    )
                    duplicate = inserted.first() is None
                    span.set_attribute("mercato.inbox.duplicate", duplicate)
                    if not duplicate:
                        await handler(envelope, uow)
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


def _trace_of(msg: Msg, envelope: Envelope) -> dict[str, str]:
    """The W3C entries the event was published with: headers first (what the relay set), else the body."""
    headers = msg.headers or {}
    if telemetry.TRACEPARENT in headers:
        return {k: headers[k] for k in telemetry.TRACE_KEYS if k in headers}
    return envelope.trace
