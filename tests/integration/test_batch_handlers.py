"""Set-based batch handlers in the inbox consumer: consecutive new messages of a type with a batch
handler go to it together, fetch order is kept across types, a redelivery inside a batch runs once,
and a poisoned message is isolated by the one-at-a-time retry, each message a run of one.

Uses the bed of `test_batched_consumer` (a schema and a stream per test): notes of kind `noted` have
a batch handler that writes all their effects in one statement; notes of kind `single` have a
per-message handler."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import text

from mercato.platform import telemetry
from mercato.platform.events import Envelope
from mercato.platform.inbox import EventConsumer, Subscription
from mercato.platform.inbox_tracing import within_message
from mercato.platform.unit_of_work import UnitOfWork
from tests.integration.test_batched_consumer import NOTED, Bed, Echoed, Poison, bed, drained, spans

__all__ = ["bed", "spans"]  # the fixtures, used by name

SINGLE = "single"


class Runs:
    """What the batch handler was called with, in order: the notes of each call."""

    def __init__(self, bed: Bed) -> None:
        self.bed = bed
        self.calls: list[list[str]] = []

    async def handle_many(self, envelopes: Sequence[Envelope], uow: UnitOfWork) -> None:
        notes = [str(e.payload["note"]) for e in envelopes]
        self.calls.append(notes)
        await uow.conn.execute(
            text(
                f"INSERT INTO {self.bed.schema}.effects (event_id, note) "
                "SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:notes AS text[]))"
            ),
            {"ids": [e.id for e in envelopes], "notes": notes},
        )
        uow.add_events([Echoed(aggregate_id=note, note=note) for note in notes])
        if any(note.startswith("bad") for note in notes):
            raise Poison(",".join(notes))

    def consumer(self, **options: float) -> EventConsumer:
        context = self.bed.context
        subscription = Subscription(
            name="bed",
            source_context=context,
            handlers={f"{context}.{SINGLE}": self.bed.handle},
            batch_handlers={f"{context}.{NOTED}": self.handle_many},
        )
        return EventConsumer(
            self.bed.db,
            self.bed.broker,
            self.bed.schema,
            subscription,
            lambda: UnitOfWork(self.bed.db, self.bed.outbox),
            **options,  # type: ignore[arg-type]
        )


async def test_runs_of_one_type_go_to_the_batch_handler_together_in_fetch_order_across_types(
    bed: Bed,
) -> None:
    # Given batched notes, a note of a per-message type between them, and more batched notes
    runs = Runs(bed)
    await bed.publish("a1", "a2")
    await bed.publish("s1", kind=SINGLE)
    await bed.publish("a3", "a4", "a5")
    consumer = runs.consumer()

    # When one poll fetches them
    with bed.db.count_statements() as counter:
        assert await consumer.poll(wait=1.0) == 6
    await consumer.stop()

    # Then the batch handler ran twice, once per run, and the per-message one between them
    assert runs.calls == [["a1", "a2"], ["a3", "a4", "a5"]]
    assert bed.runs == {"s1": 1}
    assert await bed.effects() == ["a1", "a2", "s1", "a3", "a4", "a5"]
    assert await bed.echoed() == ["a1", "a2", "s1", "a3", "a4", "a5"]
    # One claim, one statement per run, one outbox INSERT, one commit
    assert (counter.count, counter.commits) == (1 + 3 + 1, 1), counter.statements
    assert await drained(consumer)


async def test_a_redelivered_message_inside_a_batch_is_left_out_of_its_run(bed: Bed) -> None:
    # Given a batched message already handled
    runs = Runs(bed)
    consumer = runs.consumer()
    [first] = await bed.publish("first")
    assert await consumer.poll(wait=1.0) == 1

    # When it comes again in a batch, between two new ones, one of which also arrives twice
    await bed.republish(first)
    [new] = await bed.publish("new")
    await bed.publish("next")
    await bed.republish(new)
    assert await consumer.poll(wait=1.0) == 4
    await consumer.stop()

    # Then the lone message was a run of one, and the batch's run held each new message once
    assert runs.calls == [["first"], ["new", "next"]]
    assert await bed.effects() == ["first", "new", "next"]
    assert len(await bed.inbox()) == 3
    assert await drained(consumer)


async def test_a_poisoned_message_in_a_run_is_isolated_by_retrying_one_message_at_a_time(bed: Bed) -> None:
    # Given a run whose middle message fails
    runs = Runs(bed)
    good = await bed.publish("a", "bad", "b")
    consumer = runs.consumer(max_deliveries=5)

    # When it is polled
    with bed.db.count_statements() as counter:
        assert await consumer.poll(wait=1.0) == 3
    await consumer.stop()

    # Then the run was rolled back whole, then each message ran alone as a run of one: the good ones
    # committed once, the bad one left nothing
    assert runs.calls == [["a", "bad", "b"], ["a"], ["bad"], ["b"]]
    assert await bed.effects() == ["a", "b"]
    assert await bed.echoed() == ["a", "b"]
    assert await bed.inbox() == {good[0].id, good[2].id}
    assert counter.commits == 2


async def test_a_batch_handler_enters_each_messages_span_for_what_it_writes_for_that_message(
    bed: Bed, spans: InMemorySpanExporter
) -> None:
    # Given two batched messages written in two traces
    roots: list[str] = []
    for note in ("a", "b"):
        with telemetry.tracer("tests").start_as_current_span(f"write {note}") as root:
            carrier = telemetry.trace_carrier()
        roots.append(f"{root.get_span_context().trace_id:032x}")
        envelope = Envelope(
            uuid.uuid4(), f"{bed.context}.{NOTED}", 1, datetime.now(UTC), note, {"note": note}, carrier
        )
        await bed.republish(envelope)
    seen: list[str] = []

    async def handle_many(envelopes: Sequence[Envelope], uow: UnitOfWork) -> None:
        for envelope in envelopes:
            with within_message(envelope):
                seen.append(telemetry.trace_carrier()["traceparent"].split("-")[1])

    subscription = Subscription(
        name="bed",
        source_context=bed.context,
        handlers={},
        batch_handlers={f"{bed.context}.{NOTED}": handle_many},
    )
    consumer = EventConsumer(
        bed.db, bed.broker, bed.schema, subscription, lambda: UnitOfWork(bed.db, bed.outbox)
    )

    # When they are applied as one run
    assert await consumer.poll(wait=1.0) == 2
    await consumer.stop()

    # Then, inside the run, each message's work continued its own trace
    assert seen == roots
