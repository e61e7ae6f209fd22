"""The orders' store on one connection: Core statements, each visible and countable.

A new order costs one statement (the order, its saga and its first history entry in one CTE);
a saga step costs one too (the saga, and when the status moves the order and its history).
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime
from typing import Any

from asyncpg import Record
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mercato.orders.adapters import locks
from mercato.orders.domain.model import Order, OrderLine, OrderOwner, OrderStatus, RejectReason
from mercato.orders.domain.saga_codec import from_document, to_document
from mercato.orders.domain.saga_types import LockedSaga, SagaState, awaited_step
from mercato.platform.outbox_embed import EmbeddedEvents, outbox_insert_sql
from mercato.platform.sql import Sql
from mercato.platform.types import Money

# The events of a new order or of a saga step (`EmbeddedEvents.params()`) ride in its own statement.
OUTBOX_INSERT = outbox_insert_sql("orders")

# Sent straight to asyncpg (`platform.sql`), as are the saga's lock and saves: once per order or step.
_ADD = Sql(
    "WITH o AS ("
    " INSERT INTO orders.orders (id, customer_id, idempotency_key, status, reason, lines, total_amount,"
    " currency, shipping_address, created_at, updated_at, cart_id)"
    " VALUES (:id, :customer_id, :key, :status, NULL, :lines, :amount, :currency, :address, :now, :now,"
    " :cart_id)"
    " ON CONFLICT DO NOTHING RETURNING id),"
    " s AS (INSERT INTO orders.sagas (order_id, status, state, deadline, updated_at, step, step_started_at)"
    " SELECT id, :status, :state, CAST(:deadline AS timestamptz), :now, CAST(:step AS text), :now FROM o),"
    " h AS (INSERT INTO orders.status_history (order_id, status, reason, at)"
    " SELECT id, :status, NULL, :now FROM o),"
    " ob AS (" + OUTBOX_INSERT + " WHERE EXISTS (SELECT 1 FROM o))"
    " SELECT id FROM o",
    json=("lines", "address", "state"),
)

_BY_KEY = text(
    "SELECT o.id, o.customer_id, o.idempotency_key, o.status, o.reason, o.lines, o.total_amount, "
    "o.currency, o.shipping_address, o.created_at, o.cart_id, "
    "coalesce(s.state->>'payment_method', s.state->>'payment_token') AS payment_method "
    "FROM orders.orders o LEFT JOIN orders.sagas s ON s.order_id = o.id "
    "WHERE o.customer_id = :customer_id AND o.idempotency_key = :key"
)

# The step awaited, and since when: kept while the step stays the same (a re-send), reset when it moves.
_STEP = (
    "step = CAST(:step AS text), step_started_at = CASE WHEN CAST(:step AS text) IS NULL THEN NULL "
    "WHEN step IS NOT DISTINCT FROM CAST(:step AS text) THEN step_started_at "
    "ELSE CAST(:now AS timestamptz) END, "
)
_SAVE = (
    "UPDATE orders.sagas SET status = :status, state = :state, deadline = :deadline, "
    + _STEP
    + "version = version + 1, updated_at = :now WHERE order_id = :id"
)
_SAVE_AND_MOVE = (
    "WITH s AS (UPDATE orders.sagas SET status = :status, state = :state, deadline = :deadline, "
    + _STEP
    + " version = version + 1, updated_at = :now WHERE order_id = :id),"
    " h AS (INSERT INTO orders.status_history (order_id, status, reason, actor, note, at)"
    " VALUES (:id, :status, :reason, :actor, :note, :now))"
    " UPDATE orders.orders SET status = :status, reason = :reason, refunded_amount = :refunded,"
    " tracking_number = :tracking, updated_at = :now WHERE id = :id"
)
# The order's refunded total moved (a second partial refund) while its status did not.
_SAVE_AND_TOUCH = (
    "WITH s AS (UPDATE orders.sagas SET status = :status, state = :state, deadline = :deadline, "
    + _STEP
    + " version = version + 1, updated_at = :now WHERE order_id = :id)"
    " UPDATE orders.orders SET refunded_amount = :refunded, tracking_number = :tracking,"
    " updated_at = :now WHERE id = :id"
)


def _statement(sql: str, *, with_events: bool) -> Sql:
    """`sql`, and with `with_events` the step's outbox rows written by the same statement."""
    if with_events:
        head = "WITH ob AS (" + OUTBOX_INSERT + ")"
        sql = head + ", " + sql.removeprefix("WITH ") if sql.startswith("WITH ") else head + " " + sql
    return Sql(sql, json=("state",))


# (saga only, saga + order status + history, saga + order totals) x (without, with events)
_SAVES = {
    (kind, with_events): _statement(sql, with_events=with_events)
    for kind, sql in (("saga", _SAVE), ("move", _SAVE_AND_MOVE), ("touch", _SAVE_AND_TOUCH))
    for with_events in (False, True)
}


