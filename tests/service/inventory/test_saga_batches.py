"""The saga's stock commands as set-based batch handlers: a run of reservations, commits or releases in
one consumer batch costs a constant number of statements, allocates in fetch order against the locked
book, and answers each refused one as it would be answered alone.

`consume` (from `test_saga_participant`) claims each message's inbox row in a statement of its own,
then applies the batch run by run as the consumer does: counts below are `len(batch)` claims plus the
handlers' statements plus one outbox INSERT."""

from __future__ import annotations

import pytest

from mercato.inventory import ReserveStock
from mercato.inventory.bootstrap import InventoryService
from mercato.inventory.entrypoints.saga_commands import COMMIT_STOCK_REQUESTED, RELEASE_STOCK_REQUESTED
from mercato.platform.db import Database
from tests.conftest import ref
from tests.service.inventory.conftest import new_sku, new_warehouse, outbox, stock_rows, stock_up
from tests.service.inventory.test_saga_participant import about, claimed, consume, reservation_ids, reserve

INSUFFICIENT = {"reason": "INSUFFICIENT_STOCK"}


async def test_a_run_of_reservations_on_a_hot_sku_holds_in_fetch_order_and_rejects_the_rest(
    inventory: InventoryService, db: Database
) -> None:
    # Given a SKU with 5 units in one warehouse and 3 in another
    w1, w2 = await new_warehouse(inventory), await new_warehouse(inventory)
    sku = new_sku()
    await stock_up(inventory, sku, w1, 5)
    await stock_up(inventory, sku, w2, 3)
    quantities = [3, 4, 2, 1, 5, 2]
    references = [ref("order") for _ in quantities]
    batch = [reserve(reference, (sku, q)) for reference, q in zip(references, quantities, strict=True)]

    # When one batch asks for 17 units of it
    with db.count_statements() as counter:
        await consume(inventory, *batch)

    # Then the first ones that fit hold all 8 units (3, 4, then 1), in fetch order, and the others
    # (2 after 7 were taken, 5 and 2 after all 8) are rejected, each with its event and no row left
    held, refused = [references[i] for i in (0, 1, 3)], [references[i] for i in (2, 4, 5)]
    assert [len(await reservation_ids(db, r)) for r in held] == [1, 1, 1]
    assert [await reservation_ids(db, r) for r in refused] == [[], [], []]
    for reference in refused:
        [rejected] = await outbox(db, "inventory.stock_reservation_rejected", reference)
        assert rejected.payload == {"reference": reference, "skus": [sku], **INSUFFICIENT}
    for reference in held:
        [reservation_id] = await reservation_ids(db, reference)
        assert len(await outbox(db, "inventory.reservation_created", reservation_id)) == 1
    # The warehouse with the most available first: 3 from w1; 3 from w2 and 1 from w1; 1 from w1.
    rows = {row[1]: (row[2], row[3]) for row in await stock_rows(db, [sku])}
    assert rows == {w1.id: (5, 5), w2.id: (3, 3)}
    [level] = (await outbox(db, "inventory.stock_level_changed", sku))[-1:]
    assert level.payload["available"] == 0
    # 6 claims; insert every reservation, lock the SKU, delete the 3 refused, hold the 3 (one CTE);
    # one outbox INSERT
    assert (counter.count, counter.commits) == (6 + 4 + 1, 1), counter.statements
    assert all([await claimed(db, envelope) for envelope in batch])


@pytest.mark.parametrize("size", [1, 8, 40])
async def test_the_statements_of_a_run_of_reservations_do_not_grow_with_its_size(
    inventory: InventoryService, db: Database, size: int
) -> None:
    # Given a SKU with enough units for every reservation of the run
    warehouse = await new_warehouse(inventory)
    sku = new_sku()
    await stock_up(inventory, sku, warehouse, 1_000)
    batch = [reserve(ref("order"), (sku, 2)) for _ in range(size)]

    # When one batch reserves them all
    with db.count_statements() as counter:
        await consume(inventory, *batch)

    # Then: the claims, then insert, lock, hold and the outbox INSERT, whatever the size
    assert (counter.count - size, counter.commits) == (4, 1), counter.statements
    assert [row[2:4] for row in await stock_rows(db, [sku])] == [(1_000, 2 * size)]


