"""PlaceOrder on its own (no consumers running): what one transaction writes, idempotency, refusals,
and the read side."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace

import pytest
from sqlalchemy import text

from mercato.orders import OrderStatus, PlaceOrder, PlaceOrderErrorCode
from mercato.orders.bootstrap import OrdersService, build_orders
from mercato.orders.domain.errors import OrderQueryErrorCode
from mercato.orders.domain.model import order_id_for
from mercato.platform.config import Settings
from mercato.platform.db import Database
from mercato.platform.errors import Conflict, InputRejected
from mercato.platform.events import Envelope
from mercato.platform.types import Money
from tests.conftest import ref
from tests.service.orders.harness import ADDRESS


@pytest.fixture
def orders(orders_db: Database, settings: Settings) -> OrdersService:
    return build_orders(orders_db, settings)


def a_place_order(customer: uuid.UUID | None = None, **changes: object) -> PlaceOrder:
    # A SKU nobody stocks: when a later test's relays publish this order's command, it is
    # refused at once and the saga ends REJECTED, touching nobody else's stock.
    sku = ref("NOSKU").upper()
    cmd = PlaceOrder(
        customer_id=customer or uuid.uuid4(),
        cart_id=uuid.uuid4(),
        lines=[(sku, 2, Money(1000, "EUR"))],
        total=Money(2000, "EUR"),
        shipping_address=ADDRESS,
        payment_method="tok_success",
        idempotency_key=ref("key"),
    )
    return replace(cmd, **changes)  # type: ignore[arg-type]


async def outbox(db: Database, order_id: uuid.UUID) -> list[Envelope]:
    async with db.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT body FROM orders.outbox "
                    "WHERE convert_from(body, 'UTF8')::jsonb ->> 'aggregate_id' = :id ORDER BY seq"
                ),
                {"id": str(order_id)},
            )
        ).all()
    return [Envelope.from_json(bytes(r.body)) for r in rows]


async def count(db: Database, table: str, order_id: uuid.UUID) -> int:
    column = "id" if table == "orders" else "order_id"
    async with db.connect() as conn:
        return int(
            (
                await conn.execute(
                    text(f"SELECT count(*) FROM orders.{table} WHERE {column} = :id"), {"id": order_id}
                )
            ).scalar_one()
        )


async def test_an_order_its_saga_and_the_first_command_commit_together_in_one_statement(
    orders: OrdersService, orders_db: Database
) -> None:
    cmd = a_place_order()
    with orders_db.count_statements() as counter:
        order = await orders.handle(cmd)

    assert (counter.count, counter.commits) == (1, 1)  # order, saga, history and outbox: one CTE
    assert order.status is OrderStatus.PENDING
    events = await outbox(orders_db, order.id)
    assert [e.type for e in events] == ["orders.order_placed", "orders.reserve_stock_requested"]
    sku = cmd.lines[0][0]
    assert events[1].payload == {
        "order_id": str(order.id),
        "reference": str(order.id),
        "lines": [{"sku": sku, "quantity": 2}],
        "ttl_seconds": orders.policy.reservation_ttl_seconds,
    }
    assert events[0].payload["customer_id"] == str(cmd.customer_id)
    assert [await count(orders_db, t, order.id) for t in ("orders", "sagas", "status_history")] == [1, 1, 1]


async def test_the_same_key_again_returns_the_first_order_and_writes_nothing(
    orders: OrdersService, orders_db: Database
) -> None:
    cmd = a_place_order()
    first = await orders.handle(cmd)

    again = await orders.handle(cmd)
    chosen_id = await orders.handle(replace(cmd, order_id=first.id))

    assert again == first
    assert chosen_id.id == first.id
    assert len(await outbox(orders_db, first.id)) == 2
    assert await count(orders_db, "status_history", first.id) == 1


async def test_the_same_key_for_another_order_is_refused(orders: OrdersService, orders_db: Database) -> None:
    cmd = a_place_order()
    first = await orders.handle(cmd)
    with pytest.raises(Conflict) as caught:
        await orders.handle(
            replace(cmd, total=Money(2000, "EUR"), shipping_address=replace(ADDRESS, city="Nice"))
        )
    assert caught.value.code is PlaceOrderErrorCode.IDEMPOTENCY_KEY_REUSED
    assert len(await outbox(orders_db, first.id)) == 2


async def test_the_same_key_for_another_cart_is_refused_even_with_the_same_contents(
    orders: OrdersService, orders_db: Database
) -> None:
    cmd = a_place_order()
    first = await orders.handle(cmd)
    with pytest.raises(Conflict) as caught:
        await orders.handle(replace(cmd, cart_id=uuid.uuid4()))
    assert caught.value.code is PlaceOrderErrorCode.IDEMPOTENCY_KEY_REUSED
    assert len(await outbox(orders_db, first.id)) == 2


async def test_the_same_key_with_another_payment_method_is_refused(
    orders: OrdersService, orders_db: Database
) -> None:
    # payments seals the same shopper's same token into the same reference: another one is another card
    cmd = a_place_order()
    first = await orders.handle(cmd)
    with pytest.raises(Conflict) as caught:
        await orders.handle(replace(cmd, payment_method="pm_2.another-card"))
    assert caught.value.code is PlaceOrderErrorCode.IDEMPOTENCY_KEY_REUSED
    assert len(await outbox(orders_db, first.id)) == 2


async def test_a_retry_from_the_emptied_cart_returns_the_first_order_in_one_statement(
    orders: OrdersService, orders_db: Database
) -> None:
    cmd = a_place_order()
    first = await orders.handle(cmd)
    emptied = replace(cmd, lines=[], total=Money(0, "EUR"))

    with orders_db.count_statements() as counter:
        again = await orders.handle(emptied)

    assert again == first
    assert (counter.count, counter.commits) == (1, 0)
    with pytest.raises(Conflict) as caught:
        await orders.handle(replace(emptied, cart_id=uuid.uuid4()))
    assert caught.value.code is PlaceOrderErrorCode.IDEMPOTENCY_KEY_REUSED
    assert len(await outbox(orders_db, first.id)) == 2


async def test_an_empty_cart_with_no_earlier_order_is_refused(
    orders: OrdersService, orders_db: Database
) -> None:
    cmd = a_place_order(lines=[], total=Money(0, "EUR"))
    with pytest.raises(Conflict) as caught:
        await orders.handle(cmd)
    assert (caught.value.code, caught.value.field) == (PlaceOrderErrorCode.CART_EMPTY, "lines")
    assert await count(orders_db, "orders", order_id_for(cmd.customer_id, cmd.idempotency_key)) == 0


async def test_placing_with_a_wait_answers_the_order_as_it_stands_when_the_wait_runs_out(
    orders: OrdersService, orders_db: Database
) -> None:
    cmd = a_place_order()
    with orders_db.count_statements() as counter:
        view = await orders.place_order(cmd, wait_seconds=0.0)
    assert (view.id, view.status, view.customer_id) == (
        order_id_for(cmd.customer_id, cmd.idempotency_key),
        OrderStatus.PENDING,
        cmd.customer_id,
    )
    assert (counter.count, counter.commits) == (2, 1)  # the placing CTE (outbox included), the read


async def test_the_same_key_is_free_for_another_customer(orders: OrdersService) -> None:
    cmd = a_place_order()
    first = await orders.handle(cmd)
    other = await orders.handle(replace(cmd, customer_id=uuid.uuid4()))
    assert other.id != first.id


async def test_a_chosen_order_id_that_is_taken_is_refused(orders: OrdersService) -> None:
    first = await orders.handle(a_place_order())
    with pytest.raises(Conflict) as caught:
        await orders.handle(a_place_order(order_id=first.id))
    assert caught.value.code is PlaceOrderErrorCode.ORDER_ID_TAKEN


async def test_invalid_input_is_refused_before_anything_is_written(
    orders: OrdersService, orders_db: Database
) -> None:
    chosen = uuid.uuid4()
    with pytest.raises(InputRejected) as caught:
        await orders.handle(a_place_order(order_id=chosen, total=Money(1999, "EUR"), payment_method=""))
    assert [(e.field, e.code) for e in caught.value.errors] == [
        ("total", PlaceOrderErrorCode.TOTAL_MISMATCH),
        ("paymentToken", PlaceOrderErrorCode.REQUIRED),
    ]
    assert await count(orders_db, "orders", chosen) == 0


async def test_concurrent_retries_with_one_key_make_one_order(
    orders: OrdersService, orders_db: Database
) -> None:
    cmd = a_place_order()
    results = await asyncio.gather(*(orders.handle(cmd) for _ in range(8)))
    assert len({r.id for r in results}) == 1
    assert len(await outbox(orders_db, results[0].id)) == 2


async def test_a_customers_orders_page_newest_first_with_a_keyset_cursor(
    orders: OrdersService, orders_db: Database
) -> None:
    customer = uuid.uuid4()
    placed = [await orders.handle(a_place_order(customer)) for _ in range(5)]

    with orders_db.count_statements() as counter:
        first = await orders.queries.orders_for_customer(customer, first=2)
        second = await orders.queries.orders_for_customer(customer, first=2, after=first.end_cursor)
        last = await orders.queries.orders_for_customer(customer, first=2, after=second.end_cursor)

    assert counter.count == 3  # one statement per page, history included
    newest_first = [o.id for o in reversed(placed)]
    assert [o.id for o in first.items + second.items + last.items] == newest_first
    assert (first.has_next_page, second.has_next_page, last.has_next_page) == (True, True, False)
    view = first.items[0]
    assert (view.status, view.total, view.shipping_address) == (
        OrderStatus.PENDING,
        Money(2000, "EUR"),
        ADDRESS.to_document(),
    )
    assert [(h.status, h.reason) for h in view.history] == [(OrderStatus.PENDING, None)]
    assert view.created_at == view.history[0].at


async def test_a_malformed_cursor_or_page_size_is_refused(orders: OrdersService) -> None:
    with pytest.raises(InputRejected) as cursor:
        await orders.queries.orders_for_customer(uuid.uuid4(), after="not-a-cursor")
    with pytest.raises(InputRejected) as size:
        await orders.queries.orders_for_customer(uuid.uuid4(), first=101)
    assert cursor.value.errors[0].code is OrderQueryErrorCode.INVALID_CURSOR
    assert size.value.errors[0].code is OrderQueryErrorCode.OUT_OF_RANGE


async def test_an_unknown_order_is_none(orders: OrdersService) -> None:
    assert await orders.queries.order(uuid.uuid4()) is None
    assert await orders.queries.history(uuid.uuid4()) == ()
