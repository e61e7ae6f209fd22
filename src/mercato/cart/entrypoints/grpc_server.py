"""The cart over gRPC (`mercato.cart.v1.CartService`): request -> use case -> response.
Authentication and error mapping are the platform server's; typed errors just propagate.

Whom a call acts for: the requests carry a `mercato.common.v1.Principal` (`principal`, or `owner`
for CreateCart), but that field is plain request data any caller can fill in. The servicer never
reads it. It acts for the principal the platform interceptor verified from the signed
`x-mercato-principal` metadata (`platform.grpc.auth.current_principal`), or for an anonymous shopper
when there is none. Asking for someone else's cart with their principal in the body therefore
answers CART_NOT_FOUND, exactly as in process.
"""

from __future__ import annotations

import uuid
from typing import Any, Protocol

from mercato._gen.mercato.cart.v1 import cart_pb2, cart_service_pb2, cart_service_pb2_grpc
from mercato._gen.mercato.common.v1 import money_pb2
from mercato.cart.domain import commands
from mercato.cart.domain.model import Cart
from mercato.cart.domain.pricing import CartLineView, CartSnapshot, CartView
from mercato.platform.auth import Principal, require_principal
from mercato.platform.errors import PermissionDenied
from mercato.platform.grpc.auth import current_caller, current_principal
from mercato.platform.grpc.convert import money_message, opt_str, parse_uuid, to_timestamp
from mercato.platform.grpc.server import ServiceRegistration
from mercato.platform.types import Money

SERVICE_NAME = "mercato.cart.v1.CartService"

# The services that may empty a cart (ClearCart): whoever places orders.
CLEARING_CALLERS = frozenset({"gateway"})


class CartService(Protocol):
    """What the servicer uses of `bootstrap.CartService` (entrypoints sit below bootstrap)."""

    async def handle(self, cmd: Any) -> Any: ...

    async def get(self, cart_id: uuid.UUID, principal: Principal | None) -> CartView: ...

    async def checkout_snapshot(self, cart_id: uuid.UUID, principal: Principal | None) -> CartSnapshot: ...


def optional_money(value: Money | None) -> money_pb2.Money | None:
    return money_message(value) if value is not None else None


def cart_message(cart: Cart) -> cart_pb2.Cart:
    return cart_pb2.Cart(
        id=str(cart.id),
        owner_id=opt_str(cart.owner_id),
        lines=[cart_pb2.CartLine(sku=sku, quantity=quantity) for sku, quantity in cart.lines.items()],
        created_at=to_timestamp(cart.created_at),
        updated_at=to_timestamp(cart.updated_at),
    )


def line_message(line: CartLineView) -> cart_pb2.CartLineView:
    return cart_pb2.CartLineView(
        sku=line.sku,
        quantity=line.quantity,
        unit_price=optional_money(line.unit_price),
        total=optional_money(line.total),
        variant_id=opt_str(line.variant_id),
        product_id=opt_str(line.product_id),
        product_name=line.product_name,
        issue=f"LINE_ISSUE_{line.issue.name}" if line.issue is not None else "LINE_ISSUE_UNSPECIFIED",
    )


def view_message(view: CartView) -> cart_pb2.CartView:
    return cart_pb2.CartView(
        id=str(view.id),
        owner_id=opt_str(view.owner_id),
        lines=[line_message(line) for line in view.lines],
        total=optional_money(view.total),
        item_count=view.item_count,
        created_at=to_timestamp(view.created_at),
        updated_at=to_timestamp(view.updated_at),
    )


def snapshot_message(snapshot: CartSnapshot) -> cart_pb2.CartSnapshot:
    return cart_pb2.CartSnapshot(
        cart_id=str(snapshot.cart_id),
        owner_id=opt_str(snapshot.owner_id),
        lines=[
            cart_pb2.SnapshotLine(
                sku=line.sku,
                variant_id=str(line.variant_id),
                product_id=str(line.product_id),
                product_name=line.product_name,
                quantity=line.quantity,
                unit_price=optional_money(line.unit_price),
                total=optional_money(line.total),
            )
            for line in snapshot.lines
        ],
        total=optional_money(snapshot.total),
        currency=snapshot.currency,
        taken_at=to_timestamp(snapshot.taken_at),
    )


