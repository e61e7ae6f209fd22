"""The saga's replies as set-based batch handlers: a run of replies of one type locks all its sagas in
one statement and stores every saga that moved, with the steps' outbox rows, in one more; runs of
different types in one batch apply in fetch order."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text

from mercato.orders import OrderStatus
from mercato.platform.config import Settings
from mercato.platform.db import Database
from mercato.platform.events import Envelope
from mercato.platform.messaging import Broker
from tests.service.orders.harness import Checkout


def reply(type_name: str, order_id: uuid.UUID, **payload: Any) -> Envelope:
    body = {"reference": str(order_id), **payload}
    return Envelope(uuid.uuid4(), type_name, 1, datetime.now(UTC), str(order_id), body)


def reserved(order_id: uuid.UUID, reservation_id: uuid.UUID) -> Envelope:
    return reply("inventory.reservation_created", order_id, reservation_id=str(reservation_id))


def rejected(order_id: uuid.UUID) -> Envelope:
    return reply("inventory.stock_reservation_rejected", order_id, skus=["X"])


@dataclass
class Orders:
    """The services without their relays and consumers (the test feeds the replies itself), and the
    orders placed."""

    checkout: Checkout
    placed: list[uuid.UUID] = field(default_factory=list)

    async def place(self) -> uuid.UUID:
        order = await self.checkout.orders.handle(self.checkout.place("SKU-BATCH", 1))
        self.placed.append(order.id)
        return order.id


@pytest.fixture
async def system(orders_db: Database, broker: Broker, settings: Settings) -> AsyncIterator[Orders]:
    """Orders whose outbox rows are marked published at the end, so that no other test's relay
    sends them."""
    orders = Orders(Checkout(orders_db, broker, settings))
    yield orders
    async with orders_db.engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE orders.outbox SET published_at = now() WHERE published_at IS NULL "
                "AND convert_from(body, 'UTF8')::jsonb ->> 'aggregate_id' = ANY(:ids)"
            ),
            {"ids": [str(i) for i in orders.placed]},
        )


async def rows(db: Database, sql: str, order_id: uuid.UUID | str) -> list[Any]:
    async with db.connect() as conn:
        return [r[0] for r in await conn.execute(text(sql), {"id": order_id})]


async def statuses(db: Database, order_id: uuid.UUID) -> tuple[str, list[str]]:
    [status] = await rows(db, "SELECT status FROM orders.orders WHERE id = :id", order_id)
    history = await rows(
        db, "SELECT status FROM orders.status_history WHERE order_id = :id ORDER BY seq", order_id
    )
    return status, history


async def written(db: Database, order_id: uuid.UUID) -> list[str]:
    """The types of the events written about the order after it was placed, oldest first."""
    types = await rows(
        db,
        "SELECT convert_from(body, 'UTF8')::jsonb ->> 'type' FROM orders.outbox "
        "WHERE convert_from(body, 'UTF8')::jsonb ->> 'aggregate_id' = :id ORDER BY seq",
        str(order_id),
    )
    return [t for t in types if t not in ("orders.order_placed", "orders.reserve_stock_requested")]


async def test_a_batch_of_replies_costs_two_statements_per_run_and_keeps_fetch_order(
    system: Orders, orders_db: Database
) -> None:
    # Given three placed orders awaiting their stock
    o1, o2, o3 = [await system.place() for _ in range(3)]
    r1, r2, r3 = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    orders = system.checkout.orders
    [inventory_replies, _] = orders.subscriptions()

    # When one batch brings: o1 and o2 reserved, o1's reply again, o3 rejected, then o3 reserved late
    batch = [reserved(o1, r1), reserved(o2, r2), reserved(o1, r1), rejected(o3), reserved(o3, r3)]
    async with orders.uow() as uow:
        with orders_db.count_statements() as counter:
            await inventory_replies.apply(batch, uow)
            await uow.commit()

    # Then three runs (3 reserved, 1 rejected, 1 reserved), each one lock and one save
    assert (counter.count, counter.commits) == (6, 1), counter.statements
    # o1 and o2 moved on once each (the repeat changed nothing), with their payment command
    for order_id in (o1, o2):
        assert await statuses(orders_db, order_id) == ("STOCK_RESERVED", ["PENDING", "STOCK_RESERVED"])
        assert await written(orders_db, order_id) == ["orders.authorize_and_capture_payment_requested"]
    # o3 was rejected first, then its late reservation released: the runs ran in fetch order
    assert await statuses(orders_db, o3) == (OrderStatus.REJECTED.value, ["PENDING", "REJECTED"])
    assert await written(orders_db, o3) == ["orders.order_rejected", "orders.release_stock_requested"]
