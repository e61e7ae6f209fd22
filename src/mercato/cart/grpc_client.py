"""`CartClient` over gRPC: the same Protocol, return types and typed errors as `InProcessCartClient`.

The principal a method is given travels as the signed `x-mercato-principal` metadata (None: no
principal, an anonymous shopper), which is what the servicer acts for; it is also copied into the
request's `principal` field, which the servicer ignores. Retries (see `platform.grpc.client`) only
where repeating is harmless: the reads (`get`, `checkout_snapshot`), `update_lines` and
`remove_lines` (they set state) and `clear`. `create`, `add_lines` (quantities add up) and
`merge_on_login` (it deletes the anonymous cart) run once.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from enum import Enum
from typing import Any

from mercato._gen.mercato.cart.v1 import cart_pb2, cart_service_pb2, cart_service_pb2_grpc
from mercato._gen.mercato.common.v1 import money_pb2, principal_pb2
from mercato.cart.domain import commands, model
from mercato.cart.domain.errors import (
    CartCheckoutErrorCode,
    CartCreateErrorCode,
    CartLinesAddErrorCode,
    CartLinesRemoveErrorCode,
    CartLinesUpdateErrorCode,
    CartMergeErrorCode,
    CartQueryErrorCode,
)
from mercato.cart.domain.model import Cart
from mercato.cart.domain.pricing import CartLineView, CartSnapshot, CartView, LineIssue, SnapshotLine
from mercato.platform.auth import Principal
from mercato.platform.errors import MercatoError
from mercato.platform.grpc.auth import current_principal
from mercato.platform.grpc.client import CallPolicy, ServiceCaller
from mercato.platform.grpc.convert import from_timestamp, principal_message
from mercato.platform.types import Money

TARGET = "cart"
# Domain classes the cart raises, so the client re-raises the very class (CartNotFound, ...).
KNOWN_ERRORS: tuple[type[MercatoError], ...] = (model.CartNotFound, model.LineNotFound, model.WriteRefused)


def _principal(principal: Principal | None) -> principal_pb2.Principal | None:
    return principal_message(principal) if principal is not None else None


def _money(message: money_pb2.Money) -> Money:
    return Money(message.amount_minor, message.currency_code)


def _opt_uuid(message: Any, field: str) -> uuid.UUID | None:
    return uuid.UUID(getattr(message, field)) if message.HasField(field) else None


def cart_of(message: cart_pb2.Cart) -> Cart:
    return Cart(
        id=uuid.UUID(message.id),
        owner_id=_opt_uuid(message, "owner_id"),
        lines={line.sku: line.quantity for line in message.lines},
        created_at=from_timestamp(message.created_at),
        updated_at=from_timestamp(message.updated_at),
    )


def _issue(value: int) -> LineIssue | None:
    name = cart_pb2.LineIssue.Name(value).removeprefix("LINE_ISSUE_")
    return LineIssue[name] if name in LineIssue.__members__ else None


def line_of(message: cart_pb2.CartLineView) -> CartLineView:
    return CartLineView(
        sku=message.sku,
        quantity=message.quantity,
        unit_price=_money(message.unit_price) if message.HasField("unit_price") else None,
        total=_money(message.total) if message.HasField("total") else None,
        variant_id=_opt_uuid(message, "variant_id"),
        product_id=_opt_uuid(message, "product_id"),
        product_name=message.product_name if message.HasField("product_name") else None,
        issue=_issue(message.issue),
    )


def view_of(message: cart_pb2.CartView) -> CartView:
    return CartView(
        id=uuid.UUID(message.id),
        owner_id=_opt_uuid(message, "owner_id"),
        lines=tuple(line_of(line) for line in message.lines),
        total=_money(message.total),
        item_count=message.item_count,
        created_at=from_timestamp(message.created_at),
        updated_at=from_timestamp(message.updated_at),
    )


def snapshot_of(message: cart_pb2.CartSnapshot) -> CartSnapshot:
    return CartSnapshot(
        cart_id=uuid.UUID(message.cart_id),
        owner_id=_opt_uuid(message, "owner_id"),
        lines=tuple(
            SnapshotLine(
                sku=line.sku,
                variant_id=uuid.UUID(line.variant_id),
                product_id=uuid.UUID(line.product_id),
                product_name=line.product_name,
                quantity=line.quantity,
                unit_price=_money(line.unit_price),
                total=_money(line.total),
            )
            for line in message.lines
        ),
        total=_money(message.total),
        currency=message.currency,
        taken_at=from_timestamp(message.taken_at),
    )


def _cart_lines(lines: Sequence[tuple[str, int]]) -> list[cart_pb2.CartLine]:
    return [cart_pb2.CartLine(sku=sku, quantity=quantity) for sku, quantity in lines]


@contextmanager
def acting_as(principal: Principal | None) -> Iterator[None]:
    """Sign `principal` (or none) into the outgoing metadata of the calls made inside, and only those."""
    token = current_principal.set(principal)
    try:
        yield
    finally:
        current_principal.reset(token)


class GrpcCartClient:
    """`CartClient` calling a cart service through `channel`."""

    def __init__(
        self, channel: Any, *, service: str, secret: str | None, policy: CallPolicy | None = None
    ) -> None:
        # The generated stub is untyped; its methods are wrapped by ServiceCaller.call, which is typed.
        self._stub = cart_service_pb2_grpc.CartServiceStub(channel)  # type: ignore[no-untyped-call]
        self._caller = ServiceCaller(
            service=service, target_name=TARGET, secret=secret, policy=policy, known_errors=KNOWN_ERRORS
        )

    async def _as(
        self,
        principal: Principal | None,
        method: Callable[..., Awaitable[Any]],
        request: Any,
        *,
        retryable: bool,
        codes: type[Enum],
    ) -> Any:
        with acting_as(principal):
            return await self._caller.call(method, request, retryable=retryable, codes=codes)

    async def create(self, cmd: commands.CreateCart) -> Cart:
        request = cart_service_pb2.CreateCartRequest(owner=_principal(cmd.owner))
        reply = await self._as(
            cmd.owner, self._stub.CreateCart, request, retryable=False, codes=CartCreateErrorCode
        )
        return cart_of(reply.cart)

    async def get(self, cart_id: uuid.UUID, principal: Principal | None) -> CartView:
        request = cart_service_pb2.GetCartRequest(cart_id=str(cart_id), principal=_principal(principal))
        reply = await self._as(
            principal, self._stub.GetCart, request, retryable=True, codes=CartQueryErrorCode
        )
        return view_of(reply.cart)

    async def add_lines(self, cmd: commands.AddCartLines) -> CartView:
        request = cart_service_pb2.AddCartLinesRequest(
            cart_id=str(cmd.cart_id), principal=_principal(cmd.principal), lines=_cart_lines(cmd.lines)
        )
        reply = await self._as(
            cmd.principal, self._stub.AddCartLines, request, retryable=False, codes=CartLinesAddErrorCode
        )
        return view_of(reply.cart)

    async def update_lines(self, cmd: commands.UpdateCartLines) -> CartView:
        request = cart_service_pb2.UpdateCartLinesRequest(
            cart_id=str(cmd.cart_id), principal=_principal(cmd.principal), lines=_cart_lines(cmd.lines)
        )
        reply = await self._as(
            cmd.principal, self._stub.UpdateCartLines, request, retryable=True, codes=CartLinesUpdateErrorCode
        )
        return view_of(reply.cart)

    async def remove_lines(self, cmd: commands.RemoveCartLines) -> CartView:
        request = cart_service_pb2.RemoveCartLinesRequest(
            cart_id=str(cmd.cart_id), principal=_principal(cmd.principal), skus=list(cmd.skus)
        )
        reply = await self._as(
            cmd.principal, self._stub.RemoveCartLines, request, retryable=True, codes=CartLinesRemoveErrorCode
        )
        return view_of(reply.cart)

    async def merge_on_login(self, cmd: commands.MergeCartOnLogin) -> Cart:
        request = cart_service_pb2.MergeCartOnLoginRequest(
            anonymous_cart_id=str(cmd.anonymous_cart_id), principal=_principal(cmd.principal)
        )
        reply = await self._as(
            cmd.principal, self._stub.MergeCartOnLogin, request, retryable=False, codes=CartMergeErrorCode
        )
        return cart_of(reply.cart)

    async def checkout_snapshot(self, cart_id: uuid.UUID, principal: Principal | None) -> CartSnapshot:
        request = cart_service_pb2.GetCheckoutSnapshotRequest(
            cart_id=str(cart_id), principal=_principal(principal)
        )
        reply = await self._as(
            principal, self._stub.GetCheckoutSnapshot, request, retryable=True, codes=CartCheckoutErrorCode
        )
        return snapshot_of(reply.snapshot)

    async def clear(self, cmd: commands.ClearCart) -> None:
        request = cart_service_pb2.ClearCartRequest(cart_id=str(cmd.cart_id))
        await self._caller.call(self._stub.ClearCart, request, retryable=True)