def _lines(request: Any) -> list[tuple[str, int]]:
    return [(line.sku, line.quantity) for line in request.lines]


def _caller() -> Principal | None:
    # The verified principal of the signed metadata (None: anonymous); the body's field is ignored.
    return current_principal.get()


class CartServicer(cart_service_pb2_grpc.CartServiceServicer):
    def __init__(self, service: CartService) -> None:
        self.service = service

    async def CreateCart(self, request: Any, context: Any) -> cart_service_pb2.CreateCartResponse:
        cart = await self.service.handle(commands.CreateCart(_caller()))
        return cart_service_pb2.CreateCartResponse(cart=cart_message(cart))

    async def GetCart(self, request: Any, context: Any) -> cart_service_pb2.GetCartResponse:
        view = await self.service.get(parse_uuid(request.cart_id, "cart_id"), _caller())
        return cart_service_pb2.GetCartResponse(cart=view_message(view))

    async def AddCartLines(self, request: Any, context: Any) -> cart_service_pb2.AddCartLinesResponse:
        view = await self.service.handle(
            commands.AddCartLines(parse_uuid(request.cart_id, "cart_id"), _caller(), _lines(request))
        )
        return cart_service_pb2.AddCartLinesResponse(cart=view_message(view))

    async def UpdateCartLines(self, request: Any, context: Any) -> cart_service_pb2.UpdateCartLinesResponse:
        view = await self.service.handle(
            commands.UpdateCartLines(parse_uuid(request.cart_id, "cart_id"), _caller(), _lines(request))
        )
        return cart_service_pb2.UpdateCartLinesResponse(cart=view_message(view))

    async def RemoveCartLines(self, request: Any, context: Any) -> cart_service_pb2.RemoveCartLinesResponse:
        view = await self.service.handle(
            commands.RemoveCartLines(parse_uuid(request.cart_id, "cart_id"), _caller(), list(request.skus))
        )
        return cart_service_pb2.RemoveCartLinesResponse(cart=view_message(view))

    async def MergeCartOnLogin(self, request: Any, context: Any) -> cart_service_pb2.MergeCartOnLoginResponse:
        principal = require_principal(_caller())
        cart = await self.service.handle(
            commands.MergeCartOnLogin(parse_uuid(request.anonymous_cart_id, "anonymous_cart_id"), principal)
        )
        return cart_service_pb2.MergeCartOnLoginResponse(cart=cart_message(cart))

    async def GetCheckoutSnapshot(
        self, request: Any, context: Any
    ) -> cart_service_pb2.GetCheckoutSnapshotResponse:
        snapshot = await self.service.checkout_snapshot(parse_uuid(request.cart_id, "cart_id"), _caller())
        return cart_service_pb2.GetCheckoutSnapshotResponse(snapshot=snapshot_message(snapshot))

    async def ClearCart(self, request: Any, context: Any) -> cart_service_pb2.ClearCartResponse:
        # Internal: no end user is checked, so only the services that place orders may call it (the
        # gateway, once checkoutComplete placed one); any other service, however authenticated, is refused.
        caller = current_caller.get()
        if caller not in CLEARING_CALLERS:
            raise PermissionDenied(f"service {caller!r} may not clear carts")
        await self.service.handle(commands.ClearCart(parse_uuid(request.cart_id, "cart_id")))
        return cart_service_pb2.ClearCartResponse()


def registration(service: CartService) -> ServiceRegistration:
    """What `platform.grpc.server.GrpcServer` needs to serve the cart."""
    return ServiceRegistration(
        name=SERVICE_NAME,
        servicer=CartServicer(service),
        add_to_server=cart_service_pb2_grpc.add_CartServiceServicer_to_server,
    )
