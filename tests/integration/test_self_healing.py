"""Self-healing on the real engines: a Host's watchdog sees a relay, a consumer and a sweeper wedged
while work waits, restarts each (counted and logged once) and the work gets done.

Each fault is injected into a real loop: the relay's poll waits, after publishing, on an event nobody
sets (its transaction open, its rows unmarked); a consumer's first fetch never returns; the saga
sweeper's first sweep never returns while a saga is past its deadline. The watchdog runs every 0.1 s
and calls a loop wedged after 0.5 s without a turn; waits are bounded, never timed.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, ClassVar

import pytest
from sqlalchemy import text

from mercato.app.components import Component, ConsumerWiring, Engines, orders_component
from mercato.app.host import Host
from mercato.catalog.adapters import tables as catalog_tables
from mercato.orders.bootstrap import build_orders
from mercato.platform.business_metrics import self_heal_actions
from mercato.platform.config import Settings
from mercato.platform.db import Database
from mercato.platform.events import DomainEvent, Envelope
from mercato.platform.inbox import Subscription
from mercato.platform.outbox import Outbox
from mercato.platform.unit_of_work import UnitOfWork
from tests.conftest import ref
from tests.service.orders.test_place_order import a_place_order
from tests.service.orders.test_saga_metrics import rewind_deadline

BOUND = 30.0  # seconds any recovery may take before the test fails (it takes about one)


class Healed(DomainEvent):
    context: ClassVar[str] = "catalog"
    name: ClassVar[str] = "self_heal_test_pinged"


def actions(action: str, component: str) -> float:
    return float(self_heal_actions.labels(action, component)._value.get())


def fast(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "watchdog_interval_seconds": 0.1,
            "watchdog_stall_seconds": 0.5,
            "outbox_poll_interval_seconds": 0.1,
            "reservation_sweep_interval_seconds": 0.1,
        }
    )


def wedged_once(work: Callable[..., Awaitable[Any]]) -> tuple[Callable[..., Awaitable[Any]], asyncio.Event]:
    """`work`, except that its first call waits for ever (until the task running it is cancelled)."""
    never, entered = asyncio.Event(), asyncio.Event()
    calls = 0

    async def wrapped(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            entered.set()
            await never.wait()
        return await work(*args, **kwargs)

    return wrapped, entered


async def until(check: Callable[[], Awaitable[bool]]) -> None:
    async with asyncio.timeout(BOUND):
        while not await check():  # noqa: ASYNC110 - the state is in the database: polled
            await asyncio.sleep(0.05)


async def test_a_relay_wedged_after_publishing_is_restarted_and_its_rows_get_marked(
    settings: Settings, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    engines = Engines(fast(settings))
    outbox = Outbox(catalog_tables.outbox, settings.namespace)
    component: Component[None] = Component("catalog", None, None, frozenset(), outbox=outbox)
    host = Host(engines, [component])
    before = actions("restart", "catalog.relay")
    caplog.set_level(logging.WARNING, "mercato.platform.watchdog")
    try:
        await host.start()
        relay = engines.relays["catalog"]
        relay.after_publish, entered = wedged_once(_no_op)
        event = Healed(aggregate_id=ref("heal"))
        # Written with no hand-off: only the relay's poll publishes it, and its first poll wedges.
        async with UnitOfWork(db, outbox) as uow:
            uow.add_event(event)
            await uow.commit()

        async with asyncio.timeout(BOUND):
            await entered.wait()
        await until(lambda: _published(db, event.event_id))

        assert actions("restart", "catalog.relay") == before + 1
        lines = [r for r in caplog.records if r.getMessage().startswith("self-heal: restart catalog.relay")]
        assert len(lines) == 1
        assert (await host.ready())["background"] is True
    finally:
        await host.stop()
        await engines.close()


async def test_a_consumer_whose_fetch_hangs_is_resubscribed_and_handles_its_message(
    settings: Settings, db: Database
) -> None:
    engines = Engines(fast(settings))
    outbox = Outbox(catalog_tables.outbox, settings.namespace)
    handled: list[uuid.UUID] = []

    name = ref("heal").replace("-", "_")

    async def handle(envelope: Envelope, _: UnitOfWork) -> None:
        if envelope.aggregate_id == name:  # the stream also holds other tests' events of this type
            handled.append(envelope.id)

    subscription = Subscription(name, "catalog", {f"catalog.{Healed.name}": handle})
    wiring = ConsumerWiring("catalog", subscription, lambda: UnitOfWork(db, outbox))
    component: Component[None] = Component("catalog", None, None, frozenset(), consumers=[wiring])
    host = Host(engines, [component])
    try:
        await host.start(background=False)
        [consumer] = host.consumers
        consumer._fetch, entered = wedged_once(consumer._fetch)  # type: ignore[method-assign]
        host._supervise()
        before = actions("restart", f"catalog.{name}")
        event = Healed(aggregate_id=name)
        async with asyncio.timeout(BOUND):
            await entered.wait()
        await engines.broker.js.publish(
            f"{settings.namespace}.catalog.v1.{Healed.name}",
            Envelope.of(event, {}).to_json(),
            headers={"Nats-Msg-Id": str(event.event_id)},
        )

        await until(lambda: _true(event.event_id in handled))

        assert handled == [event.event_id]
        assert actions("restart", f"catalog.{name}") == before + 1
    finally:
        await host.stop()
        await engines.close()


async def test_stuck_sagas_are_driven_on_when_the_sweeper_wedges(settings: Settings, db: Database) -> None:
    placed = await build_orders(db, settings).handle(a_place_order())
    await rewind_deadline(db, placed.id)
    engines = Engines(fast(settings))
    component = orders_component(engines)
    [sweeper] = component.sweepers
    run_once, entered = wedged_once(sweeper.run_once)
    component.sweepers = [replace(sweeper, run_once=run_once)]
    host = Host(engines, [component])
    restarts, drives = actions("restart", "orders.saga_expiry"), actions("drive_sagas", "orders.saga_expiry")
    try:
        await host.start()
        async with asyncio.timeout(BOUND):
            await entered.wait()

        await until(lambda: _resent(db, placed.id))

        assert actions("restart", "orders.saga_expiry") == restarts + 1
        assert actions("drive_sagas", "orders.saga_expiry") == drives + 1
    finally:
        await host.stop()
        await engines.close()


async def _no_op(*_: object) -> None:
    return None


async def _true(value: bool) -> bool:
    return value


async def _published(db: Database, event_id: uuid.UUID) -> bool:
    async with db.connect() as conn:
        found = await conn.execute(
            text("SELECT published_at IS NOT NULL FROM catalog.outbox WHERE id = :id"), {"id": event_id}
        )
        return bool(found.scalar_one())


async def _resent(db: Database, order_id: uuid.UUID) -> bool:
    """The saga got its timeout: the step re-sent, a new deadline ahead."""
    async with db.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT (state ->> 'attempts')::int AS attempts, deadline > now() AS ahead "
                    "FROM orders.sagas WHERE order_id = :id"
                ),
                {"id": order_id},
            )
        ).one()
        return bool(row.attempts == 1 and row.ahead)
