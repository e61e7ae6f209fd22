"""The relay publishes a committed event at once, from the process that committed it; the poll is only
the fallback, for rows whose publish failed or whose process died before publishing.

Events here are of a type no consumer handles (`catalog.relay_test_pinged`), tagged per test so a test
sees only its own messages in the shared stream. "Time passes" by moving a row's `next_attempt_at`
back, so no test waits for a grace period.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

import pytest
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import FetchTimeoutError
from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy import text

from mercato.app.components import Engines, catalog_component
from mercato.app.host import Host
from mercato.catalog.adapters import tables
from mercato.platform.config import Settings
from mercato.platform.db import Database
from mercato.platform.events import DomainEvent, Envelope
from mercato.platform.messaging import Broker
from mercato.platform.outbox import Outbox, OutboxRelay, OutboxRow
from mercato.platform.unit_of_work import RelayHandoff, UnitOfWork
from tests.conftest import ref
from tests.service.catalog.builders import a_product

GRACE = 60.0  # longer than any test: only a hand-off or a rewound row gets published


@dataclass(frozen=True, kw_only=True)
class Pinged(DomainEvent):
    context: ClassVar[str] = "catalog"
    name: ClassVar[str] = "relay_test_pinged"

    tag: str
    n: int


@pytest.fixture(scope="module")
async def outbox(broker: Broker, namespace: str) -> Outbox:
    await broker.ensure_stream("catalog")
    return Outbox(tables.outbox, namespace)


def relay(db: Database, outbox: Outbox, broker: Broker, *, mark_interval: float = 60.0) -> OutboxRelay:
    return OutboxRelay(db, outbox, broker, publish_grace=GRACE, mark_interval=mark_interval)


def pings(tag: str, n: int) -> list[Pinged]:
    return [Pinged(aggregate_id=tag, tag=tag, n=i) for i in range(n)]


async def commit(db: Database, outbox: Outbox, on_commit: Callable[[], None] | None, *events: Pinged) -> None:
    async with UnitOfWork(db, outbox, on_commit) as uow:
        uow.add_events(list(events))
        await uow.commit()


def ids(events: Sequence[Pinged]) -> list[uuid.UUID]:
    return [e.event_id for e in events]


async def in_stream(broker: Broker, tag: str) -> list[uuid.UUID]:
    """Ids of every message of `tag` the stream holds, in stream order (duplicates included)."""
    sub = await broker.js.pull_subscribe(
        f"{broker.namespace}.catalog.v1.{Pinged.name}",
        stream=f"{broker.namespace}_CATALOG".upper(),
        config=ConsumerConfig(
            ack_policy=AckPolicy.NONE, deliver_policy=DeliverPolicy.ALL, inactive_threshold=5.0
        ),
    )
    found: list[uuid.UUID] = []
    try:
        while True:
            try:
                batch = await sub.fetch(500, timeout=0.5)
            except (FetchTimeoutError, TimeoutError):
                return found
            found += [e.id for e in map(_envelope, batch) if e.payload["tag"] == tag]
    finally:
        await sub.unsubscribe()


def _envelope(msg: Msg) -> Envelope:
    return Envelope.from_json(msg.data)


async def listen(broker: Broker) -> Subscription:
    """Hear every pinged message published from now on (a core NATS subscription beside the stream)."""
    return await broker.nc.subscribe(f"{broker.namespace}.catalog.v1.{Pinged.name}")


async def arrived(sub: Subscription, tag: str, n: int) -> list[uuid.UUID]:
    """Ids of the next `n` messages of `tag` heard, in the order they went out."""
    seen: list[uuid.UUID] = []
    try:
        while len(seen) < n:
            envelope = _envelope(await sub.next_msg(timeout=10))  # generous: a poll would take GRACE
            if envelope.payload["tag"] == tag:
                seen.append(envelope.id)
    finally:
        await sub.unsubscribe()
    return seen


async def unpublished(db: Database, event_ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    async with db.connect() as conn:
        result = await conn.execute(
            text("SELECT id FROM catalog.outbox WHERE id = ANY(:ids) AND published_at IS NULL ORDER BY seq"),
            {"ids": list(event_ids)},
        )
        return [row.id for row in result]


async def graces(db: Database, event_ids: Sequence[uuid.UUID]) -> list[float]:
    """Seconds between each row's insert and the time the poll may take it."""
    async with db.connect() as conn:
        result = await conn.execute(
            text(
                "SELECT extract(epoch FROM next_attempt_at - created_at) AS grace FROM catalog.outbox "
                "WHERE id = ANY(:ids) ORDER BY seq"
            ),
            {"ids": list(event_ids)},
        )
        return [float(row.grace) for row in result]


