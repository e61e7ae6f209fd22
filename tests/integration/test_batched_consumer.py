"""Group commit in the inbox consumer: a fetched batch applies in one transaction, a redelivery in it is
a no-op, and a poisoned message is isolated by retrying the batch one message at a time.

Each test gets a schema (inbox, dead letters, outbox, an `effects` table the handler writes) and a
stream of its own, so counts are exact."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import ClassVar

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy import MetaData, text

from mercato.platform import telemetry
from mercato.platform.db import Database
from mercato.platform.events import DomainEvent, Envelope
from mercato.platform.inbox import EventConsumer, Subscription, dead_letter_table, inbox_table
from mercato.platform.messaging import Broker
from mercato.platform.outbox import Outbox, outbox_table
from mercato.platform.unit_of_work import UnitOfWork

NOTED = "noted"


class Poison(Exception):
    pass


@dataclass(frozen=True, kw_only=True)
class Echoed(DomainEvent):
    context: ClassVar[str] = "bedtest"
    name: ClassVar[str] = "echoed"
    note: str


@dataclass
class Bed:
    """A consumer's world: `publish` notes, a handler that records each in `effects` (and raises an
    event), fails on notes starting with "bad" and ends the shared transaction on "rogue"."""

    db: Database
    broker: Broker
    schema: str
    context: str
    outbox: Outbox
    runs: Counter[str] = field(default_factory=Counter)
    slow_seconds: float = 0.0
    # Handlers running at this moment, and the most seen at once.
    running: int = 0
    most_running: int = 0

    async def publish(self, *notes: str, kind: str = NOTED) -> list[Envelope]:
        envelopes = [
            Envelope(uuid.uuid4(), f"{self.context}.{kind}", 1, datetime.now(UTC), note, {"note": note})
            for note in notes
        ]
        for envelope in envelopes:
            await self.republish(envelope)
        return envelopes

    async def republish(self, envelope: Envelope) -> None:
        """Publish `envelope` as a new stream message (no Nats-Msg-Id: the broker does not dedupe it),
        as a redelivery reaches a consumer."""
        await self.broker.js.publish(envelope.subject(self.broker.namespace), envelope.to_json())

    async def handle(self, envelope: Envelope, uow: UnitOfWork) -> None:
        note = str(envelope.payload["note"])
        self.runs[note] += 1
        await uow.conn.execute(
            text(f"INSERT INTO {self.schema}.effects (event_id, note) VALUES (:e, :n)"),
            {"e": envelope.id, "n": note},
        )
        uow.add_event(Echoed(aggregate_id=note, note=note))
        if self.slow_seconds:
            self.running += 1
            self.most_running = max(self.most_running, self.running)
            try:
                await asyncio.sleep(self.slow_seconds)
            finally:
                self.running -= 1
        if note.startswith("bad"):
            raise Poison(note)
        if note == "rogue":
            await uow.conn.rollback()
        if note == "committer":
            await uow.commit()

    def consumer(
        self,
        *,
        inbox: bool = True,
        wants: Callable[[Envelope], bool] | None = None,
        own_limits: tuple[int, int] | None = None,
        fetch_interval: float = 0.0,
        **options: float,
    ) -> EventConsumer:
        """`own_limits`: the subscription's (batch size, batches in flight); `options`: the consumer's."""
        subscription = Subscription(
            name="bed",
            source_context=self.context,
            handlers={f"{self.context}.{NOTED}": self.handle},
            inbox=inbox,
            wants=wants,
            batch_size=own_limits[0] if own_limits else None,
            concurrency=own_limits[1] if own_limits else None,
            fetch_interval=fetch_interval,
        )
        return EventConsumer(
            self.db,
            self.broker,
            self.schema,
            subscription,
            lambda: UnitOfWork(self.db, self.outbox),
            **options,  # type: ignore[arg-type]
        )

    async def rows(self, sql: str) -> list[tuple[object, ...]]:
        async with self.db.connect() as conn:
            return [tuple(r) for r in await conn.execute(text(sql.format(s=self.schema)))]

    async def effects(self) -> list[str]:
        return [str(r[0]) for r in await self.rows("SELECT note FROM {s}.effects ORDER BY seq")]

    async def inbox(self) -> set[uuid.UUID]:
        return {r[0] for r in await self.rows("SELECT event_id FROM {s}.inbox")}  # type: ignore[misc]

    async def echoed(self) -> list[str]:
        rows = await self.rows("SELECT body FROM {s}.outbox ORDER BY seq")
        return [str(Envelope.from_json(bytes(r[0])).payload["note"]) for r in rows]  # type: ignore[arg-type]


@pytest.fixture
async def bed(db: Database, broker: Broker) -> AsyncIterator[Bed]:
    schema, context = f"bed_{secrets.token_hex(4)}", f"bed{secrets.token_hex(4)}"
    metadata = MetaData(schema=schema)
    inbox_table(metadata)
    dead_letter_table(metadata)
    table = outbox_table(metadata)
    async with db.engine.begin() as conn:
        await conn.execute(text(f"CREATE SCHEMA {schema}"))
        await conn.run_sync(metadata.create_all)
        await conn.execute(
            text(f"CREATE TABLE {schema}.effects (seq bigserial PRIMARY KEY, event_id uuid, note text)")
        )
    await broker.ensure_stream(context)
    yield Bed(db, broker, schema, context, Outbox(table, broker.namespace))
    await broker.js.delete_stream(f"{broker.namespace}_{context}".upper())
    async with db.engine.begin() as conn:
        await conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))


async def drained(consumer: EventConsumer) -> bool:
    """Whether the server counts every message acknowledged (acks are not awaited one by one)."""
    for _ in range(200):
        if await consumer.pending() == 0:
            return True
        await asyncio.sleep(0.01)
    return False


async def test_a_batch_commits_in_one_transaction_with_one_inbox_claim(bed: Bed) -> None:
    # Given five messages and one of a type the consumer does not handle, all waiting
    notes = ["a", "b", "c", "d", "e"]
    await bed.publish("a", "b", "c")
    await bed.publish("x", kind="ignored")
    await bed.publish("d", "e")
    consumer = bed.consumer(batch_size=100)
    await consumer.start()

    # When one poll fetches them
    with bed.db.count_statements() as counter:
        fetched = await consumer.poll(wait=1.0)
    await consumer.stop()

    # Then the five of the handled type were fetched (the other one too where the server cannot
    # filter subjects, before NATS 2.10, and acknowledged unread), and one claim, five handlers, one
    # outbox INSERT for the five events, one commit
    assert fetched == (5 if bed.broker._filters_many() else 6)
    assert consumer.fetch_limit == 100
    claims = [s for s in counter.statements if s.startswith(f"INSERT INTO {bed.schema}.inbox")]
    assert len(claims) == 1
    assert counter.count == 1 + len(notes) + 1
    assert counter.commits == 1
    assert await bed.effects() == notes  # in fetch order
    assert await bed.echoed() == notes
    assert len(await bed.inbox()) == len(notes)
    assert await drained(consumer)


async def test_a_redelivered_message_inside_a_batch_is_a_no_op(bed: Bed) -> None:
    # Given a message already handled
    consumer = bed.consumer()
    [first] = await bed.publish("first")
    assert await consumer.poll(wait=1.0) == 1
    assert bed.runs == Counter({"first": 1})

    # When it comes again inside a batch, beside a new one that also arrives twice in the same fetch
    await bed.republish(first)
    [new] = await bed.publish("new")
    await bed.republish(new)
    with bed.db.count_statements() as counter:
        assert await consumer.poll(wait=1.0) == 3
    await consumer.stop()

    # Then only the new one ran, once, in one transaction: one claim, its effect, its event
    assert bed.runs == Counter({"first": 1, "new": 1})
    assert await bed.effects() == ["first", "new"]
    assert await bed.echoed() == ["first", "new"]
    assert await bed.inbox() == {first.id, new.id}
    assert counter.count == 3
    assert counter.commits == 1
    assert await drained(consumer)


async def test_a_subscription_without_inbox_claims_no_row_and_a_redelivery_runs_again(bed: Bed) -> None:
    # Given a consumer whose handlers are idempotent by themselves (no inbox), and a message it handled
    consumer = bed.consumer(inbox=False)
    [first] = await bed.publish("first")
    with bed.db.count_statements() as alone:
        assert await consumer.poll(wait=1.0) == 1

    # When that message comes again in a batch beside a new one
    await bed.republish(first)
    await bed.publish("new")
    with bed.db.count_statements() as batch:
        assert await consumer.poll(wait=1.0) == 2
    await consumer.stop()

    # Then no inbox row was claimed, and the redelivery ran its handler again: only the handler's own
    # guard (a version check) can make it a no-op, which is what `inbox=False` declares
    assert await bed.inbox() == set()
    assert bed.runs == Counter({"first": 2, "new": 1})
    assert (alone.count, alone.commits) == (2, 1)  # its effect and its event's outbox INSERT, no claim
    assert (batch.count, batch.commits) == (3, 1)  # two effects, one outbox INSERT, no claim
    assert await drained(consumer)


async def test_an_event_the_subscription_does_not_want_costs_no_transaction(bed: Bed) -> None:
    # Given a consumer that wants only notes not starting with "skip"
    consumer = bed.consumer(wants=lambda e: not str(e.payload["note"]).startswith("skip"))
    await bed.publish("skip-1")

    # When it polls that one alone, then a batch holding another unwanted one
    with bed.db.count_statements() as alone:
        assert await consumer.poll(wait=1.0) == 1
    await bed.publish("kept", "skip-2")
    with bed.db.count_statements() as batch:
        assert await consumer.poll(wait=1.0) == 2
    await consumer.stop()

    # Then the unwanted ones ran no handler and cost no SQL, and are acknowledged all the same
    assert alone.count == 0
    assert bed.runs == Counter({"kept": 1})
    assert (batch.count, batch.commits) == (3, 1)  # the kept one alone: claim, effect, outbox INSERT
    assert await bed.effects() == ["kept"]
    assert await drained(consumer)


async def test_a_failed_batch_is_rolled_back_whole_then_applied_one_message_at_a_time(bed: Bed) -> None:
    # Given a batch whose last message fails
    good = await bed.publish("a", "b")
    [bad] = await bed.publish("bad")
    consumer = bed.consumer(max_deliveries=5)

    # When it is polled
    with bed.db.count_statements() as counter:
        assert await consumer.poll(wait=1.0) == 3
    await consumer.stop()

    # Then the good handlers ran twice (in the batch, then alone) but their effects, inbox rows and events
    # exist once: the batch left nothing behind, or the lone retries would have been duplicates
    assert bed.runs == Counter({"a": 2, "b": 2, "bad": 2})
    assert await bed.effects() == ["a", "b"]
    assert await bed.echoed() == ["a", "b"]
    assert await bed.inbox() == {e.id for e in good}
    assert bad.id not in await bed.inbox()
    assert counter.commits == 2  # a alone and b alone; the batch and bad alone rolled back
    assert consumer.fetch_limit == 1  # the next fetch asks for half the failed batch (3 // 2)


async def test_a_poisoned_message_is_retried_then_parked_while_the_others_commit_once(bed: Bed) -> None:
    # Given a poisoned message between two good ones
    await bed.publish("a")
    [bad] = await bed.publish("bad-poison")
    await bed.publish("b")
    consumer = bed.consumer(max_deliveries=3)

    # When the consumer keeps polling until the poison is parked
    parked: list[tuple[object, ...]] = []
    for _ in range(60):
        await consumer.poll(wait=0.3)
        parked = await bed.rows("SELECT event_id, error FROM {s}.dead_letters")
        if parked:
            break
    await consumer.stop()

    # Then it was tried once per delivery (twice in the first: in the batch, then alone) and parked after
    # three deliveries; a ran in the batch and alone, b (after the poison) only alone: each committed once
    assert parked == [(bad.id, "Poison('bad-poison')")]
    assert bed.runs == Counter({"a": 2, "bad-poison": 4, "b": 1})
    assert await bed.effects() == ["a", "b"]
    assert bad.id not in await bed.inbox()
    assert await drained(consumer)
    assert await consumer.poll(wait=0.3) == 0  # terminated: never delivered again


async def test_a_handler_that_ends_the_shared_transaction_fails_the_batch_not_the_other_messages(
    bed: Bed,
) -> None:
    # Given a batch with a handler that rolls back the unit of work it shares (against the contract)
    await bed.publish("a", "rogue", "b")
    consumer = bed.consumer()

    # When it is polled
    assert await consumer.poll(wait=1.0) == 3
    await consumer.stop()

    # Then the batch is detected as broken and retried alone: a is not lost with it (b, after the rogue
    # handler, only ran alone)
    assert bed.runs == Counter({"a": 2, "rogue": 2, "b": 1})
    assert await bed.effects() == ["a", "b"]


async def test_a_handler_may_not_commit_the_batch_so_a_later_failure_loses_no_message(bed: Bed) -> None:
    # Given a batch where a handler commits, against the contract, and a later one fails
    await bed.publish("a", "committer", "bad", "b")
    consumer = bed.consumer()

    # When it is polled
    assert await consumer.poll(wait=1.0) == 4
    await consumer.stop()

    # Then the commit was refused (it would have committed the inbox rows of bad and b with it), so
    # the batch was retried alone: b is handled, and bad is not marked as handled
    assert bed.runs == Counter({"a": 2, "committer": 2, "bad": 1, "b": 1})
    assert await bed.effects() == ["a", "committer", "b"]
    assert len(await bed.inbox()) == 3


async def test_a_batch_longer_than_the_ack_wait_is_not_redelivered(bed: Bed) -> None:
    # Given a consumer whose ack wait is shorter than its batch takes
    bed.slow_seconds = 0.6
    await bed.publish("a", "b", "c")
    consumer = bed.consumer(ack_wait=1.0)

    # When the batch runs for 1.8 s
    assert await consumer.poll(wait=1.0) == 3

    # Then the messages were kept in progress: nothing comes back, each handler ran once
    assert await drained(consumer)
    assert await consumer.poll(wait=1.2) == 0
    await consumer.stop()
    assert bed.runs == Counter({"a": 1, "b": 1, "c": 1})


async def test_run_applies_every_message_once_with_batches_in_flight_concurrently(bed: Bed) -> None:
    # Given a consumer running two batches at a time, in small batches
    consumer = bed.consumer(batch_size=4, concurrency=2, fetch_wait=0.2)
    runner = asyncio.create_task(consumer.run())
    notes = [f"n{i:02}" for i in range(30)]

    # When messages keep arriving
    for i in range(0, len(notes), 3):
        await bed.publish(*notes[i : i + 3])
    for _ in range(300):
        if len(await bed.effects()) >= len(notes):
            break
        await asyncio.sleep(0.02)
    runner.cancel()
    with pytest.raises(asyncio.CancelledError):
        await runner
    await consumer.stop()

    # Then each was applied exactly once
    assert sorted(await bed.effects()) == notes
    assert bed.runs == Counter(dict.fromkeys(notes, 1))


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    with telemetry.use_tracer_provider(provider):
        yield memory
    provider.shutdown()


async def test_each_message_of_a_batch_has_its_consumer_span_and_the_batch_span_links_them(
    bed: Bed, spans: InMemorySpanExporter
) -> None:
    # Given two messages written in two traces
    roots = []
    for note in ("a", "b"):
        with telemetry.tracer("tests").start_as_current_span(f"write {note}") as root:
            trace = telemetry.trace_carrier()
        envelope = Envelope(
            uuid.uuid4(), f"{bed.context}.{NOTED}", 1, datetime.now(UTC), note, {"note": note}, trace
        )
        await bed.republish(envelope)
        roots.append(root.get_span_context())
    consumer = bed.consumer()

    # When they are applied as one batch
    assert await consumer.poll(wait=1.0) == 2
    await consumer.stop()

    # Then each has a CONSUMER span in its own trace, and one batch span links to both
    finished = spans.get_finished_spans()
    processed = [s for s in finished if s.name == f"process {bed.context}.{NOTED}"]
    assert [(s.parent.span_id if s.parent else None) for s in processed] == [r.span_id for r in roots]
    assert all(s.kind is SpanKind.CONSUMER and s.attributes is not None for s in processed)
    assert [s.attributes["mercato.inbox.duplicate"] for s in processed if s.attributes] == [False, False]
    [batch] = [s for s in finished if s.name == "process batch"]
    assert batch.attributes is not None and batch.attributes["messaging.batch.message_count"] == 2
    assert [link.context.span_id for link in batch.links] == [
        s.context.span_id for s in processed if s.context
    ]
    # ...and the batch's events continue the batch span's trace
    [body] = [r[0] for r in await bed.rows("SELECT body FROM {s}.outbox ORDER BY seq LIMIT 1")]
    assert batch.context is not None
    assert Envelope.from_json(bytes(body)).trace["traceparent"].split("-")[1] == (  # type: ignore[arg-type]
        f"{batch.context.trace_id:032x}"
    )


async def test_a_subscription_s_own_limits_run_small_batches_side_by_side(bed: Bed) -> None:
    # Given a subscription that asks for batches of 2, 3 at once, in a process whose settings say
    # batches of 100, one at a time, and handlers that wait (a payment provider)
    bed.slow_seconds = 0.5
    notes = [f"p{i}" for i in range(6)]
    await bed.publish(*notes)
    consumer = bed.consumer(own_limits=(2, 3), batch_size=100, concurrency=1, fetch_wait=0.2)

    # When it runs until all six are applied
    runner = asyncio.create_task(consumer.run())
    for _ in range(300):
        if len(await bed.effects()) >= len(notes):
            break
        await asyncio.sleep(0.02)
    runner.cancel()
    with pytest.raises(asyncio.CancelledError):
        await runner
    await consumer.stop()

    # Then three batches of two ran side by side (a batch runs its messages one after the other),
    # and each message was applied once
    assert (consumer.batch_size, consumer.concurrency) == (2, 3)
    assert bed.most_running == 3
    assert bed.runs == Counter(dict.fromkeys(notes, 1))


async def test_a_backlog_is_fetched_without_waiting_the_fetch_interval(bed: Bed) -> None:
    # Given a consumer that fetches at most every 60 s (to gather a trickle into batches), in
    # batches of 2, and a backlog of 6
    notes = [f"b{i}" for i in range(6)]
    await bed.publish(*notes)
    consumer = bed.consumer(fetch_interval=60.0, batch_size=2, fetch_wait=0.2)

    # When it runs
    runner = asyncio.create_task(consumer.run())
    for _ in range(300):
        if len(await bed.effects()) >= len(notes):
            break
        await asyncio.sleep(0.02)
    runner.cancel()
    with pytest.raises(asyncio.CancelledError):
        await runner
    await consumer.stop()

    # Then every full batch was followed by the next fetch at once: all six applied within the
    # first interval (without it, the third batch would wait two intervals, 120 s)
    assert await bed.effects() == notes
