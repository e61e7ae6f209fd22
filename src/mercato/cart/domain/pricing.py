"""Pricing a cart from what the catalog says right now. Pure: the catalog answers are passed in.

A cart stores SKUs and quantities only, never prices: every read prices it afresh, so a price
change, an unpublished product or a deleted variant shows on the next read without any event.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import TypeVar

from mercato.cart.domain.errors import CartProblem
from mercato.cart.domain.model import Cart
from mercato.platform.errors import Conflict, FieldError, InputRejected
from mercato.platform.types import Money

T = TypeVar("T")


class LineIssue(Enum):
    """Why a line cannot be bought now; such a line stays in the cart but counts in no total."""

    UNKNOWN_SKU = "UNKNOWN_SKU"  # the variant was deleted
    NOT_PURCHASABLE = "NOT_PURCHASABLE"  # its product is not published
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"  # priced in another currency than the rest of the cart


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """What the cart needs to know about one SKU, read from the catalog when the cart is read."""

    sku: str
    variant_id: uuid.UUID
    product_id: uuid.UUID
    unit_price: Money
    published: bool
    product_name: str | None  # known only for published products: the catalog shows no other


@dataclass(frozen=True, slots=True)
class CartLineView:
    sku: str
    quantity: int
    unit_price: Money | None  # None when the SKU is gone or its product unpublished
    total: Money | None
    variant_id: uuid.UUID | None
    product_id: uuid.UUID | None
    product_name: str | None
    issue: LineIssue | None

    @property
    def available(self) -> bool:
        return self.issue is None


@dataclass(frozen=True, slots=True)
class CartView:
    id: uuid.UUID
    owner_id: uuid.UUID | None
    lines: tuple[CartLineView, ...]
    total: Money  # of the available lines
    item_count: int  # every unit in the cart, available or not (what a cart badge shows)
    created_at: datetime
    updated_at: datetime

    @property
    def currency(self) -> str:
        return self.total.currency


@dataclass(frozen=True, slots=True)
class SnapshotLine:
    sku: str
    variant_id: uuid.UUID
    product_id: uuid.UUID
    product_name: str
    quantity: int
    unit_price: Money
    total: Money


@dataclass(frozen=True, slots=True)
class CartSnapshot:
    """A priced, fully purchasable cart at one instant: what the order saga turns into an order."""

    cart_id: uuid.UUID
    owner_id: uuid.UUID | None
    lines: tuple[SnapshotLine, ...]
    total: Money
    currency: str
    taken_at: datetime


def cart_currency(cart: Cart, entries: Mapping[str, CatalogEntry], default_currency: str) -> str:
    """The currency of the first purchasable line; a shop normally sells in one currency only."""
    for sku in cart.lines:
        entry = entries.get(sku)
        if entry is not None and entry.published:
            return entry.unit_price.currency
    return default_currency


def price(cart: Cart, entries: Mapping[str, CatalogEntry], default_currency: str) -> CartView:
    currency = cart_currency(cart, entries, default_currency)
    total = Money(0, currency)
    lines: list[CartLineView] = []
    for sku, quantity in cart.lines.items():
        line = _line(sku, quantity, entries.get(sku), currency)
        if line.available and line.total is not None:
            total += line.total
        lines.append(line)
    return CartView(
        id=cart.id,
        owner_id=cart.owner_id,
        lines=tuple(lines),
        total=total,
        item_count=cart.item_count,
        created_at=cart.created_at,
        updated_at=cart.updated_at,
    )


def _line(sku: str, quantity: int, entry: CatalogEntry | None, currency: str) -> CartLineView:
    if entry is None:
        return CartLineView(
            sku=sku,
            quantity=quantity,
            unit_price=None,
            total=None,
            variant_id=None,
            product_id=None,
            product_name=None,
            issue=LineIssue.UNKNOWN_SKU,
        )
    published = entry.published
    line_total = entry.unit_price * quantity
    issue = (
        LineIssue.NOT_PURCHASABLE
        if not published
        else LineIssue.CURRENCY_MISMATCH
        if line_total.currency != currency
        else None
    )
    return CartLineView(
        sku=sku,
        quantity=quantity,
        # An unpublished product's price is not shown, as the catalog does not show the product.
        unit_price=entry.unit_price if published else None,
        total=line_total if published else None,
        variant_id=entry.variant_id,
        product_id=entry.product_id,
        product_name=entry.product_name,
        issue=issue,
    )


def snapshot(view: CartView, taken_at: datetime) -> CartSnapshot:
    """The view as an order-to-be, or every reason it cannot be bought (all lines at once)."""
    if not view.lines:
        raise Conflict("the cart is empty", code=CartProblem.CART_EMPTY, field="lines")
    problems = [
        FieldError(f"lines.{i}.sku", CartProblem[line.issue.name], f"{line.sku} cannot be bought now")
        for i, line in enumerate(view.lines)
        if line.issue is not None
    ]
    if problems:
        raise InputRejected(problems)
    lines = tuple(
        SnapshotLine(
            sku=line.sku,
            variant_id=_known(line.variant_id),
            product_id=_known(line.product_id),
            product_name=line.product_name or "",
            quantity=line.quantity,
            unit_price=_known(line.unit_price),
            total=_known(line.total),
        )
        for line in view.lines
    )
    return CartSnapshot(
        cart_id=view.id,
        owner_id=view.owner_id,
        lines=lines,
        total=view.total,
        currency=view.currency,
        taken_at=taken_at,
    )


def _known(value: T | None) -> T:
    # An available line always has these; a None here is a bug in `price`, not bad input.
    if value is None:
        raise AssertionError("available cart line without catalog data")
    return value
