"""The saga participant runs each command in the consumer's unit of work: the inbox row, the command
and its events commit in one transaction, and a batch of messages may share it (group commit)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from mercato.inventory import CommitReservation, ReleaseReservation, ReserveStock
from mercato.inventory.bootstrap import InventoryService
from mercato.inventory.entrypoints.saga_commands import (
    COMMIT_STOCK_REQUESTED,
    RELEASE_STOCK_REQUESTED,
    RESERVE_STOCK_REQUESTED,
    RESTOCK_STOCK_REQUESTED,
    saga_subscription,
)
from mercato.platform.db import Database
from mercato.platform.events import Envelope
from tests.conftest import ref
from tests.service.inventory.conftest import new_sku, new_warehouse, outbox, stock_rows, stock_up
from tests.service.inventory.test_events import version_sum

INBOX_CLAIM = text(
    "INSERT INTO inventory.inbox (consumer, event_id) VALUES (:c, :e) ON CONFLICT DO NOTHING RETURNING 1"
)


def message(type_name: str, **payload: Any) -> Envelope:
    return Envelope(
        id=uuid.uuid4(),
        type=type_name,
        version=1,
        occurred_at=datetime.now(UTC),
        aggregate_id=str(payload["reference"]),
        payload=payload,
    )


def reserve(reference: str, *lines: tuple[str, int]) -> Envelope:
    return message(
        RESERVE_STOCK_REQUESTED,
        reference=reference,
        lines=[{"sku": sku, "quantity": quantity} for sku, quantity in lines],
        ttl_seconds=900,
    )


def about(type_name: str, reservation_id: uuid.UUID, reason: str | None = None) -> Envelope:
    extra = {"reason": reason} if reason is not None else {}
    return message(type_name, reference=ref("order"), reservation_id=str(reservation_id), **extra)


async def consume(inventory: InventoryService, *batch: Envelope) -> None:
    """What the saga consumer does with a batch: one unit of work, each message's inbox row claimed
    and its handler run in it, one commit."""
    subscription = saga_subscription(inventory)
    async with inventory.unit_of_work() as uow:
        new = []
        for envelope in batch:
            claimed = await uow.conn.execute(INBOX_CLAIM, {"c": subscription.name, "e": envelope.id})
            if claimed.first() is not None:
                new.append(envelope)
        await subscription.apply(new, uow)  # runs of one type at once, as the consumer does
        await uow.commit()


async def reservation_ids(db: Database, reference: str) -> list[uuid.UUID]:
    async with db.connect() as conn:
        rows = await conn.execute(
            text("SELECT id FROM inventory.reservations WHERE reference = :r"), {"r": reference}
        )
        return [r.id for r in rows]


async def claimed(db: Database, envelope: Envelope) -> bool:
    async with db.connect() as conn:
        found = await conn.execute(
            text("SELECT 1 FROM inventory.inbox WHERE event_id = :e"), {"e": envelope.id}
        )
        return found.first() is not None


async def test_reservation_commits_with_its_inbox_row_in_one_transaction(
    inventory: InventoryService, db: Database
) -> None:
    warehouse = await new_warehouse(inventory)
    sku = new_sku()
    await stock_up(inventory, sku, warehouse, 5)
    reference = ref("order")
    command = reserve(reference, (sku, 2))
    with db.count_statements() as counter:
        await consume(inventory, command)
    # inbox claim, insert reservation, lock stock, one CTE (allocations + stock + levels), outbox.
    assert (counter.count, counter.commits) == (5, 1), counter.statements
    [reservation_id] = await reservation_ids(db, reference)
    assert await stock_rows(db, [sku]) == [(sku, warehouse.id, 5, 2, 2)]
    [created] = await outbox(db, "inventory.reservation_created", reservation_id)
    assert created.payload["reference"] == reference
    assert (await outbox(db, "inventory.stock_level_changed", sku))[-1].payload == {
        "sku": sku,
        "available": 3,
        "version": 2,
    }
    assert await claimed(db, command)


async def test_refused_reservation_leaves_only_the_rejection(
    inventory: InventoryService, db: Database
) -> None:
    warehouse = await new_warehouse(inventory)
    plenty, scarce = new_sku(), new_sku()
    await stock_up(inventory, plenty, warehouse, 100)
    await stock_up(inventory, scarce, warehouse, 1)
    before = await stock_rows(db, [plenty, scarce])
    levels_before = len(await outbox(db, "inventory.stock_level_changed", plenty))
    reference = ref("order")
    command = reserve(reference, (plenty, 1), (scarce, 2))
    with db.count_statements() as counter:
        await consume(inventory, command)
    # inbox claim, insert reservation, lock stock, delete the reservation, outbox (the rejection);
    # the consumer's transaction commits: it is never rolled back by the handler.
    assert (counter.count, counter.commits) == (5, 1), counter.statements
    assert await reservation_ids(db, reference) == []
    assert await stock_rows(db, [plenty, scarce]) == before
    assert len(await outbox(db, "inventory.stock_level_changed", plenty)) == levels_before
    [rejected] = await outbox(db, "inventory.stock_reservation_rejected", reference)
    assert rejected.payload == {"reference": reference, "reason": "INSUFFICIENT_STOCK", "skus": [scarce]}
    assert await claimed(db, command)


async def test_a_refusal_inside_a_batch_keeps_the_other_messages(
    inventory: InventoryService, db: Database
) -> None:
    w1, w2 = await new_warehouse(inventory), await new_warehouse(inventory)
    a, b, scarce = new_sku(), new_sku(), new_sku()
    await stock_up(inventory, a, w1, 3)
    await stock_up(inventory, a, w2, 2)
    await stock_up(inventory, b, w1, 4)
    await stock_up(inventory, scarce, w1, 1)
    first, refused, second = ref("order"), ref("order"), ref("order")
    batch = [reserve(first, (b, 1), (a, 2)), reserve(refused, (scarce, 5)), reserve(second, (a, 2))]
    with db.count_statements() as counter:
        await consume(inventory, *batch)
    # 3 inbox claims, then the run of 3 at once: insert the reservations, lock the stock, delete the
    # refused one, one CTE (allocations + stock + levels); one outbox INSERT.
    assert (counter.count, counter.commits) == (8, 1), counter.statements
    assert len(await reservation_ids(db, first)) == len(await reservation_ids(db, second)) == 1
    assert await reservation_ids(db, refused) == []
    # `a` was written once for the batch, and it gets one level event: availability before the batch
    # against after it.
    # Each reservation of `a` took the warehouse with the most available: w1, then w2.
    rows = {r[1]: (r[2], r[3]) for r in await stock_rows(db, [a])}
    assert rows == {w1.id: (3, 2), w2.id: (2, 2)}
    assert (await outbox(db, "inventory.stock_level_changed", a))[-1].payload == {
        "sku": a,
        "available": 1,
        "version": await version_sum(db, a),
    }
    assert len(await outbox(db, "inventory.stock_reservation_rejected", refused)) == 1
    assert all([await claimed(db, envelope) for envelope in batch])


async def test_commit_and_release_run_in_the_consumers_transaction(
    inventory: InventoryService, db: Database
) -> None:
    warehouse = await new_warehouse(inventory)
    sku = new_sku()
    await stock_up(inventory, sku, warehouse, 5)
    to_commit = await inventory.handle(ReserveStock(reference=ref("order"), lines=[(sku, 2)]))
    to_release = await inventory.handle(ReserveStock(reference=ref("order"), lines=[(sku, 1)]))
    with db.count_statements() as commit:
        await consume(inventory, about(COMMIT_STOCK_REQUESTED, to_commit.id))
    # inbox claim, lock reservation, lock stock, one CTE (status + stock + levels), outbox.
    assert (commit.count, commit.commits) == (5, 1), commit.statements
    with db.count_statements() as release:
        await consume(inventory, about(RELEASE_STOCK_REQUESTED, to_release.id, "payment declined"))
    assert (release.count, release.commits) == (5, 1), release.statements
    assert await stock_rows(db, [sku]) == [(sku, warehouse.id, 3, 0, 5)]
    assert len(await outbox(db, "inventory.reservation_committed", to_commit.id)) == 1
    [released] = await outbox(db, "inventory.reservation_released", to_release.id)
    assert released.payload["reason"] == "payment declined"


async def test_a_refused_commit_writes_nothing_and_the_message_is_consumed(
    inventory: InventoryService, db: Database
) -> None:
    warehouse = await new_warehouse(inventory)
    sku = new_sku()
    await stock_up(inventory, sku, warehouse, 5)
    reservation = await inventory.handle(ReserveStock(reference=ref("order"), lines=[(sku, 2)]))
    await inventory.handle(ReleaseReservation(reservation.id, "CANCELLED"))
    before = await stock_rows(db, [sku])
    command = about(COMMIT_STOCK_REQUESTED, reservation.id)
    with db.count_statements() as counter:
        await consume(inventory, command)
    assert (counter.count, counter.commits) == (2, 1), counter.statements  # inbox claim, lock reservation
    assert await stock_rows(db, [sku]) == before
    assert await outbox(db, "inventory.reservation_committed", reservation.id) == []
    assert await claimed(db, command)


async def test_restock_is_applied_once_whatever_the_number_of_requests(
    inventory: InventoryService, db: Database
) -> None:
    warehouse = await new_warehouse(inventory)
    sku = new_sku()
    await stock_up(inventory, sku, warehouse, 5)
    reservation = await inventory.handle(ReserveStock(reference=ref("order"), lines=[(sku, 2)]))
    await inventory.handle(CommitReservation(reservation.id))
    await consume(inventory, about(RESTOCK_STOCK_REQUESTED, reservation.id, "order cancelled"))
    after_first = await stock_rows(db, [sku])
    await consume(inventory, about(RESTOCK_STOCK_REQUESTED, reservation.id, "order cancelled"))
    assert after_first == await stock_rows(db, [sku]) == [(sku, warehouse.id, 5, 0, 4)]
    assert len(await outbox(db, "inventory.reservation_restocked", reservation.id)) == 1
    async with db.connect() as conn:
        returned = await conn.execute(
            text("SELECT count(*) FROM inventory.adjustments WHERE sku = :s AND reason = 'RETURNED'"),
            {"s": sku},
        )
        assert returned.scalar_one() == 1


async def test_a_redelivered_reservation_in_the_same_batch_holds_once(
    inventory: InventoryService, db: Database
) -> None:
    warehouse = await new_warehouse(inventory)
    sku = new_sku()
    await stock_up(inventory, sku, warehouse, 5)
    reference = ref("order")
    # The saga asked twice (two event ids) for one reference, and both landed in one batch.
    await consume(inventory, reserve(reference, (sku, 2)), reserve(reference, (sku, 2)))
    [reservation_id] = await reservation_ids(db, reference)
    assert await stock_rows(db, [sku]) == [(sku, warehouse.id, 5, 2, 2)]
    assert len(await outbox(db, "inventory.reservation_created", reservation_id)) == 1
