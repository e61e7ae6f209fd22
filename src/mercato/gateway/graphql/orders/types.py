"""Order types of the GraphQL API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import cast

import strawberry
from strawberry.scalars import JSON

from mercato.gateway.graphql.core.types import Money
from mercato.orders.domain.model import OrderStatus, RejectReason
from mercato.orders.service_layer.queries import OrderView
from mercato.platform.errors import ClientError

strawberry.enum(OrderStatus)
strawberry.enum(RejectReason)


@strawberry.type
class OrderLine:
    sku: str
    quantity: int
    unit_price: Money


@strawberry.type
class OrderStatusChange:
    status: OrderStatus
    reason: RejectReason | None
    at: datetime
    actor: str | None = strawberry.field(description="Who made the change by hand; null: the system.")
    note: str | None = strawberry.field(description="Why, when they said.")


@strawberry.type
class Order:
    id: strawberry.ID
    status: OrderStatus
    reason: RejectReason | None = strawberry.field(description="Why the order was rejected, when it was.")
    total: Money
    lines: list[OrderLine]
    shipping_address: JSON
    created_at: datetime
    history: list[OrderStatusChange] = strawberry.field(description="Every status the order went through.")
    refunded: Money | None = strawberry.field(description="What was refunded so far; null: nothing.")
    tracking_number: str | None = strawberry.field(description="The shipment's, once fulfilled.")

    @classmethod
    def of(cls, view: OrderView) -> Order:
        return cls(
            id=strawberry.ID(str(view.id)),
            status=view.status,
            reason=view.reason,
            total=Money.of(view.total.amount, view.total.currency),
            lines=[
                OrderLine(
                    sku=line.sku,
                    quantity=line.quantity,
                    unit_price=Money.of(line.unit_price.amount, line.unit_price.currency),
                )
                for line in view.lines
            ],
            shipping_address=cast(JSON, dict(view.shipping_address)),
            created_at=view.created_at,
            history=[
                OrderStatusChange(status=h.status, reason=h.reason, at=h.at, actor=h.actor, note=h.note)
                for h in view.history
            ],
            refunded=Money.of(view.refunded.amount, view.refunded.currency) if view.refunded else None,
            tracking_number=view.tracking_number,
        )


@strawberry.type
class OrderConnection:
    nodes: list[Order]
    end_cursor: str | None
    has_next_page: bool


async def customer_orders(
    info: strawberry.Info, customer_id: uuid.UUID, first: int, after: str | None
) -> OrderConnection:
    """One page of a customer's orders, newest first."""
    if not 1 <= first <= 100:
        raise ClientError("first must be 1-100", field="first")
    page = await info.context.clients.orders.orders_for_customer(customer_id, first=first, after=after)
    return OrderConnection(
        nodes=[Order.of(o) for o in page.items], end_cursor=page.end_cursor, has_next_page=page.has_next_page
    )