async def let_the_grace_pass(db: Database, event_ids: Sequence[uuid.UUID]) -> None:
    async with db.begin() as conn:
        await conn.execute(
            text(
                "UPDATE catalog.outbox SET next_attempt_at = next_attempt_at - make_interval(secs => :s) "
                "WHERE id = ANY(:ids)"
            ),
            {"ids": list(event_ids), "s": GRACE},
        )


async def drain(relay: OutboxRelay) -> None:
    """Publish every due row earlier tests left behind, so a counted poll sees only this test's."""
    while await relay.publish_pending():
        pass


async def test_a_committed_event_is_published_at_once_and_no_claim_transaction_runs_for_it(
    db: Database, outbox: Outbox, broker: Broker
) -> None:
    # Given a relay that only publishes what it is handed (no poll runs), its SQL counted
    with db.count_statements() as relay_sql:
        live = relay(db, outbox, broker)
    events = pings(ref("t"), 3)
    tag = events[0].tag
    sub = await listen(broker)
    # When one transaction commits three events
    with db.count_statements() as request:
        await commit(db, outbox, RelayHandoff(lambda: live), *events)
    # Then they reach the broker in the order written, before any poll could have taken them
    assert await arrived(sub, tag, 3) == ids(events)
    assert (len(request.statements), request.commits) == (1, 1)  # the outbox INSERT, in the request
    assert request.statements[0].startswith("INSERT INTO catalog.outbox")
    assert await graces(db, ids(events)) == [GRACE] * 3
    assert (relay_sql.statements, relay_sql.commits) == ([], 0)  # no claim, no mark yet
    # ...and closing marks them in one UPDATE, once each in the stream
    await live.close()
    assert len(relay_sql.statements) == 1
    assert relay_sql.statements[0].startswith("UPDATE catalog.outbox SET published_at = now()")
    assert relay_sql.commits == 0  # the UPDATE alone, no BEGIN/COMMIT around it (atomic by itself)
    assert await unpublished(db, ids(events)) == []
    assert await in_stream(broker, tag) == ids(events)


async def test_hand_offs_are_published_in_commit_order_and_marked_by_the_next_poll_in_one_update(
    db: Database, outbox: Outbox, broker: Broker
) -> None:
    live = relay(db, outbox, broker)
    await drain(live)
    events = pings(ref("t"), 4)
    sub = await listen(broker)
    for event in events:  # four transactions
        await commit(db, outbox, RelayHandoff(lambda: live), event)
    assert await arrived(sub, events[0].tag, 4) == ids(events)
    assert await unpublished(db, ids(events)) == ids(events)  # published, marks pending
    with db.count_statements() as poll:
        assert await live.publish_pending() == 0  # it claimed nothing: all four are within the grace
    assert [s.split(" ", 1)[0] for s in poll.statements] == ["SELECT", "UPDATE"]
    assert poll.commits == 1
    assert await unpublished(db, ids(events)) == []
    with db.count_statements() as after:
        await live.close()
    assert (after.statements, after.commits) == ([], 0)  # nothing left to mark
    assert await in_stream(broker, events[0].tag) == ids(events)


