"""The order aggregate: what a customer bought, for how much, where it goes, and how far it got.

Pure Python, no I/O; ids and the current time are passed in, never made here.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from mercato.orders.domain.commands import PlaceOrder
from mercato.orders.domain.errors import PlaceOrderErrorCode
from mercato.platform.errors import Problem
from mercato.platform.postal import PostalAddress
from mercato.platform.types import Money, MoneyError
from mercato.platform.validation import Checks

# Same shape as the catalog's and the inventory's SKUs.
SKU_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
SKU_MAX = 64
LINES_MAX = 200  # the inventory reserves at most 200 lines at once
QUANTITY_MAX = 10_000
TEXT_MAX = 200  # idempotency key
# A payment method is payments' sealed reference: at most 1,117 characters for the longest token
# payments accepts (200 characters); the margin is for a future version of its format.
PAYMENT_METHOD_MAX = 1_200
_ORDER_IDS = uuid.UUID("6f1d3c5e-2b8a-4e0f-9a7d-1c2b3d4e5f60")  # namespace of derived order ids


class OrderStatus(StrEnum):
    """Where the order stands. The checkout ends CONFIRMED or REJECTED; after the purchase a
    confirmed order may be cancelled (CANCELLING while its stock and money go back), fulfilled
    (shipped) or refunded. Every status but PENDING…PAYMENT_CAPTURED, COMPENSATING and CANCELLING
    is settled: nothing is in flight that would move it on its own."""

    PENDING = "PENDING"  # waiting for the stock reservation
    STOCK_RESERVED = "STOCK_RESERVED"  # waiting for the payment authorization
    PAYMENT_AUTHORIZED = "PAYMENT_AUTHORIZED"  # waiting for the capture
    PAYMENT_CAPTURED = "PAYMENT_CAPTURED"  # waiting for the stock commit
    COMPENSATING = "COMPENSATING"  # a step failed; undoing the steps that succeeded
    CONFIRMED = "CONFIRMED"
    REJECTED = "REJECTED"
    CANCELLING = "CANCELLING"  # cancelled; the stock and money still going back
    CANCELLED = "CANCELLED"
    FULFILLED = "FULFILLED"  # shipped, with a tracking number
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"
    REFUNDED = "REFUNDED"

    @property
    def is_terminal(self) -> bool:
        return self in _SETTLED

    @property
    def is_after_purchase(self) -> bool:
        """Paid and delivered to the customer's account: fulfilment and refunds apply."""
        return self in _AFTER_PURCHASE


_AFTER_PURCHASE = frozenset(
    {OrderStatus.CONFIRMED, OrderStatus.FULFILLED, OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED}
)
_SETTLED = _AFTER_PURCHASE | {OrderStatus.REJECTED, OrderStatus.CANCELLED}


class RejectReason(StrEnum):
    OUT_OF_STOCK = "OUT_OF_STOCK"
    PAYMENT_DECLINED = "PAYMENT_DECLINED"
    INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"
    PAYMENT_ERROR = "PAYMENT_ERROR"
    TIMEOUT = "TIMEOUT"


@dataclass(frozen=True)
class OrderLine:
    sku: str
    quantity: int
    unit_price: Money

    @property
    def subtotal(self) -> Money:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class Order:
    id: uuid.UUID
    customer_id: uuid.UUID
    status: OrderStatus
    reason: RejectReason | None
    lines: tuple[OrderLine, ...]
    total: Money
    shipping_address: Mapping[str, Any]
    idempotency_key: str
    created_at: datetime
    cart_id: uuid.UUID | None = None  # the cart it was checked out from (None: placed by other means)
    # The payment method the saga was started with, where the store read it (retries, `answers`).
    payment_method: str | None = None

    @classmethod
    def place(cls, cmd: PlaceOrder, *, now: datetime) -> Order:
        """A new PENDING order, once every input is valid (all problems are reported at once)."""
        address = check_order(cmd)
        return cls(
            id=order_id_for_command(cmd),
            customer_id=cmd.customer_id,
            status=OrderStatus.PENDING,
            reason=None,
            lines=tuple(OrderLine(sku, quantity, price) for sku, quantity, price in cmd.lines),
            total=cmd.total,
            shipping_address=address.to_document(),
            idempotency_key=cmd.idempotency_key,
            created_at=now,
            cart_id=cmd.cart_id,
            payment_method=cmd.payment_method,
        )

    def answers(self, cmd: PlaceOrder) -> bool:
        """Whether `cmd`, carrying this order's idempotency key, asks for this very order (a retry):
        the same cart, payment method and address, and a cart holding nothing this order did not buy.

        The cart is read again at every attempt, and confirmations take lines out of it meanwhile:
        this order's own (the cart is empty by then) or an earlier order's that held some of the
        same lines (a shopper who checked out again while that one was still PENDING). So a retry's
        lines may be fewer than the order's, never more: a line or a unit the order did not buy means
        the cart holds another purchase, and the key is refused for it rather than answered with
        this order."""
        if cmd.cart_id != self.cart_id or (cmd.order_id is not None and cmd.order_id != self.id):
            return False
        if not cmd.lines:
            return True
        if self.payment_method is not None and cmd.payment_method != self.payment_method:
            return False  # payments answers the same reference for the same shopper and token
        address = cmd.shipping_address.check(Checks()).to_document()
        if address != dict(self.shipping_address):
            return False
        bought: dict[str, int] = {}
        for line in self.lines:
            bought[line.sku] = bought.get(line.sku, 0) + line.quantity
        held: dict[str, int] = {}
        for sku, quantity, _ in cmd.lines:
            held[sku] = held.get(sku, 0) + quantity
        return all(quantity <= bought.get(sku, 0) for sku, quantity in held.items())


