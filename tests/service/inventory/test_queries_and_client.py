from __future__ import annotations

import uuid

import pytest

from mercato.inventory import (
    AdjustStock,
    CommitReservation,
    CreateWarehouse,
    InventoryClient,
    ReleaseReservation,
    ReservationStatus,
    ReserveStock,
    ReserveStockErrorCode,
)
from mercato.inventory.bootstrap import InventoryService
from mercato.inventory.client import InProcessInventoryClient
from mercato.platform.errors import Conflict
from tests.conftest import ref
from tests.service.inventory.conftest import new_sku


async def test_in_process_client_round_trip(inventory: InventoryService) -> None:
    client: InventoryClient = InProcessInventoryClient(inventory)
    north = await client.create_warehouse(CreateWarehouse(code=ref("north"), name="North"))
    south = await client.create_warehouse(CreateWarehouse(code=ref("south"), name="South"))
    sku = new_sku()
    await client.adjust(AdjustStock(sku=sku, warehouse_id=north.id, reason="RECEIVED", actor="ann", delta=3))
    await client.adjust(AdjustStock(sku=sku, warehouse_id=south.id, reason="RECEIVED", actor="ann", delta=1))
    kept = await client.reserve(ReserveStock(reference=ref("order"), lines=[(sku, 2)]))
    dropped = await client.reserve(ReserveStock(reference=ref("order"), lines=[(sku, 1)], ttl_seconds=60))
    assert await client.availability([sku, "UNKNOWN-SKU"]) == {sku: 1, "UNKNOWN-SKU": 0}
    with pytest.raises(Conflict) as short:
        await client.reserve(ReserveStock(reference=ref("order"), lines=[(sku, 2)]))
    assert short.value.code is ReserveStockErrorCode.INSUFFICIENT_STOCK
    assert (
        await client.commit(CommitReservation(reservation_id=kept.id))
    ).status is ReservationStatus.COMMITTED
    assert (
        await client.release(ReleaseReservation(reservation_id=dropped.id, reason="CANCELLED"))
    ).status is ReservationStatus.RELEASED
    assert await client.availability([sku]) == {sku: 2}
    rows = await inventory.queries.stock(sku)
    assert sorted((r.warehouse_code, r.on_hand, r.reserved, r.available) for r in rows) == sorted(
        [(north.code, 1, 0, 1), (south.code, 1, 0, 1)]
    )


async def test_queries_for_unknown_things(inventory: InventoryService) -> None:
    assert await inventory.queries.reservation(uuid.uuid4()) is None
    assert await inventory.queries.stock(new_sku()) == []
    assert await inventory.queries.availability([]) == {}
