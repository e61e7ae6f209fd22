"""Fixtures of the inventory service tests: a service on the session database, with a clock the
test controls, and helpers to read what a transaction left in `inventory.outbox`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from mercato.inventory import AdjustStock, CreateWarehouse, Warehouse
from mercato.inventory.bootstrap import InventoryService, build_inventory
from mercato.platform.config import Settings
from mercato.platform.db import Database
from mercato.platform.events import Envelope
from tests.conftest import ref


@dataclass
class FakeClock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    # Far in the past, so that reservations of other tests never look expired to a sweep here.
    return FakeClock(datetime(2001, 1, 1, tzinfo=UTC))


@pytest.fixture
def inventory(db: Database, settings: Settings, clock: FakeClock) -> InventoryService:
    return build_inventory(db, settings, clock=clock)


async def new_warehouse(inventory: InventoryService, prefix: str = "wh") -> Warehouse:
    return await inventory.handle(CreateWarehouse(code=ref(prefix), name=f"Warehouse {prefix}"))


async def stock_up(inventory: InventoryService, sku: str, warehouse: Warehouse, units: int) -> None:
    await inventory.handle(
        AdjustStock(sku=sku, warehouse_id=warehouse.id, reason="RECEIVED", actor="test", delta=units)
    )


def new_sku(prefix: str = "SKU") -> str:
    return ref(prefix).upper()


async def outbox(db: Database, type_name: str, aggregate_id: str | uuid.UUID) -> list[Envelope]:
    """Events of `type_name` about `aggregate_id` written to the inventory outbox, oldest first."""
    async with db.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT body FROM inventory.outbox "
                    "WHERE convert_from(body, 'UTF8')::jsonb ->> 'aggregate_id' = :aggregate "
                    "AND convert_from(body, 'UTF8')::jsonb ->> 'type' = :type ORDER BY seq"
                ),
                {"aggregate": str(aggregate_id), "type": type_name},
            )
        ).all()
    return [Envelope.from_json(bytes(r.body)) for r in rows]


async def stock_rows(db: Database, skus: Sequence[str]) -> list[tuple[str, uuid.UUID, int, int, int]]:
    async with db.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT sku, warehouse_id, on_hand, reserved, version FROM inventory.stock "
                    "WHERE sku = ANY(:skus) ORDER BY sku, warehouse_id"
                ),
                {"skus": list(skus)},
            )
        ).all()
    return [(r.sku, r.warehouse_id, r.on_hand, r.reserved, r.version) for r in rows]
