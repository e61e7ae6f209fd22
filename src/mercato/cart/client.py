"""How the gateway and other contexts (the order saga) call the cart: the `CartClient` Protocol and
its in-process implementation. Errors arrive as `platform.errors` classes carrying the codes of
`domain.errors` (e.g. `NotFound` with `CartLinesAddErrorCode.CART_NOT_FOUND`).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Protocol

from mercato.cart.domain.commands import (
    AddCartLines,
    ClearCart,
    CreateCart,
    MergeCartOnLogin,
    RemoveCartLines,
    UpdateCartLines,
)
from mercato.cart.domain.model import Cart
from mercato.cart.domain.pricing import CartSnapshot, CartView
from mercato.platform.auth import Principal

if TYPE_CHECKING:
    from mercato.cart.bootstrap import CartService


class CartClient(Protocol):
    # Mutations take their command (`domain.commands`); the reads take plain arguments.
    async def create(self, cmd: CreateCart) -> Cart: ...

    async def get(self, cart_id: uuid.UUID, principal: Principal | None) -> CartView: ...

    async def add_lines(self, cmd: AddCartLines) -> CartView: ...

    async def update_lines(self, cmd: UpdateCartLines) -> CartView: ...

    async def remove_lines(self, cmd: RemoveCartLines) -> CartView: ...

    async def merge_on_login(self, cmd: MergeCartOnLogin) -> Cart: ...

    async def checkout_snapshot(self, cart_id: uuid.UUID, principal: Principal | None) -> CartSnapshot: ...

    async def clear(self, cmd: ClearCart) -> None: ...


class InProcessCartClient:
    """`CartClient` calling a `CartService` in the same process."""

    def __init__(self, service: CartService) -> None:
        self.service = service

    async def create(self, cmd: CreateCart) -> Cart:
        return await self.service.handle(cmd)

    async def get(self, cart_id: uuid.UUID, principal: Principal | None) -> CartView:
        return await self.service.get(cart_id, principal)

    async def add_lines(self, cmd: AddCartLines) -> CartView:
        return await self.service.handle(cmd)

    async def update_lines(self, cmd: UpdateCartLines) -> CartView:
        return await self.service.handle(cmd)

    async def remove_lines(self, cmd: RemoveCartLines) -> CartView:
        return await self.service.handle(cmd)

    async def merge_on_login(self, cmd: MergeCartOnLogin) -> Cart:
        return await self.service.handle(cmd)

    async def checkout_snapshot(self, cart_id: uuid.UUID, principal: Principal | None) -> CartSnapshot:
        return await self.service.checkout_snapshot(cart_id, principal)

    async def clear(self, cmd: ClearCart) -> None:
        await self.service.handle(cmd)
