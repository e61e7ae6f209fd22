"""The orders' store on one connection: Core statements, each visible and countable.

A new order costs one statement (the order, its saga and its first history entry in one CTE);
a saga step costs one too (the saga, and when the status moves the order and its history).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

from mercato.orders.adapters import locks
from mercato.orders.domain.model import Order, OrderLine, OrderOwner, OrderStatus, RejectReason
from mercato.orders.domain.saga_codec import from_document, to_document
from mercato.orders.domain.saga_types import SagaState
from mercato.platform.types import Money

_ADD = text(
    "WITH o AS ("
    " INSERT INTO orders.orders (id, customer_id, idempotency_key, status, reason, lines, total_amount,"
    " currency, shipping_address, created_at, updated_at, cart_id)"
    " VALUES (:id, :customer_id, :key, :status, NULL, :lines, :amount, :currency, :address, :now, :now,"
    " :cart_id)"
    " ON CONFLICT DO NOTHING RETURNING id),"
    " s AS (INSERT INTO orders.sagas (order_id, status, state, deadline, updated_at)"
    " SELECT id, :status, :state, CAST(:deadline AS timestamptz), :now FROM o),"
    " h AS (INSERT INTO orders.status_history (order_id, status, reason, at)"
    " SELECT id, :status, NULL, :now FROM o)"
    " SELECT id FROM o"
).bindparams(
    bindparam("lines", type_=JSONB), bindparam("address", type_=JSONB), bindparam("state", type_=JSONB)
)

_BY_KEY = text(
    "SELECT id, customer_id, idempotency_key, status, reason, lines, total_amount, currency, "
    "shipping_address, created_at, cart_id FROM orders.orders "
    "WHERE customer_id = :customer_id AND idempotency_key = :key"
)

_SAVE = text(
    "UPDATE orders.sagas SET status = :status, state = :state, deadline = :deadline, "
    "version = version + 1, updated_at = :now WHERE order_id = :id"
).bindparams(bindparam("state", type_=JSONB))

_SAVE_AND_MOVE = text(
    "WITH s AS (UPDATE orders.sagas SET status = :status, state = :state, deadline = :deadline, "
    " version = version + 1, updated_at = :now WHERE order_id = :id),"
    " h AS (INSERT INTO orders.status_history (order_id, status, reason, actor, note, at)"
    " VALUES (:id, :status, :reason, :actor, :note, :now))"
    " UPDATE orders.orders SET status = :status, reason = :reason, refunded_amount = :refunded,"
    " tracking_number = :tracking, updated_at = :now WHERE id = :id"
    " RETURNING customer_id, cart_id"
).bindparams(bindparam("state", type_=JSONB))

# The order's refunded total moved (a second partial refund) while its status did not.
_SAVE_AND_TOUCH = text(
    "WITH s AS (UPDATE orders.sagas SET status = :status, state = :state, deadline = :deadline, "
    " version = version + 1, updated_at = :now WHERE order_id = :id)"
    " UPDATE orders.orders SET refunded_amount = :refunded, tracking_number = :tracking,"
    " updated_at = :now WHERE id = :id RETURNING customer_id, cart_id"
).bindparams(bindparam("state", type_=JSONB))


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

    async def add(self, order: Order, saga: SagaState) -> bool:
        row = (
            await self.conn.execute(
                _ADD,
                {
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
                    "cart_id": order.cart_id,
                },
            )
        ).first()
        return row is not None

    async def by_key(self, customer_id: uuid.UUID, idempotency_key: str) -> Order | None:
        row = (await self.conn.execute(_BY_KEY, {"customer_id": customer_id, "key": idempotency_key})).first()
        return to_order(row) if row is not None else None

    async def lock_saga(self, order_id: uuid.UUID) -> SagaState | None:
        row = (await self.conn.execute(locks.LOCK_SAGA, {"id": order_id})).first()
        return from_document(row.state) if row is not None else None

    async def claim_due(self, now: datetime, limit: int) -> list[SagaState]:
        rows = (await self.conn.execute(locks.CLAIM_DUE, {"now": now, "limit": limit})).all()
        return [from_document(row.state) for row in rows]

    async def lock_order(self, order_id: uuid.UUID) -> tuple[SagaState, uuid.UUID] | None:
        row = (await self.conn.execute(locks.LOCK_ORDER, {"id": order_id})).first()
        return (from_document(row.state), row.customer_id) if row is not None else None

    async def save_saga(
        self,
        before: SagaState,
        after: SagaState,
        now: datetime,
        *,
        actor: str | None = None,
        note: str | None = None,
    ) -> OrderOwner | None:
        """Store the step; who owns the order when its status or refunded total moved (the
        lifecycle events name them), None when only the saga changed."""
        params: dict[str, Any] = {
            "id": after.order_id,
            "status": after.status.value,
            "state": to_document(after),
            "deadline": after.deadline,
            "now": now,
            "refunded": after.refunded,
            "tracking": after.tracking_number,
        }
        if after.status is before.status:
            if (after.refunded, after.tracking_number) == (before.refunded, before.tracking_number):
                await self.conn.execute(_SAVE, params)
                return None
            statement = _SAVE_AND_TOUCH
        else:
            statement = _SAVE_AND_MOVE
            params.update(reason=after.reason.value if after.reason else None, actor=actor, note=note)
        row = (await self.conn.execute(statement, params)).first()
        return OrderOwner(row.customer_id, row.cart_id) if row is not None else None