@dataclass(frozen=True)
class OrderOwner:
    """Whose order it is: the customer, and the cart it was checked out from (if any)."""

    customer_id: uuid.UUID
    cart_id: uuid.UUID | None


def order_id_for(customer_id: uuid.UUID, idempotency_key: str) -> uuid.UUID:
    """The id of the order a customer places under `idempotency_key`: the same key always names the
    same order, so a retry finds it by primary key whatever happened to the cart meanwhile."""
    return uuid.uuid5(_ORDER_IDS, f"{customer_id}:{idempotency_key}")


def order_id_for_command(cmd: PlaceOrder) -> uuid.UUID:
    """The id `cmd` places (or finds) its order under: the caller's choice, else the derived one."""
    return cmd.order_id or order_id_for(cmd.customer_id, cmd.idempotency_key)


def _is_whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_lines(checks: Checks, lines: Sequence[tuple[str, int, Money]], total: Money) -> None:
    if not lines:
        checks.add("lines", Problem.REQUIRED, "an order needs at least one line")
        return
    if len(lines) > LINES_MAX:
        checks.add("lines", Problem.TOO_LONG, f"an order holds at most {LINES_MAX} lines")
        return
    sum_ok = True
    for i, (sku, quantity, price) in enumerate(lines):
        checks.pattern(f"lines.{i}.sku", sku, SKU_RE, "letters, digits, '.', '_', '-' or '/'", SKU_MAX)
        if not _is_whole(quantity):
            checks.add(f"lines.{i}.quantity", Problem.INVALID, "quantity must be a whole number")
            sum_ok = False
        elif not 1 <= quantity <= QUANTITY_MAX:
            checks.add(f"lines.{i}.quantity", Problem.OUT_OF_RANGE, f"quantity must be 1 to {QUANTITY_MAX}")
            sum_ok = False
        if price.currency != total.currency:
            checks.add(
                f"lines.{i}.unitPrice", PlaceOrderErrorCode.CURRENCY_MISMATCH, "one currency per order"
            )
            sum_ok = False
        elif price.is_negative:
            checks.add(f"lines.{i}.unitPrice", Problem.OUT_OF_RANGE, "a price cannot be negative")
            sum_ok = False
    if not sum_ok:
        return
    try:
        computed = sum((price * quantity for _, quantity, price in lines), Money(0, total.currency))
    except MoneyError:
        checks.add("total", Problem.OUT_OF_RANGE, "the order total is out of range")
        return
    # The total is what the customer agreed to pay; it must be the sum the lines imply, so that a
    # stale cart price can never be charged without the customer having seen it.
    checks.that(
        computed == total, "total", PlaceOrderErrorCode.TOTAL_MISMATCH, "total is not the sum of lines"
    )


def check_order(cmd: PlaceOrder) -> PostalAddress:
    """Input checks of `PlaceOrder`, raised with `PlaceOrderErrorCode`s; the normalized address."""
    checks = Checks()
    _check_lines(checks, cmd.lines, cmd.total)
    checks.that(cmd.total.amount > 0, "total", Problem.OUT_OF_RANGE, "the total must be positive")
    check_request(checks, cmd)
    address = cmd.shipping_address.check(checks, "shippingAddress.")
    checks.raise_as(PlaceOrderErrorCode)
    return address


def check_request(checks: Checks, cmd: PlaceOrder) -> None:
    """The checks of what the customer sends besides the cart (key and payment token)."""
    checks.text("paymentToken", cmd.payment_method, max_length=PAYMENT_METHOD_MAX)
    checks.text("idempotencyKey", cmd.idempotency_key, max_length=TEXT_MAX)
