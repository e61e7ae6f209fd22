from __future__ import annotations

import pytest

from mercato.inventory import CreateWarehouse, WarehouseCreateErrorCode
from mercato.inventory.bootstrap import InventoryService
from mercato.platform.db import Database
from mercato.platform.errors import Conflict, InputRejected
from tests.conftest import ref
from tests.service.inventory.conftest import outbox


async def test_create_warehouse_lists_it_and_writes_its_event(
    inventory: InventoryService, db: Database
) -> None:
    code = ref("main")
    warehouse = await inventory.handle(CreateWarehouse(code=code, name="Main"))
    listed = [w for w in await inventory.queries.warehouses() if w.id == warehouse.id]
    assert [(w.code, w.name) for w in listed] == [(code, "Main")]
    events = await outbox(db, "inventory.warehouse_created", warehouse.id)
    assert [e.payload for e in events] == [{"code": code, "warehouse_name": "Main"}]


async def test_duplicate_code_is_a_conflict(inventory: InventoryService) -> None:
    code = ref("dup")
    await inventory.handle(CreateWarehouse(code=code, name="First"))
    with pytest.raises(Conflict) as caught:
        await inventory.handle(CreateWarehouse(code=code, name="Second"))
    assert caught.value.code is WarehouseCreateErrorCode.DUPLICATE_CODE
    assert caught.value.field == "code"
    assert [w.name for w in await inventory.queries.warehouses() if w.code == code] == ["First"]


async def test_invalid_input_uses_the_mutation_codes(inventory: InventoryService) -> None:
    with pytest.raises(InputRejected) as caught:
        await inventory.handle(CreateWarehouse(code="Not A Slug", name=""))
    assert [(e.field, e.code) for e in caught.value.errors] == [
        ("code", WarehouseCreateErrorCode.INVALID),
        ("name", WarehouseCreateErrorCode.REQUIRED),
    ]
