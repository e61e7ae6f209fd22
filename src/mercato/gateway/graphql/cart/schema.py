"""Cart operations of the storefront: the `cart` query and the `cartCreate` / `cartLines*` mutations.

The caller is `info.context.principal` (None when anonymous): a customer's cart answers only to
them, an anonymous cart to whoever holds its id. A cart the caller may not reach looks exactly like
one that does not exist (`null`, or `CART_NOT_FOUND`).
"""

from __future__ import annotations

from collections.abc import Sequence

import strawberry

from mercato.cart import AddCartLines, CreateCart, RemoveCartLines, UpdateCartLines
from mercato.cart.client import CartClient
from mercato.cart.domain.errors import (
    CartCreateErrorCode,
    CartLinesAddErrorCode,
    CartLinesRemoveErrorCode,
    CartLinesUpdateErrorCode,
)
from mercato.gateway.graphql.cart.types import (
    Cart,
    CartCreateError,
    CartCreatePayload,
    CartLineInput,
    CartLinesAddError,
    CartLinesAddPayload,
    CartLinesRemoveError,
    CartLinesRemovePayload,
    CartLinesUpdateError,
    CartLinesUpdatePayload,
)
from mercato.gateway.graphql.core.auth import request_client_ip
from mercato.gateway.graphql.core.errors import payload_errors
from mercato.gateway.graphql.core.ids import parse_id
from mercato.platform.auth import Principal
from mercato.platform.errors import ClientError, recode

__all__ = ["CartMutations", "CartQueries"]


def _caller(info: strawberry.Info) -> tuple[CartClient, Principal | None]:
    return info.context.clients.cart, info.context.principal


def _lines(lines: Sequence[CartLineInput]) -> list[tuple[str, int]]:
    return [(line.sku, line.quantity) for line in lines]


@strawberry.type
class CartQueries:
    @strawberry.field(description="A cart you may reach (yours, or an anonymous one by its id); else null.")
    async def cart(self, info: strawberry.Info, id: strawberry.ID) -> Cart | None:
        client, principal = _caller(info)
        try:
            # A malformed id names no cart either: null, like any cart out of reach.
            view = await client.get(parse_id(id, "id"), principal)
        except ClientError:
            return None
        return Cart.of(view)


@strawberry.type
class CartMutations:
    @strawberry.mutation(description="A new cart; a signed-in customer who has one gets it back.")
    async def cart_create(self, info: strawberry.Info) -> CartCreatePayload:
        client, principal = _caller(info)
        try:
            limits = getattr(info.context, "rate_limits", None)
            if limits is not None:
                await limits.cart_create(principal, request_client_ip(info.context))
            cart = await client.create(CreateCart(principal))
            # Priced like any read: a customer's existing cart may already hold lines.
            view = await client.get(cart.id, principal)
        except ClientError as exc:
            return CartCreatePayload(errors=payload_errors(recode(exc, CartCreateErrorCode), CartCreateError))
        return CartCreatePayload(cart=Cart.of(view))

    @strawberry.mutation(description="Add units of SKUs; a SKU already in the cart gets its quantity raised.")
    async def cart_lines_add(
        self, info: strawberry.Info, cart_id: strawberry.ID, lines: list[CartLineInput]
    ) -> CartLinesAddPayload:
        client, principal = _caller(info)
        try:
            view = await client.add_lines(AddCartLines(parse_id(cart_id, "cartId"), principal, _lines(lines)))
        except ClientError as exc:
            return CartLinesAddPayload(
                errors=payload_errors(recode(exc, CartLinesAddErrorCode), CartLinesAddError)
            )
        return CartLinesAddPayload(cart=Cart.of(view))

    @strawberry.mutation(description="Set the quantity of lines already in the cart.")
    async def cart_lines_update(
        self, info: strawberry.Info, cart_id: strawberry.ID, lines: list[CartLineInput]
    ) -> CartLinesUpdatePayload:
        client, principal = _caller(info)
        try:
            view = await client.update_lines(
                UpdateCartLines(parse_id(cart_id, "cartId"), principal, _lines(lines))
            )
        except ClientError as exc:
            return CartLinesUpdatePayload(
                errors=payload_errors(recode(exc, CartLinesUpdateErrorCode), CartLinesUpdateError)
            )
        return CartLinesUpdatePayload(cart=Cart.of(view))

    @strawberry.mutation(description="Drop lines by SKU; SKUs not in the cart are ignored.")
    async def cart_lines_remove(
        self, info: strawberry.Info, cart_id: strawberry.ID, skus: list[str]
    ) -> CartLinesRemovePayload:
        client, principal = _caller(info)
        try:
            view = await client.remove_lines(RemoveCartLines(parse_id(cart_id, "cartId"), principal, skus))
        except ClientError as exc:
            return CartLinesRemovePayload(
                errors=payload_errors(recode(exc, CartLinesRemoveErrorCode), CartLinesRemoveError)
            )
        return CartLinesRemovePayload(cart=Cart.of(view))