def _locked(row: Record) -> LockedSaga:
    return LockedSaga(from_document(row["state"]), OrderOwner(row["customer_id"], row["cart_id"]))


# A saga step that ended in this transaction: (step, outcome, seconds it took).
FinishedStep = tuple[str, str, float]


def lines_document(lines: tuple[OrderLine, ...]) -> list[dict[str, Any]]:
    return [
        {"sku": line.sku, "quantity": line.quantity, "unit_price": line.unit_price.amount} for line in lines
    ]


def to_order(row: Any) -> Order:
    currency = row.currency
    return Order(
        id=row.id,
        customer_id=row.customer_id,
        status=OrderStatus(row.status),
        reason=RejectReason(row.reason) if row.reason else None,
        lines=tuple(
            OrderLine(str(line["sku"]), int(line["quantity"]), Money(int(line["unit_price"]), currency))
            for line in row.lines
        ),
        total=Money(int(row.total_amount), currency),
        shipping_address=row.shipping_address,
        idempotency_key=row.idempotency_key,
        created_at=row.created_at,
        cart_id=row.cart_id,
    )


class OrdersRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        # When the step of each saga locked here began (read with the lock), and the steps that ended:
        # the unit of work observes their durations once the transaction has committed.
        self._step_started: dict[uuid.UUID, datetime | None] = {}
        self.finished_steps: list[FinishedStep] = []

    def _remember(self, row: Record) -> LockedSaga:
        locked = _locked(row)
        self._step_started[locked.state.order_id] = row["step_started_at"]
        return locked

    async def add(self, order: Order, saga: SagaState, events: EmbeddedEvents) -> bool:
        # `solo`: the order's whole write (or nothing, if the key is taken), so on a transaction that
        # has sent nothing yet it goes without BEGIN and the unit of work's COMMIT sends nothing.
        row = await _ADD.first(
            self.conn,
            events.params()
            | {
                "id": order.id,
                "customer_id": order.customer_id,
                "key": order.idempotency_key,
                "status": saga.status.value,
                "lines": lines_document(order.lines),
                "amount": order.total.amount,
                "currency": order.total.currency,
                "address": dict(order.shipping_address),
                "now": order.created_at,
                "state": to_document(saga),
                "deadline": saga.deadline,
                "step": awaited_step(saga),
                "cart_id": order.cart_id,
            },
            solo=True,
        )
        return row is not None

    async def by_key(self, customer_id: uuid.UUID, idempotency_key: str) -> Order | None:
        """The order placed under the key, with the payment method its saga was started with (what
        tells a retry from a reused key, `Order.answers`)."""
        row = (await self.conn.execute(_BY_KEY, {"customer_id": customer_id, "key": idempotency_key})).first()
        return replace(to_order(row), payment_method=row.payment_method) if row is not None else None

    async def lock_saga(self, order_id: uuid.UUID) -> LockedSaga | None:
        row = await locks.LOCK_SAGA.first(self.conn, {"id": order_id})
        return self._remember(row) if row is not None else None

    async def claim_due(self, now: datetime, limit: int) -> list[LockedSaga]:
        rows = await locks.CLAIM_DUE.fetch(self.conn, {"now": now, "limit": limit})
        return [self._remember(row) for row in rows]

    async def save_saga(
        self,
        before: SagaState,
        after: SagaState,
        now: datetime,
        *,
        events: EmbeddedEvents | None = None,
        actor: str | None = None,
        note: str | None = None,
    ) -> None:
        params: dict[str, Any] = {
            "id": after.order_id,
            "status": after.status.value,
            "state": to_document(after),
            "deadline": after.deadline,
            "now": now,
            "refunded": after.refunded,
            "tracking": after.tracking_number,
            "step": awaited_step(after),
        }
        self._step_moved(before, after, now, params["step"])
        if after.status is not before.status:
            kind = "move"
            params.update(reason=after.reason.value if after.reason else None, actor=actor, note=note)
        elif (after.refunded, after.tracking_number) != (before.refunded, before.tracking_number):
            kind = "touch"
        else:
            kind = "saga"
        if events is not None and events.rows:
            params.update(events.params())
        await _SAVES[kind, "outbox_ids" in params].execute(self.conn, params)

    def _step_moved(self, before: SagaState, after: SagaState, now: datetime, step: str | None) -> None:
        ended = awaited_step(before)
        started = self._step_started.get(after.order_id)
        if ended is None or step == ended:
            return
        self._step_started[after.order_id] = now if step is not None else None
        if started is not None:
            outcome = "failed" if after.reason is not None and before.reason is None else "ok"
            self.finished_steps.append((ended, outcome, max(0.0, (now - started).total_seconds())))
