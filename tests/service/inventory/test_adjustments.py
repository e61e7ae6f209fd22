from __future__ import annotations

import uuid

import pytest

from mercato.inventory import AdjustStock, ReserveStock, StockAdjustErrorCode
from mercato.inventory.bootstrap import InventoryService
from mercato.platform.db import Database
from mercato.platform.errors import Conflict, InputRejected, NotFound
from tests.conftest import ref
from tests.service.inventory.conftest import new_sku, new_warehouse, outbox, stock_rows, stock_up


async def test_adjustment_creates_the_row_and_records_the_audit_trail(
    inventory: InventoryService, db: Database
) -> None:
    warehouse = await new_warehouse(inventory)
    sku = new_sku()
    received = await inventory.handle(
        AdjustStock(sku=sku, warehouse_id=warehouse.id, reason="RECEIVED", actor="ann", delta=12, note="PO 7")
    )
    counted = await inventory.handle(
        AdjustStock(sku=sku, warehouse_id=warehouse.id, reason="COUNTED", actor="bob", set_on_hand=10)
    )
    assert (received.delta, received.on_hand_after) == (12, 12)
    assert (counted.delta, counted.on_hand_after) == (-2, 10)
    assert await stock_rows(db, [sku]) == [(sku, warehouse.id, 10, 0, 2)]
    trail = await inventory.queries.adjustments(sku)
    assert [(a.id, a.delta, a.on_hand_after, a.reason, a.actor, a.note) for a in reversed(trail)] == [
        (received.id, 12, 12, "RECEIVED", "ann", "PO 7"),
        (counted.id, -2, 10, "COUNTED", "bob", ""),
    ]
    events = await outbox(db, "inventory.stock_adjusted", sku)
    assert [(e.payload["delta"], e.payload["on_hand_after"], e.payload["reason"]) for e in events] == [
        (12, 12, "RECEIVED"),
        (-2, 10, "COUNTED"),
    ]


async def test_same_idempotency_key_replays_the_first_result_and_writes_nothing(
    inventory: InventoryService, db: Database
) -> None:
    warehouse = await new_warehouse(inventory)
    sku = new_sku()
    cmd = AdjustStock(
        sku=sku,
        warehouse_id=warehouse.id,
        reason="RECEIVED",
        actor="ann",
        delta=5,
        idempotency_key=ref("key"),
    )
    first = await inventory.handle(cmd)
    with db.count_statements() as counter:
        again = await inventory.handle(cmd)
    assert again == first
    assert counter.count == 1  # the key lookup only
    assert await stock_rows(db, [sku]) == [(sku, warehouse.id, 5, 0, 1)]
    assert len(await inventory.queries.adjustments(sku)) == 1
    assert len(await outbox(db, "inventory.stock_adjusted", sku)) == 1
    assert len(await outbox(db, "inventory.stock_level_changed", sku)) == 1


async def test_idempotency_key_reused_with_other_parameters_is_refused(
    inventory: InventoryService, db: Database
) -> None:
    warehouse = await new_warehouse(inventory)
    sku = new_sku()
    key = ref("key")
    await inventory.handle(
        AdjustStock(
            sku=sku, warehouse_id=warehouse.id, reason="RECEIVED", actor="ann", delta=5, idempotency_key=key
        )
    )
    with pytest.raises(Conflict) as caught:
        await inventory.handle(
            AdjustStock(
                sku=sku,
                warehouse_id=warehouse.id,
                reason="RECEIVED",
                actor="ann",
                delta=6,
                idempotency_key=key,
            )
        )
    assert caught.value.code is StockAdjustErrorCode.IDEMPOTENCY_KEY_REUSED
    assert await stock_rows(db, [sku]) == [(sku, warehouse.id, 5, 0, 1)]
    assert len(await inventory.queries.adjustments(sku)) == 1


async def test_adjusting_below_reserved_is_refused_and_writes_nothing(
    inventory: InventoryService, db: Database
) -> None:
    warehouse = await new_warehouse(inventory)
    sku = new_sku()
    await stock_up(inventory, sku, warehouse, 10)
    await inventory.handle(ReserveStock(reference=ref("order"), lines=[(sku, 4)]))
    before = await stock_rows(db, [sku])
    events_before = len(await outbox(db, "inventory.stock_level_changed", sku))
    for cmd in (
        AdjustStock(sku=sku, warehouse_id=warehouse.id, reason="DAMAGED", actor="ann", delta=-7),
        AdjustStock(sku=sku, warehouse_id=warehouse.id, reason="COUNTED", actor="ann", set_on_hand=3),
    ):
        with pytest.raises(Conflict) as caught:
            await inventory.handle(cmd)
        assert caught.value.code is StockAdjustErrorCode.BELOW_RESERVED
    with pytest.raises(Conflict) as negative:
        await inventory.handle(
            AdjustStock(sku=sku, warehouse_id=warehouse.id, reason="DAMAGED", actor="ann", delta=-11)
        )
    assert negative.value.code is StockAdjustErrorCode.INSUFFICIENT_STOCK
    assert await stock_rows(db, [sku]) == before == [(sku, warehouse.id, 10, 4, 2)]
    assert len(await inventory.queries.adjustments(sku)) == 1
    assert len(await outbox(db, "inventory.stock_adjusted", sku)) == 1
    assert len(await outbox(db, "inventory.stock_level_changed", sku)) == events_before
    # Down to exactly the reserved units is allowed.
    allowed = await inventory.handle(
        AdjustStock(sku=sku, warehouse_id=warehouse.id, reason="DAMAGED", actor="ann", delta=-6)
    )
    assert allowed.on_hand_after == 4


async def test_removing_units_from_a_new_row_creates_nothing(
    inventory: InventoryService, db: Database
) -> None:
    warehouse = await new_warehouse(inventory)
    sku = new_sku()
    with pytest.raises(Conflict) as caught:
        await inventory.handle(
            AdjustStock(sku=sku, warehouse_id=warehouse.id, reason="DAMAGED", actor="a", delta=-1)
        )
    assert caught.value.code is StockAdjustErrorCode.INSUFFICIENT_STOCK
    assert await stock_rows(db, [sku]) == []


async def test_unknown_warehouse_and_bad_input(inventory: InventoryService, db: Database) -> None:
    sku = new_sku()
    with pytest.raises(NotFound) as missing:
        await inventory.handle(
            AdjustStock(sku=sku, warehouse_id=uuid.uuid4(), reason="RECEIVED", actor="a", delta=1)
        )
    assert missing.value.code is StockAdjustErrorCode.WAREHOUSE_NOT_FOUND
    with pytest.raises(InputRejected) as bad:
        await inventory.handle(
            AdjustStock(sku=sku, warehouse_id=uuid.uuid4(), reason="LOST", actor="a", delta=1, set_on_hand=1)
        )
    assert [(e.field, e.code) for e in bad.value.errors] == [
        ("reason", StockAdjustErrorCode.INVALID),
        ("delta", StockAdjustErrorCode.INVALID),
    ]
    assert await stock_rows(db, [sku]) == []