async def test_a_repeated_reference_in_a_later_batch_reserves_nothing_more(
    inventory: InventoryService, db: Database
) -> None:
    # Given a reservation made by an earlier batch
    warehouse = await new_warehouse(inventory)
    sku = new_sku()
    await stock_up(inventory, sku, warehouse, 5)
    first, other = ref("order"), ref("order")
    await consume(inventory, reserve(first, (sku, 2)))
    [reservation_id] = await reservation_ids(db, first)

    # When the saga's re-sent command for it (a new event id) comes in a batch beside a new one
    await consume(inventory, reserve(first, (sku, 2)), reserve(other, (sku, 1)))

    # Then the repeat leaves the first reservation as it is, with no second event; the new one holds
    assert await reservation_ids(db, first) == [reservation_id]
    assert len(await outbox(db, "inventory.reservation_created", reservation_id)) == 1
    assert len(await reservation_ids(db, other)) == 1
    assert [row[2:4] for row in await stock_rows(db, [sku])] == [(5, 3)]


async def test_runs_of_different_commands_in_one_batch_apply_in_fetch_order(
    inventory: InventoryService, db: Database
) -> None:
    # Given 5 units, 2 of them held by a reservation about to be released
    warehouse = await new_warehouse(inventory)
    sku = new_sku()
    await stock_up(inventory, sku, warehouse, 5)
    held = await inventory.handle(ReserveStock(reference=ref("order"), lines=[(sku, 2)]))
    before, after = ref("order"), ref("order")

    # When one batch reserves the 3 units left, releases the 2 held, then reserves 2
    batch = [
        reserve(before, (sku, 3)),
        about(RELEASE_STOCK_REQUESTED, held.id, "payment declined"),
        reserve(after, (sku, 2)),
    ]
    with db.count_statements() as counter:
        await consume(inventory, *batch)

    # Then the second reservation got the released units: the release ran between the two
    assert len(await reservation_ids(db, before)) == len(await reservation_ids(db, after)) == 1
    assert await outbox(db, "inventory.stock_reservation_rejected", after) == []
    assert len(await outbox(db, "inventory.reservation_released", held.id)) == 1
    assert [row[2:4] for row in await stock_rows(db, [sku])] == [(5, 5)]
    # 3 claims; 3 runs of 3 statements (insert, lock, hold / lock reservation, lock stock, settle);
    # one outbox INSERT
    assert (counter.count, counter.commits) == (3 + 9 + 1, 1), counter.statements


async def test_a_run_of_commits_settles_each_once_and_refuses_a_released_one_without_writing(
    inventory: InventoryService, db: Database
) -> None:
    # Given three reservations of a SKU, one of them released already
    warehouse = await new_warehouse(inventory)
    sku = new_sku()
    await stock_up(inventory, sku, warehouse, 10)
    a, b, gone = [
        await inventory.handle(ReserveStock(reference=ref("order"), lines=[(sku, q)])) for q in (1, 2, 3)
    ]
    await consume(inventory, about(RELEASE_STOCK_REQUESTED, gone.id))

    # When one batch commits all three, `a` twice (the saga re-sent it)
    batch = [about(COMMIT_STOCK_REQUESTED, r.id) for r in (a, gone, b, a)]
    with db.count_statements() as counter:
        await consume(inventory, *batch)

    # Then a and b are sold once each, the released one is untouched, and the batch committed
    assert [row[2:4] for row in await stock_rows(db, [sku])] == [(7, 0)]
    assert len(await outbox(db, "inventory.reservation_committed", a.id)) == 1
    assert len(await outbox(db, "inventory.reservation_committed", b.id)) == 1
    assert await outbox(db, "inventory.reservation_committed", gone.id) == []
    # 4 claims; lock the reservations, lock the SKU, one CTE (statuses + stock); one outbox INSERT
    assert (counter.count, counter.commits) == (4 + 3 + 1, 1), counter.statements
