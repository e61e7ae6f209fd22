"""Saga metrics on the real saga: each step's duration observed once when it ends (with its outcome),
stuck sagas counted by step and age from `orders.sagas`, and the database pool's wait timed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from mercato.orders import OrderStatus
from mercato.orders.adapters.saga_metrics import StuckSagaSampler
from mercato.orders.bootstrap import build_orders
from mercato.platform.business_metrics import (
    db_pool_wait,
    saga_step_duration,
    saga_stuck_oldest,
    sagas_parked,
    sagas_stuck,
)
from mercato.platform.config import Settings
from mercato.platform.db import Database
from tests.service.orders.harness import Checkout
from tests.service.orders.test_place_order import a_place_order


async def rewind_deadline(db: Database, order_id: uuid.UUID, *, step_age: timedelta | None = None) -> None:
    """The saga's deadline two minutes ago, in its row and its state (what the sweeper's timeout
    reads): stuck past the 60 s grace, as if nothing had swept."""
    deadline = datetime.now(UTC) - timedelta(minutes=2)
    async with db.begin() as conn:
        await conn.execute(
            text(
                "UPDATE orders.sagas SET deadline = :at, "
                "state = jsonb_set(state, '{deadline}', to_jsonb(CAST(:iso AS text))), "
                "step_started_at = coalesce(now() - CAST(:age AS interval), step_started_at) "
                "WHERE order_id = :id"
            ),
            {"at": deadline, "iso": deadline.isoformat(), "age": step_age, "id": order_id},
        )


def steps_ended(step: str, outcome: str) -> float:
    return _sample(f"{saga_step_duration._name}_count", {"step": step, "outcome": outcome})


def _sample(name: str, labels: dict[str, str]) -> float:
    for family in saga_step_duration.collect():
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return 0.0


async def test_a_confirmed_checkout_times_each_forward_step_once(checkout: Checkout) -> None:
    sku = await checkout.stocked_sku(5)
    before = {s: steps_ended(s, "ok") for s in ("reserve_stock", "charge_payment", "commit_stock")}

    placed = await checkout.orders.handle(checkout.place(sku, 1))
    view = await checkout.settle(placed.id)

    assert view.status is OrderStatus.CONFIRMED
    assert {s: steps_ended(s, "ok") - n for s, n in before.items()} == {
        "reserve_stock": 1,
        "charge_payment": 1,
        "commit_stock": 1,
    }
    assert await _step(checkout.db, placed.id) == (None, None)  # nothing awaited any more


async def test_a_declined_payment_ends_its_step_as_failed_then_times_the_release(checkout: Checkout) -> None:
    sku = await checkout.stocked_sku(5)
    failed, released = steps_ended("charge_payment", "failed"), steps_ended("release_stock", "ok")

    placed = await checkout.orders.handle(checkout.place(sku, 1, token="tok_decline"))
    view = await checkout.settle(placed.id)

    assert view.status is OrderStatus.REJECTED
    assert steps_ended("charge_payment", "failed") == failed + 1
    assert steps_ended("release_stock", "ok") == released + 1


async def test_a_saga_past_its_deadline_counts_as_stuck_by_step_and_age_until_driven_on(
    orders_db: Database, settings: Settings
) -> None:
    orders = build_orders(orders_db, settings)
    placed = await orders.handle(a_place_order())
    assert await _step(orders_db, placed.id) == ("reserve_stock", False)
    sampler = StuckSagaSampler(orders_db, grace_seconds=60)
    await sampler()
    ours = sagas_stuck.labels("reserve_stock", "over_1d")
    already = ours._value.get()
    # Its step began two days ago and its deadline passed two minutes ago: nothing drove it on.
    await rewind_deadline(orders_db, placed.id, step_age=timedelta(days=2))

    await sampler()

    assert ours._value.get() == already + 1
    assert saga_stuck_oldest.labels("reserve_stock")._value.get() >= 2 * 86_400
    assert await orders.stuck_sagas(60) >= 1

    await orders.expire_due(1_000)  # what the sweeper (or the watchdog's nudge) does
    await sampler()

    assert ours._value.get() == already
    # A re-send keeps the step and its start: its duration will count the whole wait.
    assert await _step(orders_db, placed.id) == ("reserve_stock", True)


async def test_a_parked_saga_is_counted_apart_by_its_step(orders_db: Database, settings: Settings) -> None:
    placed = await build_orders(orders_db, settings).handle(a_place_order())
    sampler = StuckSagaSampler(orders_db, grace_seconds=60)
    await sampler()
    parked = sagas_parked.labels("reserve_stock")
    before = parked._value.get()
    async with orders_db.begin() as conn:
        await conn.execute(
            text(
                "UPDATE orders.sagas SET deadline = NULL, "
                "state = jsonb_set(state, '{parked}', to_jsonb(CAST('test' AS text))) WHERE order_id = :id"
            ),
            {"id": placed.id},
        )

    await sampler()

    assert parked._value.get() == before + 1


async def test_every_connection_taken_from_the_pool_is_timed(settings: Settings) -> None:
    assert settings.database_url is not None
    database = Database(settings.database_url, pool_size=1)
    before = _count(db_pool_wait)
    try:
        for _ in range(3):
            async with database.connect() as conn:
                await conn.execute(text("SELECT 1"))
    finally:
        await database.dispose()

    assert _count(db_pool_wait) == before + 3


def _count(histogram: object) -> float:
    for family in histogram.collect():  # type: ignore[attr-defined]
        for sample in family.samples:
            if sample.name.endswith("_count"):
                return float(sample.value)
    return 0.0


async def _step(db: Database, order_id: uuid.UUID) -> tuple[str | None, bool | None]:
    """The saga's awaited step, and whether its start is more than a day ago (None: no start)."""
    async with db.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT step, step_started_at < now() - interval '1 day' AS old "
                    "FROM orders.sagas WHERE order_id = :id"
                ),
                {"id": order_id},
            )
        ).one()
    return row.step, row.old
