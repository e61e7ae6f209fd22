"""Business-rule violations of the orders, raised by the use cases with their mutation's codes."""

from __future__ import annotations

from mercato.orders.domain.errors import PlaceOrderErrorCode
from mercato.platform.errors import Conflict, NotFound


class IdempotencyKeyReused(Conflict):
    def __init__(self) -> None:
        super().__init__(
            "this idempotency key was already used for a different order",
            code=PlaceOrderErrorCode.IDEMPOTENCY_KEY_REUSED,
            field="idempotencyKey",
        )


class CartEmpty(Conflict):
    def __init__(self) -> None:
        super().__init__("the cart is empty", code=PlaceOrderErrorCode.CART_EMPTY, field="lines")


class OrderIdTaken(Conflict):
    def __init__(self) -> None:
        super().__init__(
            "another order already has this id", code=PlaceOrderErrorCode.ORDER_ID_TAKEN, field="orderId"
        )


# After the purchase. Raised with string codes: each use case re-codes them into its mutation's enum.


class OrderNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("order not found", code="NOT_FOUND", field="id")


class InvalidOrderState(Conflict):
    def __init__(self, message: str) -> None:
        super().__init__(message, code="INVALID_STATE", field="id")


class AlreadyFulfilled(Conflict):
    def __init__(self) -> None:
        super().__init__(
            "the order was fulfilled with another tracking number",
            code="ALREADY_FULFILLED",
            field="trackingNumber",
        )


class RefundExceedsCaptured(Conflict):
    def __init__(self, refundable: int) -> None:
        self.refundable = refundable
        super().__init__(
            f"at most {refundable} minor units can still be refunded",
            code="AMOUNT_EXCEEDS_CAPTURED",
            field="amount",
        )


class RefundKeyReused(Conflict):
    def __init__(self) -> None:
        super().__init__(
            "this idempotency key was already used for a refund of another amount",
            code="IDEMPOTENCY_KEY_REUSED",
            field="idempotencyKey",
        )
