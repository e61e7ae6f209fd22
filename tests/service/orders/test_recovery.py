"""The saga survives crashes, silent participants and expiring reservations: it completes or
compensates, and nothing is done twice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from mercato.inventory import ExpireReservations
from mercato.orders import ExpireSagas, OrderStatus, RejectReason, SagaPolicy
from mercato.platform.config import Settings
from mercato.platform.db import Database
from mercato.platform.messaging import Broker
from tests.service.orders.harness import Checkout

S = OrderStatus
NO_PAYMENTS = {"orders", "inventory"}


@pytest.fixture
async def stopped(orders_db: Database, broker: Broker, settings: Settings) -> AsyncIterator[list[Checkout]]:
    """Checkouts a test starts itself (a list, for the one that replaces a crashed one)."""
    systems: list[Checkout] = []
    try:
        yield systems
    finally:
        for system in systems:
            await system.stop()


async def test_a_crash_after_the_reservation_is_handled_resumes_with_new_workers_and_doubles_nothing(
    orders_db: Database, broker: Broker, settings: Settings, stopped: list[Checkout]
) -> None:
    first = Checkout(orders_db, broker, settings)
    stopped.append(first)
    await first.start(only=NO_PAYMENTS)  # payments is down: the saga stops before the authorization
    sku = await first.stocked_sku(3)
    placed = await first.orders.handle(first.place(sku, 2))
    await first.wait_status(placed.id, S.STOCK_RESERVED)
    assert await first.stock(sku) == (3, 2)
    assert await first.intents(placed.id) == []

    await first.crash()
    second = Checkout(orders_db, broker, settings)
    stopped.append(second)
    await second.start()
    view = await second.settle(placed.id)

    assert view.status is S.CONFIRMED
    assert await second.stock(sku) == (1, 0)
    assert await second.intents(placed.id) == ["CAPTURED"]
    assert [h.status for h in view.history].count(S.STOCK_RESERVED) == 1


async def test_every_consumer_crashing_before_its_commit_once_still_does_everything_once(
    orders_db: Database, broker: Broker, settings: Settings, stopped: list[Checkout]
) -> None:
    system = Checkout(orders_db, broker, settings, flaky_commits=1)
    stopped.append(system)
    await system.start()
    sku = await system.stocked_sku(3)
    placed = await system.orders.handle(system.place(sku, 1))

    view = await system.settle(placed.id)

    assert view.status is S.CONFIRMED
    assert await system.stock(sku) == (2, 0)
    # Inventory and payments ran their commands again on redelivery: idempotent, one effect each.
    assert await outbox_types(orders_db, "inventory", str(placed.id)) == [
        "inventory.reservation_created",
        "inventory.reservation_committed",
    ]
    intents = await system.payments.queries.intents_for_order(str(placed.id))
    assert [i.status.value for i in intents] == ["CAPTURED"]
    ledger = await system.payments.queries.ledger(intents[0].id)
    assert sorted(e.kind.value for e in ledger) == ["AUTHORIZATION", "CAPTURE"]
    # The saga's replayed steps sent each command once.
    assert await outbox_types(orders_db, "orders", str(placed.id)) == [
        "orders.order_placed",
        "orders.reserve_stock_requested",
        "orders.authorize_and_capture_payment_requested",
        "orders.commit_stock_requested",
        "orders.order_confirmed",
    ]


async def outbox_types(db: Database, schema: str, reference: str) -> list[str]:
    """Types of the events in `schema`'s outbox about the order `reference`, oldest first."""
    async with db.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    f"SELECT convert_from(body, 'UTF8')::jsonb ->> 'type' AS type FROM {schema}.outbox "
                    "WHERE convert_from(body, 'UTF8')::jsonb -> 'payload' ->> 'reference' = :r "
                    "OR convert_from(body, 'UTF8')::jsonb -> 'payload' ->> 'order_id' = :r ORDER BY seq"
                ),
                {"r": reference},
            )
        ).all()
    return [r.type for r in rows]


async def test_a_reservation_expiring_while_payment_is_down_rejects_and_gives_the_late_payment_back(
    orders_db: Database, broker: Broker, settings: Settings, stopped: list[Checkout]
) -> None:
    system = Checkout(orders_db, broker, settings, policy=SagaPolicy(reservation_ttl_seconds=1))
    stopped.append(system)
    await system.start(only=NO_PAYMENTS)
    sku = await system.stocked_sku(2)
    placed = await system.orders.handle(system.place(sku, 2))
    await system.wait_status(placed.id, S.STOCK_RESERVED)

    # The inventory's sweeper, a little after the 1 s reservation ran out: a sweep releases the 100
    # most overdue, and the session's database holds other tests' reservations too, so it runs until
    # this one went (as the sweeper does every few seconds).
    expired = 0
    for _ in range(50):  # bounded: 5,000 overdue reservations at most
        if await system.reservation_status(placed.id) != "ACTIVE":
            break
        expired += await system.inventory.handle(
            ExpireReservations(now=datetime.now(UTC) + timedelta(seconds=2))
        )
    view = await system.settle(placed.id)

    assert expired >= 1
    assert (view.status, view.reason) == (S.REJECTED, RejectReason.TIMEOUT)
    assert await system.stock(sku) == (2, 0)
    assert await system.reservation_status(placed.id) == "EXPIRED"

    # Payments comes back and charges the order it was asked to (authorize and capture are one
    # command): the saga refunds it.
    await system.start(only={"payments"})
    await _eventually(lambda: system.intents(placed.id), ["REFUNDED"])
    assert (await system.orders.queries.order(placed.id)).status is S.REJECTED  # type: ignore[union-attr]


async def test_a_silent_step_is_resent_a_bounded_number_of_times_then_compensated(
    orders_db: Database, broker: Broker, settings: Settings, stopped: list[Checkout]
) -> None:
    policy = SagaPolicy(step_timeout=timedelta(seconds=30), max_retries=2)
    system = Checkout(orders_db, broker, settings, policy=policy)
    stopped.append(system)
    await system.start(only=NO_PAYMENTS)
    sku = await system.stocked_sku(1)
    placed = await system.orders.handle(system.place(sku, 1))
    await system.wait_status(placed.id, S.STOCK_RESERVED)

    # The sweeper at each deadline (30 s apart): two re-sends, then the saga gives up.
    now = datetime.now(UTC)
    moved = [await system.orders.handle(ExpireSagas(now=now + timedelta(seconds=31 * i))) for i in (1, 2, 3)]
    view = await system.settle(placed.id)

    assert moved[:2] == [1, 1]
    assert moved[2] >= 1
    assert (view.status, view.reason) == (S.REJECTED, RejectReason.TIMEOUT)
    assert await system.stock(sku) == (1, 0)
    assert await system.reservation_status(placed.id) == "RELEASED"
    # Three payment commands wait for payments (the first and two re-sends), all the same keys:
    # one charge, which the saga refunds.
    await system.start(only={"payments"})
    await _eventually(lambda: system.intents(placed.id), ["REFUNDED"])
    assert (await system.orders.queries.order(placed.id)).status is S.REJECTED  # type: ignore[union-attr]


async def _eventually(read: Callable[[], Awaitable[object]], expected: object, within: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while (got := await read()) != expected:
        assert loop.time() < deadline, f"{got} != {expected}"
        await asyncio.sleep(0.05)
