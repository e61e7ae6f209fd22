"""A refund (or any undo) that nobody confirms is not re-sent forever: after `SagaPolicy.park_after`
re-sends the saga is parked for a person, listed by `mercato ops sagas --stuck` with its reason, and
goes on once resumed (`ResumeSaga`) or once the answer finally comes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from mercato.app.ops import stuck_sagas
from mercato.orders import ExpireSagas, OrderStatus, ResumeSaga, SagaPolicy
from mercato.orders.domain.commands import RefundOrder
from mercato.orders.domain.rules import OrderNotFound
from mercato.platform.config import Settings
from mercato.platform.db import Database
from mercato.platform.messaging import Broker
from mercato.platform.types import Money
from tests.service.orders.harness import Checkout

S = OrderStatus


@pytest.fixture
async def system(orders_db: Database, broker: Broker, settings: Settings) -> AsyncIterator[Checkout]:
    checkout = Checkout(orders_db, broker, settings, policy=SagaPolicy(park_after=2))
    try:
        yield checkout
    finally:
        await checkout.stop()


async def test_a_refund_nobody_confirms_is_parked_listed_and_goes_on_once_resumed(
    system: Checkout, orders_db: Database
) -> None:
    # Given a confirmed order, then payments going silent while staff refund it
    await system.start()
    sku = await system.stocked_sku(1)
    placed = await system.orders.handle(system.place(sku, 1))
    assert (await system.settle(placed.id)).status is S.CONFIRMED
    await system.stop(only={"payments"})
    await system.orders.handle(RefundOrder(placed.id, Money(1250, "EUR"), "refund-1", actor="staff"))

    # When three deadlines pass (the sweeper 31 s apart): two re-sends, then the third parks it
    now = datetime.now(UTC)
    moved = [await system.orders.handle(ExpireSagas(now=now + timedelta(seconds=31 * i))) for i in (1, 2, 3)]
    later = now + timedelta(seconds=200)
    listed = [s for s in await stuck_sagas(orders_db, timedelta(0), now=later) if s.order_id == placed.id]
    # No more re-sends while parked, however late it gets
    assert await system.orders.handle(ExpireSagas(now=later)) == 0

    # Then the operator sees it with its reason, and the order still says CONFIRMED (refund pending)
    assert moved == [1, 1, 1]
    assert [(s.status, s.deadline, s.parked) for s in listed] == [
        ("CONFIRMED", None, "refund of 1250 minor units unconfirmed after 2 re-sends")
    ]

    # When a person resumes it (twice: the second finds nothing parked) and payments comes back
    assert await system.orders.handle(ResumeSaga(placed.id, actor="ops")) is True
    assert await system.orders.handle(ResumeSaga(placed.id, actor="ops")) is False
    resumed = [s for s in await stuck_sagas(orders_db, timedelta(hours=1)) if s.order_id == placed.id]
    await system.start(only={"payments"})
    await system.orders.handle(ExpireSagas(now=datetime.now(UTC) + timedelta(seconds=1)))

    # Then it is no longer parked, and the refund goes through once
    assert resumed == []  # due now, within the grace: nothing stuck
    await system.wait_status(placed.id, S.REFUNDED)
    assert await system.intents(placed.id) == ["REFUNDED"]
    assert [s for s in await stuck_sagas(orders_db, timedelta(0)) if s.order_id == placed.id] == []


async def test_resuming_an_unknown_order_is_not_found(system: Checkout) -> None:
    with pytest.raises(OrderNotFound):
        await system.orders.handle(ResumeSaga(uuid.uuid4(), actor="ops"))
