"""Business-rule violations of the orders, raised by the use cases with their mutation's codes."""

from __future__ import annotations

from mercato.orders.domain.errors import PlaceOrderErrorCode
from mercato.platform.errors import Conflict


class IdempotencyKeyReused(Conflict):
    def __init__(self) -> None:
        super().__init__(
            "this idempotency key was already used for a different order",
            code=PlaceOrderErrorCode.IDEMPOTENCY_KEY_REUSED,
            field="idempotencyKey",
        )


class OrderIdTaken(Conflict):
    def __init__(self) -> None:
        super().__init__(
            "another order already has this id", code=PlaceOrderErrorCode.ORDER_ID_TAKEN, field="orderId"
        )
