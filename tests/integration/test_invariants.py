"""The invariant checker can fail: each kind of violation, planted in a database made for this module
(never in the session's shared one) and under a Redis namespace of its own, is reported as such."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mercato.app.contexts import MIGRATIONS
from mercato.app.invariants import Limits, Report, Scope, verify
from mercato.platform.db import Database
from mercato.platform.engines import EngineUrls
from mercato.platform.migrations import migrate
from tests.conftest import own_database, ref

NOW = datetime.now(UTC)


@dataclass
class Planted:
    db: Database
    redis: Redis
    namespace: str

    async def check(self, scope: Scope) -> Report:
        return await verify(self.db, self.redis, self.namespace, scope=scope, limits=Limits())


@pytest.fixture(scope="module")
async def planted(engine_urls: EngineUrls) -> AsyncIterator[Planted]:
    namespace = f"inv{secrets.token_hex(4)}"
    async with own_database(engine_urls, namespace) as url:
        db = Database(url, pool_size=2)
        redis = Redis.from_url(engine_urls.redis)
        try:
            await migrate(db, MIGRATIONS)
            yield Planted(db, redis, namespace)
        finally:
            keys = [key async for key in redis.scan_iter(match=f"{namespace}:*", count=1000)]
            if keys:
                await redis.delete(*keys)
            await redis.aclose()
            await db.dispose()


async def plant_order(
    conn: AsyncConnection,
    status: str,
    *,
    total: int = 5000,
    history: tuple[str, ...] | None = None,
    saga_deadline: datetime | None = None,
    saga: bool = True,
    cart_id: uuid.UUID | None = None,
) -> uuid.UUID:
    order_id = uuid.uuid4()
    await conn.execute(
        text(
            "INSERT INTO orders.orders (id, customer_id, idempotency_key, status, lines, total_amount, "
            "currency, shipping_address, created_at, updated_at, cart_id) VALUES (:id, :customer, :key, "
            ":status, CAST(:lines AS jsonb), :total, 'USD', CAST('{}' AS jsonb), :at, :at, :cart)"
        ),
        {
            "id": order_id,
            "customer": uuid.uuid4(),
            "key": ref("key"),
            "status": status,
            "lines": orjson.dumps([{"sku": "x", "quantity": 1, "unit_price": total}]).decode(),
            "total": total,
            "at": datetime.now(UTC) - timedelta(minutes=5),
            "cart": cart_id,
        },
    )
    steps = history or tuple(dict.fromkeys(("PENDING", status)))
    placed = datetime.now(UTC) - timedelta(minutes=5)
    for seq, step in enumerate(steps):
        await conn.execute(
            text("INSERT INTO orders.status_history (order_id, status, at) VALUES (:id, :s, :at)"),
            {"id": order_id, "s": step, "at": placed + timedelta(seconds=seq)},
        )
    if saga:
        await conn.execute(
            text(
                "INSERT INTO orders.sagas (order_id, status, state, deadline, updated_at) "
                "VALUES (:id, :s, CAST('{}' AS jsonb), :deadline, :at)"
            ),
            {"id": order_id, "s": status, "deadline": saga_deadline, "at": placed},
        )
    return order_id


async def plant_ledger(conn: AsyncConnection, order_id: uuid.UUID, amount: int, *kinds: str) -> None:
    """A captured intent for `order_id` and one ledger entry (and operation) per kind."""
    intent = uuid.uuid4()
    captured = amount if "CAPTURE" in kinds else 0
    await conn.execute(
        text(
            "INSERT INTO payments.payment_intents (id, order_reference, amount, currency, status, provider, "
            "captured_amount, refunded_amount, created_at, updated_at, version) "
            "VALUES (:id, :ref, :amount, 'USD', :status, 'sandbox', :captured, 0, now(), now(), 1)"
        ),
        {
            "id": intent,
            "ref": str(order_id),
            "amount": amount,
            "status": "CAPTURED" if captured else "AUTHORIZED",
            "captured": captured,
        },
    )
    for kind in kinds:
        operation = uuid.uuid4()
        await conn.execute(
            text(
                "INSERT INTO payments.payment_operations (id, operation, idempotency_key, intent_id, "
                "order_reference, amount, currency, status, result, lease_until) VALUES (:id, :op, :key, "
                ":intent, :ref, :amount, 'USD', 'SUCCEEDED', CAST('{}' AS jsonb), now())"
            ),
            {
                "id": operation,
                "op": "AUTHORIZE" if kind == "AUTHORIZATION" else kind,
                "key": ref("op"),
                "intent": intent,
                "ref": str(order_id),
                "amount": amount,
            },
        )
        await conn.execute(
            text(
                "INSERT INTO payments.ledger_entries (id, intent_id, operation_id, order_reference, kind, "
                "amount, currency, created_at) VALUES (:id, :intent, :op, :ref, :kind, :amount, 'USD', now())"
            ),
            {
                "id": uuid.uuid4(),
                "intent": intent,
                "op": operation,
                "ref": str(order_id),
                "kind": kind,
                "amount": amount,
            },
        )


async def plant_stock(
    conn: AsyncConnection, sku: str, *, on_hand: int, reserved: int, received: int, initial: int = 0
) -> str:
    warehouse = uuid.uuid4()
    await conn.execute(
        text("INSERT INTO inventory.warehouses (id, code, name) VALUES (:id, :code, 'Planted')"),
        {"id": warehouse, "code": ref("wh")},
    )
    await conn.execute(
        text(
            "INSERT INTO inventory.stock (sku, warehouse_id, on_hand, reserved, version, initial) "
            "VALUES (:sku, :wh, :on_hand, :reserved, 1, :initial)"
        ),
        {"sku": sku, "wh": warehouse, "on_hand": on_hand, "reserved": reserved, "initial": initial},
    )
    await conn.execute(
        text(
            "INSERT INTO inventory.adjustments (id, sku, warehouse_id, delta, on_hand_after, reason, note, "
            "actor) VALUES (:id, :sku, :wh, :delta, :delta, 'RECEIVED', '', 'test')"
        ),
        {"id": uuid.uuid4(), "sku": sku, "wh": warehouse, "delta": received},
    )
    return f"{sku}@{str(warehouse)[:8]}"


def only(
    orders: list[uuid.UUID] | None = None, skus: list[str] | None = None, since: datetime | None = None
) -> Scope:
    """What one test planted: these orders and SKUs, and messages since `since` (else none)."""
    return Scope(orders=orders or [], skus=skus or [], since=since or NOW + timedelta(days=1))


def found(report: Report) -> list[tuple[str, str]]:
    return [(v.check, v.subject) for v in report.violations]


async def test_a_consistent_order_passes(planted: Planted) -> None:
    sku = ref("sku")
    async with planted.db.begin() as conn:
        order = await plant_order(conn, "CONFIRMED", history=("PENDING", "STOCK_RESERVED", "CONFIRMED"))
        await plant_ledger(conn, order, 5000, "AUTHORIZATION", "CAPTURE")
        await plant_stock(conn, sku, on_hand=4, reserved=0, received=4)

    report = await planted.check(only(orders=[order], skus=[sku]))

    assert report.violations == []
    assert [r.checked for r in report.results][:5] == [1, 1, 1, 1, 3]


async def test_an_order_whose_saga_is_past_its_deadline_or_missing_is_stuck(planted: Planted) -> None:
    now = datetime.now(UTC)
    async with planted.db.begin() as conn:
        late = await plant_order(conn, "STOCK_RESERVED", saga_deadline=now - timedelta(minutes=3))
        orphan = await plant_order(conn, "PENDING", saga=False)
        moving = await plant_order(conn, "PENDING", saga_deadline=now + timedelta(seconds=30))

    report = await planted.check(only(orders=[late, orphan, moving]))

    assert sorted(found(report)) == sorted(
        [("orders terminal or in flight", str(late)), ("orders terminal or in flight", str(orphan))]
    )
    assert report.results[0].note.startswith("0 settled, 3 in flight, oldest 30")  # placed 5 min ago


async def test_a_confirmed_order_never_captured_does_not_reconcile(planted: Planted) -> None:
    async with planted.db.begin() as conn:
        order = await plant_order(conn, "CONFIRMED")
        await plant_ledger(conn, order, 5000, "AUTHORIZATION")

    report = await planted.check(only(orders=[order]))

    assert found(report) == [("money reconciles", str(order))] * 2  # no capture; authorization left open
    assert report.violations[0].detail == "CONFIRMED: captured - refunded = 0, owed 5000"


async def test_stock_that_disagrees_with_its_adjustments_and_reservations(planted: Planted) -> None:
    sku = ref("sku")
    async with planted.db.begin() as conn:
        subject = await plant_stock(conn, sku, on_hand=5, reserved=2, received=7)

    report = await planted.check(only(skus=[sku]))

    assert [(v.subject, v.detail) for v in report.violations] == [
        (subject, "on hand 5, initial + adjustments - committed = 7"),
        (subject, "reserved 2, open reservations hold 0"),
    ]


async def test_stock_an_import_created_counts_from_its_initial_count(planted: Planted) -> None:
    # A bulk import creates rows with their count as `initial` (no adjustment of their own)
    sku = ref("sku")
    async with planted.db.begin() as conn:
        agrees = await plant_stock(conn, sku, on_hand=12, reserved=0, received=3, initial=9)
        disagrees = await plant_stock(conn, sku, on_hand=12, reserved=0, received=3, initial=8)

    report = await planted.check(only(skus=[sku]))

    assert [(v.subject, v.detail) for v in report.violations] == [
        (disagrees, "on hand 12, initial + adjustments - committed = 11")
    ]
    assert agrees != disagrees


async def test_a_payment_captured_twice(planted: Planted) -> None:
    async with planted.db.begin() as conn:
        order = await plant_order(conn, "CONFIRMED")
        await plant_ledger(conn, order, 5000, "AUTHORIZATION", "CAPTURE", "CAPTURE")

    report = await planted.check(only(orders=[order]))

    double = [v.detail for v in report.violations if v.check == "no double capture"]
    assert double == [
        "captured 2 times",
        "intent says captured 5000 refunded 0, ledger 10000 / 0",
        "amount 5000, captured 10000, refunded 0",
    ]
    assert ("money reconciles", str(order)) in found(report)


async def test_a_saga_reply_applied_twice(planted: Planted) -> None:
    async with planted.db.begin() as conn:
        order = await plant_order(
            conn, "CONFIRMED", history=("PENDING", "STOCK_RESERVED", "STOCK_RESERVED", "CONFIRMED")
        )
        await plant_ledger(conn, order, 5000, "AUTHORIZATION", "CAPTURE")

    report = await planted.check(only(orders=[order]))

    assert [(v.check, v.subject, v.detail) for v in report.violations] == [
        ("no message applied twice", str(order), "moved to STOCK_RESERVED twice in a row")
    ]


async def test_an_undrained_outbox_and_a_parked_message(planted: Planted) -> None:
    since = datetime.now(UTC) - timedelta(hours=1)
    async with planted.db.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO inventory.outbox (id, subject, body, created_at) "
                "VALUES (:id, 'x.inventory.v1.stock_level_changed', '\\x7b7d', now() - interval '5 minutes')"
            ),
            {"id": uuid.uuid4()},
        )
        await conn.execute(
            text(
                "INSERT INTO payments.dead_letters (consumer, event_id, subject, body, error) "
                "VALUES ('saga_commands', :id, 'x.orders.v1.capture_payment_requested', '\\x7b7d', 'boom')"
            ),
            {"id": uuid.uuid4()},
        )

    report = await planted.check(only(since=since))

    assert found(report) == [
        ("outboxes drained", "inventory.outbox"),
        ("outboxes drained", "payments.dead_letters"),
    ]
    assert report.violations[1].detail == "1 messages of saga_commands parked"


async def test_the_cart_of_a_confirmed_order_not_emptied(planted: Planted) -> None:
    kept, emptied = uuid.uuid4(), uuid.uuid4()
    async with planted.db.begin() as conn:
        full = await plant_order(conn, "CONFIRMED", cart_id=kept)
        await plant_ledger(conn, full, 5000, "AUTHORIZATION", "CAPTURE")
        done = await plant_order(conn, "CONFIRMED", cart_id=emptied)
        await plant_ledger(conn, done, 5000, "AUTHORIZATION", "CAPTURE")
    prefix = f"{planted.namespace}:cart:"
    await planted.redis.hset(f"{prefix}{kept}", mapping={"l:x": 1, "m:created": NOW.isoformat()})
    await planted.redis.hset(f"{prefix}{emptied}", mapping={"m:created": NOW.isoformat()})
    await planted.redis.set(f"{prefix}{emptied}:bought:{done}", "1")

    report = await planted.check(only(orders=[full, done]))

    assert [(v.check, v.subject, v.detail) for v in report.violations] == [
        ("carts of confirmed orders emptied", str(full), f"cart {kept} still holds the order's lines")
    ]


async def test_the_cart_of_an_order_cancelled_before_its_confirmation_keeps_its_lines(
    planted: Planted,
) -> None:
    # Found by the simulation: a cancel that lands before the confirmation ends CANCELLED with no
    # `order_confirmed`, so the cart rightly keeps its lines.
    kept = uuid.uuid4()
    async with planted.db.begin() as conn:
        cancelled = await plant_order(
            conn, "CANCELLED", cart_id=kept, history=("PENDING", "STOCK_RESERVED", "CANCELLING", "CANCELLED")
        )
    await planted.redis.hset(
        f"{planted.namespace}:cart:{kept}", mapping={"l:x": 1, "m:created": NOW.isoformat()}
    )

    report = await planted.check(only(orders=[cancelled]))

    assert [v for v in report.violations if v.check == "carts of confirmed orders emptied"] == []
    assert next(r for r in report.results if r.name == "carts of confirmed orders emptied").checked == 0