async def test_a_relay_closed_right_after_a_hand_off_publishes_and_marks_it_first(
    db: Database, outbox: Outbox, broker: Broker
) -> None:
    with db.count_statements() as relay_sql:
        live = relay(db, outbox, broker)
    events = pings(ref("t"), 2)
    await commit(db, outbox, RelayHandoff(lambda: live), *events)
    await live.close()  # before its publisher task had a turn
    assert await unpublished(db, ids(events)) == []
    assert (len(relay_sql.statements), relay_sql.commits) == (1, 0)  # the mark's UPDATE, on its own
    assert await in_stream(broker, events[0].tag) == ids(events)
    # A closed relay takes no more hand-offs: the rows are written due at once, for any poll
    late = pings(ref("t"), 1)
    await commit(db, outbox, RelayHandoff(lambda: live), *late)
    assert await graces(db, ids(late)) == [0.0]
    assert await unpublished(db, ids(late)) == ids(late)
    assert (len(relay_sql.statements), relay_sql.commits) == (1, 0)
    await drain(relay(db, outbox, broker))
    assert await in_stream(broker, late[0].tag) == ids(late)


async def test_a_failed_publish_leaves_the_row_to_the_poll_after_the_grace(
    db: Database, outbox: Outbox, broker: Broker, settings: Settings
) -> None:
    # Given a relay whose broker is down
    assert settings.nats_url is not None
    with db.count_statements() as relay_sql:
        down = relay(db, outbox, Broker(settings.nats_url, settings.namespace))
    events = pings(ref("t"), 1)
    # When an event is committed and handed to it
    await commit(db, outbox, RelayHandoff(lambda: down), *events)
    await down.close()  # the publish has failed by now
    # Then the commit went through, the row waits unpublished and the failure cost no SQL
    assert (relay_sql.statements, relay_sql.commits) == ([], 0)
    assert await unpublished(db, ids(events)) == ids(events)
    assert await in_stream(broker, events[0].tag) == []
    # ...a healthy relay's poll leaves it alone within the grace, and publishes it after
    survivor = relay(db, outbox, broker)
    await drain(survivor)
    assert await unpublished(db, ids(events)) == ids(events)
    await let_the_grace_pass(db, ids(events))
    assert await survivor.publish_pending() == 1
    assert await unpublished(db, ids(events)) == []
    assert await in_stream(broker, events[0].tag) == ids(events)


class DiesBeforePublishing(OutboxRelay):
    """The process died between its commit and the publish: the hand-off never happens."""

    def hand_off(self, rows: Sequence[OutboxRow]) -> None:
        pass


async def test_a_process_dying_between_commit_and_publish_loses_nothing(
    db: Database, outbox: Outbox, broker: Broker
) -> None:
    dead = DiesBeforePublishing(db, outbox, broker, publish_grace=GRACE)
    events = pings(ref("t"), 2)
    await commit(db, outbox, RelayHandoff(lambda: dead), *events)
    assert await graces(db, ids(events)) == [GRACE, GRACE]
    survivor = relay(db, outbox, broker)
    await drain(survivor)
    assert await unpublished(db, ids(events)) == ids(events)  # its relay still had time
    await let_the_grace_pass(db, ids(events))
    with db.count_statements() as poll:
        assert await survivor.publish_pending() == 2
    assert ([s.split(" ", 1)[0] for s in poll.statements], poll.commits) == (["SELECT", "UPDATE"], 1)
    assert await unpublished(db, ids(events)) == []
    assert await in_stream(broker, events[0].tag) == ids(events)


async def test_a_relay_dying_after_publishing_a_hand_off_before_marking_it_doubles_nothing(
    db: Database, outbox: Outbox, broker: Broker
) -> None:
    dying = relay(db, outbox, broker)
    events = pings(ref("t"), 1)
    sub = await listen(broker)
    await commit(db, outbox, RelayHandoff(lambda: dying), *events)
    assert await arrived(sub, events[0].tag, 1) == ids(events)
    # It dies now: its marks are lost, the row looks unpublished to everyone else
    assert await unpublished(db, ids(events)) == ids(events)
    survivor = relay(db, outbox, broker)
    await drain(survivor)
    await let_the_grace_pass(db, ids(events))
    assert await survivor.publish_pending() == 1  # published again...
    assert await unpublished(db, ids(events)) == []
    assert await in_stream(broker, events[0].tag) == ids(events)  # ...and dropped by Nats-Msg-Id
    await dying.close()  # only to end its task; marking a marked row again changes nothing


