"""Read side: plain SELECTs, no unit of work, no locks. Each function runs exactly one statement,
whatever the number of orders or history entries it returns (the history comes as a JSON array
from a correlated subquery)."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from asyncpg import Record

from mercato.orders.domain.errors import OrderQueryErrorCode
from mercato.orders.domain.model import OrderStatus, RejectReason
from mercato.platform.db import Database
from mercato.platform.errors import FieldError, InputRejected
from mercato.platform.sql import Sql
from mercato.platform.types import Money

PAGE_MAX = 100


@dataclass(frozen=True)
class OrderLineView:
    sku: str
    quantity: int
    unit_price: Money


@dataclass(frozen=True)
class StatusChange:
    status: OrderStatus
    reason: RejectReason | None
    at: datetime
    actor: str | None = None  # who moved it by hand (a user id); None: the saga
    note: str | None = None


@dataclass(frozen=True)
class OrderView:
    id: uuid.UUID
    customer_id: uuid.UUID
    status: OrderStatus
    reason: RejectReason | None
    lines: tuple[OrderLineView, ...]
    total: Money
    shipping_address: Mapping[str, Any]
    created_at: datetime
    history: tuple[StatusChange, ...]  # oldest first
    refunded: Money | None = None  # None: nothing refunded
    tracking_number: str | None = None

    @property
    def is_terminal(self) -> bool:
        return self.status.is_terminal


@dataclass(frozen=True)
class OrderPage:
    items: tuple[OrderView, ...]
    end_cursor: str | None
    has_next_page: bool


_COLUMNS = (
    "SELECT o.id, o.customer_id, o.status, o.reason, o.lines, o.total_amount, o.currency, "
    "o.shipping_address, o.created_at, o.refunded_amount, o.tracking_number, "
    "(SELECT coalesce(json_agg(json_build_object('status', h.status, 'reason', h.reason, 'at', h.at, "
    "'actor', h.actor, 'note', h.note) "
    "ORDER BY h.seq), CAST('[]' AS json)) FROM orders.status_history h WHERE h.order_id = o.id) AS history "
    "FROM orders.orders o "
)
# Straight to asyncpg (`platform.sql`), each a statement on its own: no BEGIN/ROLLBACK around a read.
_ORDER = Sql(_COLUMNS + "WHERE o.id = :id")
# Newest first; the row-value comparison uses the (customer_id, created_at DESC, id DESC) index.
_FIRST_PAGE = Sql(_COLUMNS + "WHERE o.customer_id = :customer ORDER BY o.created_at DESC, o.id DESC LIMIT :n")
_NEXT_PAGE = Sql(
    _COLUMNS + "WHERE o.customer_id = :customer AND (o.created_at, o.id) < (:at, :after_id) "
    "ORDER BY o.created_at DESC, o.id DESC LIMIT :n"
)
_STATUS = Sql("SELECT status FROM orders.orders WHERE id = :id")


def _to_view(row: Record) -> OrderView:
    currency = row["currency"]
    return OrderView(
        id=row["id"],
        customer_id=row["customer_id"],
        status=OrderStatus(row["status"]),
        reason=RejectReason(row["reason"]) if row["reason"] else None,
        lines=tuple(
            OrderLineView(str(x["sku"]), int(x["quantity"]), Money(int(x["unit_price"]), currency))
            for x in row["lines"]
        ),
        total=Money(int(row["total_amount"]), currency),
        shipping_address=row["shipping_address"],
        created_at=row["created_at"],
        history=tuple(
            StatusChange(
                OrderStatus(h["status"]),
                RejectReason(h["reason"]) if h["reason"] else None,
                datetime.fromisoformat(h["at"]),
                h.get("actor"),
                h.get("note"),
            )
            for h in row["history"]
        ),
        refunded=Money(int(row["refunded_amount"]), currency) if row["refunded_amount"] else None,
        tracking_number=row["tracking_number"],
    )


def encode_cursor(order: OrderView) -> str:
    raw = orjson.dumps([1, order.created_at.isoformat(), str(order.id)])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str) -> tuple[datetime, uuid.UUID]:
    invalid = InputRejected(
        [FieldError("after", OrderQueryErrorCode.INVALID_CURSOR, "the cursor is malformed")]
    )
    if len(token) > 200:
        raise invalid
    try:
        version, at, order_id = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        created_at = datetime.fromisoformat(at)
        if version != 1 or created_at.tzinfo is None:
            raise invalid
        return created_at, uuid.UUID(order_id)
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError):
        raise invalid from None


async def order(db: Database, order_id: uuid.UUID) -> OrderView | None:
    row = await _ORDER.read_first(db, {"id": order_id})
    return _to_view(row) if row is not None else None


async def orders_for_customer(
    db: Database, customer_id: uuid.UUID, first: int = 20, after: str | None = None
) -> OrderPage:
    """One page of a customer's orders, newest first. `after` is the `end_cursor` of the page before."""
    if not 1 <= first <= PAGE_MAX:
        raise InputRejected(
            [FieldError("first", OrderQueryErrorCode.OUT_OF_RANGE, f"first must be 1 to {PAGE_MAX}")]
        )
    params: dict[str, Any] = {"customer": customer_id, "n": first + 1}  # one more: is there a next page?
    statement = _FIRST_PAGE
    if after is not None:
        params["at"], params["after_id"] = decode_cursor(after)
        statement = _NEXT_PAGE
    rows = await statement.read(db, params)
    views = tuple(_to_view(row) for row in rows[:first])
    return OrderPage(
        items=views,
        end_cursor=encode_cursor(views[-1]) if views else None,
        has_next_page=len(rows) > first,
    )


async def status(db: Database, order_id: uuid.UUID) -> OrderStatus | None:
    """The order's status alone: what a caller waiting for the saga polls."""
    row = await _STATUS.read_first(db, {"id": order_id})
    value = row[0] if row is not None else None
    return OrderStatus(value) if value is not None else None


class OrdersQueries:
    """The query functions bound to one database (what `OrdersService.queries` is)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def order(self, order_id: uuid.UUID) -> OrderView | None:
        return await order(self.db, order_id)

    async def orders_for_customer(
        self, customer_id: uuid.UUID, first: int = 20, after: str | None = None
    ) -> OrderPage:
        return await orders_for_customer(self.db, customer_id, first, after)

    async def history(self, order_id: uuid.UUID) -> tuple[StatusChange, ...]:
        view = await order(self.db, order_id)
        return view.history if view is not None else ()

    async def status(self, order_id: uuid.UUID) -> OrderStatus | None:
        return await status(self.db, order_id)
