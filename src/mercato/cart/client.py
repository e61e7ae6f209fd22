"""How the gateway and other contexts (the order saga) call the cart: the `CartClient` Protocol and
its in-process implementation. Errors arrive as `platform.errors` classes carrying the codes of
`domain.errors` (e.g. `NotFound` with `CartLinesAddErrorCode.CART_NOT_FOUND`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from mercato.cart.domain.model import Cart
from mercato.cart.domain.pricing import CartSnapshot, CartView
from mercato.platform.auth import Principal

if TYPE_CHECKING:
    from mercato.cart.bootstrap import CartService


class CartClient(Protocol):
    async def create(self, owner: Principal | None) -> Cart: ...

    async def get(self, cart_id: uuid.UUID, principal: Principal | None) -> CartView: ...

    async def add_lines(
        self, cart_id: uuid.UUID, principal: Principal | None, lines: Sequence[tuple[str, int]]
    ) -> CartView: ...

    async def update_lines(
        self, cart_id: uuid.UUID, principal: Principal | None, lines: Sequence[tuple[str, int]]
    ) -> CartView: ...

    async def remove_lines(
        self, cart_id: uuid.UUID, principal: Principal | None, skus: Sequence[str]
    ) -> CartView: ...

    async def merge_on_login(self, anonymous_cart_id: uuid.UUID, principal: Principal) -> Cart: ...

    async def checkout_snapshot(self, cart_id: uuid.UUID, principal: Principal | None) -> CartSnapshot: ...

    async def clear(self, cart_id: uuid.UUID) -> None: ...


class InProcessCartClient:
    """`CartClient` calling a `CartService` in the same process."""

    def __init__(self, service: CartService) -> None:
        self.service = service

    async def create(self, owner: Principal | None) -> Cart:
        return await self.service.create(owner)

    async def get(self, cart_id: uuid.UUID, principal: Principal | None) -> CartView:
        return await self.service.get(cart_id, principal)

    async def add_lines(
        self, cart_id: uuid.UUID, principal: Principal | None, lines: Sequence[tuple[str, int]]
    ) -> CartView:
        return await self.service.add_lines(cart_id, principal, lines)

    async def update_lines(
        self, cart_id: uuid.UUID, principal: Principal | None, lines: Sequence[tuple[str, int]]
    ) -> CartView:
        return await self.service.update_lines(cart_id, principal, lines)

    async def remove_lines(
        self, cart_id: uuid.UUID, principal: Principal | None, skus: Sequence[str]
    ) -> CartView:
        return await self.service.remove_lines(cart_id, principal, skus)

    async def merge_on_login(self, anonymous_cart_id: uuid.UUID, principal: Principal) -> Cart:
        return await self.service.merge_on_login(anonymous_cart_id, principal)

    async def checkout_snapshot(self, cart_id: uuid.UUID, principal: Principal | None) -> CartSnapshot:
        return await self.service.checkout_snapshot(cart_id, principal)

    async def clear(self, cart_id: uuid.UUID) -> None:
        await self.service.clear(cart_id)