async def test_a_bare_on_commit_callable_still_wakes_and_its_rows_are_due_at_once(
    db: Database, outbox: Outbox
) -> None:
    calls: list[int] = []
    events = pings(ref("t"), 1)
    await commit(db, outbox, lambda: calls.append(1), *events)
    assert calls == [1]
    assert await graces(db, ids(events)) == [0.0]
    nothing: list[Pinged] = []
    await commit(db, outbox, lambda: calls.append(2), *nothing)
    assert calls == [1]  # no events, no wake-up


async def test_marks_ride_on_the_poll_transaction_when_the_poll_comes_before_the_mark_is_due(
    db: Database, outbox: Outbox, broker: Broker
) -> None:
    # Given a running relay that polls far more often than it would mark on its own
    live = OutboxRelay(db, outbox, broker, publish_grace=GRACE, poll_interval=0.05, mark_interval=60)
    await drain(live)
    with db.count_statements() as relay_sql:  # the relay's task, and the publishing it starts
        running = asyncio.create_task(live.run())
    events = pings(ref("t"), 2)
    try:
        # When events are handed to it
        await commit(db, outbox, RelayHandoff(lambda: live), *events)
        for _ in range(200):
            if not await unpublished(db, ids(events)):
                break
            await asyncio.sleep(0.05)
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await live.close()
    # Then a poll marked them, long before the relay would have on its own: one UPDATE in all
    assert await unpublished(db, ids(events)) == []
    kinds = Counter(s.split(" ", 1)[0] for s in relay_sql.statements)
    assert kinds["UPDATE"] == 1
    assert set(kinds) == {"SELECT", "UPDATE"}
    assert await in_stream(broker, events[0].tag) == ids(events)


async def test_a_host_stopping_publishes_and_marks_its_hand_offs_before_it_returns(
    db: Database, settings: Settings, broker: Broker
) -> None:
    # Given the catalog hosted as in production, its relay's poll never running
    engines = Engines(settings.model_copy(update={"outbox_publish_grace_seconds": GRACE}))
    catalog = catalog_component(engines)
    host = Host(engines, [catalog])
    await host.start(background=False)
    try:
        # When a product is created and the host stops right away
        product_id, _ = await a_product(catalog.service)
        await host.stop()
        # Then its events were published and marked before `stop` returned
        written = await catalog_events(db, product_id)
        assert written
        assert await graces(db, written) == [GRACE] * len(written)
        assert await unpublished(db, written) == []
        # ...and what commits after the stop is due for any poll at once (no relay here publishes it)
        later, _ = await a_product(catalog.service)
        assert await graces(db, await catalog_events(db, later)) == [0.0]
    finally:
        await host.stop()
        await engines.close()


async def catalog_events(db: Database, aggregate_id: uuid.UUID) -> list[uuid.UUID]:
    async with db.connect() as conn:
        result = await conn.execute(
            text(
                "SELECT id FROM catalog.outbox "
                "WHERE convert_from(body, 'UTF8')::jsonb ->> 'aggregate_id' = :id ORDER BY seq"
            ),
            {"id": str(aggregate_id)},
        )
        return [row.id for row in result]


async def test_a_handed_off_event_carries_the_trace_of_the_transaction_that_wrote_it(
    db: Database, outbox: Outbox, broker: Broker
) -> None:
    live = relay(db, outbox, broker)
    events = pings(ref("t"), 1)
    sub = await listen(broker)
    try:
        with TracerProvider().get_tracer(__name__).start_as_current_span("staff edit") as writer:
            await commit(db, outbox, RelayHandoff(lambda: live), *events)
        msg = await sub.next_msg(timeout=10)
    finally:
        await sub.unsubscribe()
        await live.close()
    span = writer.get_span_context()
    traceparent = f"00-{span.trace_id:032x}-{span.span_id:016x}-{span.trace_flags:02x}"
    assert msg.headers == {"Nats-Msg-Id": str(events[0].event_id), "traceparent": traceparent}
    assert _envelope(msg).trace == {"traceparent": traceparent}
