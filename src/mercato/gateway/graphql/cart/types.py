"""GraphQL shapes of the cart: the priced cart, its line inputs, and one payload and error type per
mutation (the codes are the cart domain's enums, exposed as they are)."""

from __future__ import annotations

import strawberry

from mercato.cart.domain.errors import (
    CartCreateErrorCode,
    CartLinesAddErrorCode,
    CartLinesRemoveErrorCode,
    CartLinesUpdateErrorCode,
)
from mercato.cart.domain.pricing import CartLineView, CartView
from mercato.gateway.graphql.core.types import Money
from mercato.platform.types import Money as MoneyValue

# The domain's enums become GraphQL enums as they are: one source of truth for the codes.
for _codes in (
    CartCreateErrorCode,
    CartLinesAddErrorCode,
    CartLinesUpdateErrorCode,
    CartLinesRemoveErrorCode,
):
    strawberry.enum(_codes)


def _money(value: MoneyValue | None) -> Money | None:
    return Money.of(value.amount, value.currency) if value is not None else None


@strawberry.type(description="One SKU in a cart, priced from the catalog when the cart is read.")
class CartLine:
    sku: str
    quantity: int
    unit_price: Money | None = strawberry.field(
        description="Current price of one unit; null when the product is no longer for sale."
    )
    total: Money | None
    product_name: str | None
    available: bool = strawberry.field(
        description="False when the line cannot be bought now (product gone, unpublished, or priced in "
        "another currency); such a line counts in no total."
    )

    @classmethod
    def of(cls, line: CartLineView) -> CartLine:
        return cls(
            sku=line.sku,
            quantity=line.quantity,
            unit_price=_money(line.unit_price),
            total=_money(line.total),
            product_name=line.product_name,
            available=line.available,
        )


@strawberry.type(description="A shopper's cart. Its id is the only key to an anonymous cart: keep it secret.")
class Cart:
    id: strawberry.ID
    lines: list[CartLine]
    total: Money = strawberry.field(description="Sum of the available lines at current prices.")
    item_count: int = strawberry.field(description="Units in the cart, over every line.")

    @classmethod
    def of(cls, view: CartView) -> Cart:
        return cls(
            id=strawberry.ID(str(view.id)),
            lines=[CartLine.of(line) for line in view.lines],
            total=Money.of(view.total.amount, view.total.currency),
            item_count=view.item_count,
        )


@strawberry.input
class CartLineInput:
    sku: str
    quantity: int


@strawberry.type
class CartCreateError:
    field: str | None
    code: CartCreateErrorCode
    message: str


@strawberry.type
class CartLinesAddError:
    field: str | None
    code: CartLinesAddErrorCode
    message: str


@strawberry.type
class CartLinesUpdateError:
    field: str | None
    code: CartLinesUpdateErrorCode
    message: str


@strawberry.type
class CartLinesRemoveError:
    field: str | None
    code: CartLinesRemoveErrorCode
    message: str


@strawberry.type
class CartCreatePayload:
    cart: Cart | None = None
    errors: list[CartCreateError] = strawberry.field(default_factory=list)


@strawberry.type
class CartLinesAddPayload:
    cart: Cart | None = None
    errors: list[CartLinesAddError] = strawberry.field(default_factory=list)


@strawberry.type
class CartLinesUpdatePayload:
    cart: Cart | None = None
    errors: list[CartLinesUpdateError] = strawberry.field(default_factory=list)


@strawberry.type
class CartLinesRemovePayload:
    cart: Cart | None = None
    errors: list[CartLinesRemoveError] = strawberry.field(default_factory=list)
