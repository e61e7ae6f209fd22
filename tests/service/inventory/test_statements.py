"""SQL budget per operation, and the shape of the one locking statement."""

from __future__ import annotations

import re
from datetime import timedelta

from mercato.inventory import CommitReservation, ExpireReservations, ReleaseReservation, ReserveStock
from mercato.inventory.bootstrap import InventoryService
from mercato.platform.db import Database
from tests.conftest import ref
from tests.service.inventory.conftest import FakeClock, new_sku, new_warehouse, stock_up
from tests.service.inventory.test_reservations import drain_expired


def compact(statement: str) -> str:
    return re.sub(r"\s+", " ", statement).strip()


async def test_reserve_of_three_lines_locks_once_in_fixed_order(
    inventory: InventoryService, db: Database
) -> None:
    w1, w2 = await new_warehouse(inventory), await new_warehouse(inventory)
    skus = [new_sku() for _ in range(3)]
    for sku in skus:
        await stock_up(inventory, sku, w1, 2)
        await stock_up(inventory, sku, w2, 2)
    with db.count_statements() as counter:
        await inventory.handle(
            ReserveStock(reference=ref("order"), lines=[(skus[2], 3), (skus[0], 1), (skus[1], 4)])
        )
    statements = [compact(s) for s in counter.statements]
    # insert reservation, lock stock, one CTE (allocations + stock rows + the levels they leave),
    # insert outbox; the levels come from the writing statement, not a read of their own.
    assert counter.count == 4, statements
    assert counter.commits == 1
    locking = [s for s in statements if "FOR UPDATE" in s]
    assert len(locking) == 1
    assert locking[0].startswith("SELECT sku, warehouse_id, on_hand, reserved, version FROM inventory.stock")
    assert locking[0].endswith("ORDER BY sku, warehouse_id FOR UPDATE")
    assert statements[0].startswith("INSERT INTO inventory.reservations")
    assert statements[1] == locking[0]
    assert statements[2].startswith("WITH v AS (SELECT * FROM unnest(")
    assert "INSERT INTO inventory.reservation_allocations" in statements[2]
    assert "UPDATE inventory.stock" in statements[2]
    assert statements[3].startswith("INSERT INTO inventory.outbox")


async def test_commit_release_and_expire_budgets(
    inventory: InventoryService, db: Database, clock: FakeClock
) -> None:
    await drain_expired(inventory, clock)
    warehouse = await new_warehouse(inventory)
    skus = [new_sku() for _ in range(3)]
    for sku in skus:
        await stock_up(inventory, sku, warehouse, 5)
    lines = [(sku, 1) for sku in skus]
    to_commit = await inventory.handle(ReserveStock(reference=ref("o"), lines=lines))
    to_release = await inventory.handle(ReserveStock(reference=ref("o"), lines=lines))
    to_expire = [
        await inventory.handle(ReserveStock(reference=ref("o"), lines=lines, ttl_seconds=5)) for _ in "ab"
    ]
    with db.count_statements() as commit:
        await inventory.handle(CommitReservation(to_commit.id))
    # lock reservation (with allocations), lock stock, one CTE (status + stock rows + levels), insert
    # outbox; availability does not move on commit, so no level event.
    assert (commit.count, commit.commits) == (4, 1), commit.statements
    assert "UPDATE inventory.reservations" in commit.statements[2]
    assert "UPDATE inventory.stock" in commit.statements[2]
    with db.count_statements() as release:
        await inventory.handle(ReleaseReservation(to_release.id, "CANCELLED"))
    # The same four: the outbox INSERT carries the release and its level events together.
    assert (release.count, release.commits) == (4, 1), release.statements
    with db.count_statements() as expire:
        assert await inventory.handle(ExpireReservations(now=clock.now + timedelta(seconds=5))) == len(
            to_expire
        )
    # Claim, lock stock, one CTE, insert outbox: the same four whatever the number swept.
    assert (expire.count, expire.commits) == (4, 1), expire.statements
    assert "FOR UPDATE OF r SKIP LOCKED" in compact(expire.statements[0])


async def test_availability_is_one_statement_for_any_number_of_skus(
    inventory: InventoryService, db: Database
) -> None:
    warehouse = await new_warehouse(inventory)
    stocked = new_sku()
    await stock_up(inventory, stocked, warehouse, 3)
    missing = [new_sku() for _ in range(300)]
    with db.count_statements() as counter:
        found = await inventory.queries.availability([stocked, *missing])
    assert counter.count == 1
    assert found[stocked] == 3
    assert len(found) == 301 and sum(found.values()) == 3
