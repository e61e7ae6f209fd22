"""One behaviour suite for both `CartClient`s: in-process and gRPC (a real `grpc.aio` server on a
loopback port, over the session Redis and a real catalog). A caller must not be able to tell them
apart, and no caller can reach someone else's cart by writing their principal into a request body."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from redis.asyncio import Redis

from mercato._gen.mercato.cart.v1 import cart_service_pb2, cart_service_pb2_grpc
from mercato.cart.bootstrap import CartService
from mercato.cart.client import CartClient, InProcessCartClient
from mercato.cart.domain.commands import (
    AddCartLines,
    ClearCart,
    CreateCart,
    MergeCartOnLogin,
    RemoveCartLines,
    UpdateCartLines,
)
from mercato.cart.domain.errors import (
    CartCheckoutErrorCode,
    CartLinesAddErrorCode,
    CartLinesRemoveErrorCode,
    CartLinesUpdateErrorCode,
    CartMergeErrorCode,
    CartQueryErrorCode,
)
from mercato.cart.domain.model import CartNotFound
from mercato.cart.domain.pricing import LineIssue
from mercato.cart.entrypoints.grpc_server import registration
from mercato.cart.grpc_client import GrpcCartClient, principal_message
from mercato.catalog.bootstrap import CatalogService
from mercato.catalog.client import InProcessCatalogClient
from mercato.catalog.domain.commands import UpdateProduct
from mercato.platform.auth import Principal, Role, Unauthenticated
from mercato.platform.cache import Cache
from mercato.platform.config import Settings
from mercato.platform.db import Database
from mercato.platform.errors import InputRejected, MercatoError, NotFound, PermissionDenied, field_errors
from mercato.platform.grpc.auth import current_principal, outgoing_metadata
from mercato.platform.grpc.client import create_channel
from mercato.platform.grpc.server import GrpcServer
from mercato.platform.types import Money
from tests.service.catalog.builders import a_product


@pytest.fixture(scope="session")
def cart_catalog(db: Database, redis: Redis, namespace: str) -> CatalogService:
    # Cache off: every read sees the latest catalog state.
    return CatalogService(db, Cache(redis, namespace, enabled=False), namespace)


@pytest.fixture(scope="session")
def cart_service(redis: Redis, cart_catalog: CatalogService, settings: Settings) -> CartService:
    return CartService(redis, InProcessCatalogClient(cart_catalog), settings)


@pytest.fixture(scope="session")
async def cart_server(cart_service: CartService, settings: Settings) -> AsyncIterator[GrpcServer]:
    server = GrpcServer([registration(cart_service)], secret=settings.auth_secret)
    await server.start()
    yield server
    await server.stop(grace=None)


@pytest.fixture(scope="session")
async def cart_channel(cart_server: GrpcServer) -> AsyncIterator[grpc.aio.Channel]:
    channel = create_channel(f"127.0.0.1:{cart_server.port}")
    yield channel
    await channel.close()


@pytest.fixture(scope="session")
def grpc_cart(cart_channel: grpc.aio.Channel, settings: Settings) -> GrpcCartClient:
    return GrpcCartClient(cart_channel, service="gateway", secret=settings.auth_secret)


@pytest.fixture
def local(cart_service: CartService) -> InProcessCartClient:
    return InProcessCartClient(cart_service)


@pytest.fixture(params=["in_process", "grpc"])
def client(
    request: pytest.FixtureRequest, local: InProcessCartClient, grpc_cart: GrpcCartClient
) -> CartClient:
    return grpc_cart if request.param == "grpc" else local


def customer() -> Principal:
    return Principal(user_id=uuid.uuid4(), email=f"{uuid.uuid4().hex[:8]}@example.com", role=Role.CUSTOMER)


async def skus(catalog: CatalogService, *prices: int, published: bool = True) -> list[str]:
    _, found = await a_product(catalog, prices=prices, published=published)
    return found


def described(exc: MercatoError) -> tuple[object, ...]:
    """Everything a caller can observe of an error."""
    errors = [(e.field, e.code, e.message) for e in field_errors(exc)]
    return (type(exc), exc.code, exc.field, exc.message, str(exc), errors)


async def test_a_cart_is_filled_priced_and_snapshotted(
    client: CartClient, cart_catalog: CatalogService
) -> None:
    shopper = customer()
    a, b = await skus(cart_catalog, 1000, 250)
    cart = await client.create(CreateCart(shopper))
    assert (cart.owner_id, dict(cart.lines)) == (shopper.user_id, {})

    view = await client.add_lines(AddCartLines(cart.id, shopper, [(a, 2), (b, 1)]))
    assert [(line.sku, line.quantity, line.total) for line in view.lines] == [
        (a, 2, Money(2000, "USD")),
        (b, 1, Money(250, "USD")),
    ]
    assert (view.total, view.item_count) == (Money(2250, "USD"), 3)
    view = await client.update_lines(UpdateCartLines(cart.id, shopper, [(a, 1)]))
    view = await client.remove_lines(RemoveCartLines(cart.id, shopper, [b]))
    assert [(line.sku, line.quantity) for line in view.lines] == [(a, 1)]
    assert await client.get(cart.id, shopper) == view

    snapshot = await client.checkout_snapshot(cart.id, shopper)
    assert (snapshot.cart_id, snapshot.owner_id, snapshot.total, snapshot.currency) == (
        cart.id,
        shopper.user_id,
        Money(1000, "USD"),
        "USD",
    )
    assert [(line.sku, line.quantity, line.product_name != "") for line in snapshot.lines] == [(a, 1, True)]
    await client.clear(ClearCart(cart.id))
    assert (await client.get(cart.id, shopper)).lines == ()


async def test_an_anonymous_cart_merges_into_the_account(
    client: CartClient, cart_catalog: CatalogService
) -> None:
    [sku] = await skus(cart_catalog, 500)
    anonymous = await client.create(CreateCart(None))
    assert anonymous.owner_id is None
    await client.add_lines(AddCartLines(anonymous.id, None, [(sku, 3)]))
    shopper = customer()
    merged = await client.merge_on_login(MergeCartOnLogin(anonymous.id, shopper))
    assert (merged.id, merged.owner_id, dict(merged.lines)) == (anonymous.id, shopper.user_id, {sku: 3})
    with pytest.raises(NotFound):
        await client.get(anonymous.id, None)  # owned now: the id alone no longer opens it


async def test_an_unavailable_line_is_shown_with_its_issue(
    local: InProcessCartClient, grpc_cart: GrpcCartClient, cart_catalog: CatalogService
) -> None:
    product_id, [gone, kept] = await a_product(cart_catalog, prices=(700, 300))
    cart = await local.create(CreateCart(None))
    await local.add_lines(AddCartLines(cart.id, None, [(gone, 1), (kept, 2)]))
    await cart_catalog.handle(UpdateProduct(product_id=product_id, changes={"published": False}))
    for c in (local, grpc_cart):
        view = await c.get(cart.id, None)
        assert [(line.sku, line.issue, line.unit_price) for line in view.lines] == [
            (gone, LineIssue.NOT_PURCHASABLE, None),
            (kept, LineIssue.NOT_PURCHASABLE, None),
        ]
        assert (view.total, view.item_count) == (Money(0, "USD"), 3)
    assert await grpc_cart.get(cart.id, None) == await local.get(cart.id, None)
    seen = []
    for c in (local, grpc_cart):
        with pytest.raises(InputRejected) as caught:
            await c.checkout_snapshot(cart.id, None)
        seen.append(described(caught.value))
    assert seen[0] == seen[1]
    assert [e.code for e in field_errors(caught.value)] == [CartCheckoutErrorCode.NOT_PURCHASABLE] * 2


async def test_reads_return_equal_values(
    local: InProcessCartClient, grpc_cart: GrpcCartClient, cart_catalog: CatalogService
) -> None:
    shopper = customer()
    a, b = await skus(cart_catalog, 1999, 1)
    cart = await local.create(CreateCart(shopper))
    await local.add_lines(AddCartLines(cart.id, shopper, [(a, 1), (b, 4)]))
    assert await grpc_cart.get(cart.id, shopper) == await local.get(cart.id, shopper)
    remote, here = (
        await grpc_cart.checkout_snapshot(cart.id, shopper),
        await local.checkout_snapshot(cart.id, shopper),
    )
    assert (remote.lines, remote.total, remote.owner_id) == (here.lines, here.total, here.owner_id)


async def test_typed_errors_arrive_identical_on_both_clients(
    local: InProcessCartClient, grpc_cart: GrpcCartClient, cart_catalog: CatalogService
) -> None:
    owner, intruder = customer(), customer()
    [sku] = await skus(cart_catalog, 100)
    [hidden] = await skus(cart_catalog, 100, published=False)
    cart = await local.create(CreateCart(owner))
    await local.add_lines(AddCartLines(cart.id, owner, [(sku, 1)]))
    empty = await local.create(CreateCart(None))

    calls: list[tuple[Callable[[CartClient], Awaitable[object]], object]] = [
        # BOLA: another principal, or none, cannot reach an owned cart: the same CART_NOT_FOUND.
        (lambda c: c.get(cart.id, intruder), CartQueryErrorCode.CART_NOT_FOUND),
        (lambda c: c.get(cart.id, None), CartQueryErrorCode.CART_NOT_FOUND),
        (
            lambda c: c.add_lines(AddCartLines(cart.id, intruder, [(sku, 1)])),
            CartLinesAddErrorCode.CART_NOT_FOUND,
        ),
        (
            lambda c: c.update_lines(UpdateCartLines(cart.id, intruder, [(sku, 5)])),
            CartLinesUpdateErrorCode.CART_NOT_FOUND,
        ),
        (
            lambda c: c.remove_lines(RemoveCartLines(cart.id, intruder, [sku])),
            CartLinesRemoveErrorCode.CART_NOT_FOUND,
        ),
        (lambda c: c.checkout_snapshot(cart.id, intruder), CartCheckoutErrorCode.CART_NOT_FOUND),
        (lambda c: c.merge_on_login(MergeCartOnLogin(cart.id, intruder)), CartMergeErrorCode.CART_NOT_FOUND),
        (lambda c: c.get(uuid.uuid4(), owner), CartQueryErrorCode.CART_NOT_FOUND),
        (
            lambda c: c.add_lines(AddCartLines(cart.id, owner, [("bad sku!", 0)])),
            CartLinesAddErrorCode.INVALID,
        ),
        (
            lambda c: c.add_lines(AddCartLines(cart.id, owner, [(hidden, 1)])),
            CartLinesAddErrorCode.NOT_PURCHASABLE,
        ),
        (
            lambda c: c.update_lines(UpdateCartLines(cart.id, owner, [("NOT-IN-CART", 1)])),
            CartLinesUpdateErrorCode.LINE_NOT_FOUND,
        ),
        (lambda c: c.checkout_snapshot(empty.id, None), CartCheckoutErrorCode.CART_EMPTY),
    ]
    for call, code in calls:
        seen = []
        for c in (local, grpc_cart):
            with pytest.raises(MercatoError) as caught:
                await call(c)
            seen.append(described(caught.value))
        assert seen[0] == seen[1], code
        assert code in {e.code for e in field_errors(caught.value)}
    with pytest.raises(CartNotFound):
        await grpc_cart.get(cart.id, intruder)
    # None of the refused calls changed the owner's cart.
    assert [(line.sku, line.quantity) for line in (await local.get(cart.id, owner)).lines] == [(sku, 1)]


async def test_the_servicer_acts_for_the_signed_principal_not_the_request_body(
    local: InProcessCartClient,
    cart_channel: grpc.aio.Channel,
    settings: Settings,
    cart_catalog: CatalogService,
) -> None:
    victim, mallory = customer(), customer()
    [sku] = await skus(cart_catalog, 100)
    cart = await local.create(CreateCart(victim))
    await local.add_lines(AddCartLines(cart.id, victim, [(sku, 1)]))
    stub = cart_service_pb2_grpc.CartServiceStub(cart_channel)
    assert settings.auth_secret is not None
    forged = cart_service_pb2.GetCartRequest(cart_id=str(cart.id), principal=principal_message(victim))
    for acting in (None, mallory):  # anonymous, then signed as someone else; the body names the victim
        token = current_principal.set(acting)
        try:
            metadata = outgoing_metadata(
                "gateway", settings.auth_secret, audience="mercato.cart.v1.CartService"
            )
        finally:
            current_principal.reset(token)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.GetCart(forged, metadata=metadata, timeout=2)
        assert caught.value.code() is grpc.StatusCode.NOT_FOUND


async def test_a_call_without_a_service_token_is_refused(cart_channel: grpc.aio.Channel) -> None:
    stub = cart_service_pb2_grpc.CartServiceStub(cart_channel)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.CreateCart(cart_service_pb2.CreateCartRequest(), timeout=2)
    assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED
    forged = GrpcCartClient(cart_channel, service="gateway", secret="y" * 48)
    with pytest.raises(Unauthenticated):
        await forged.create(CreateCart(None))


async def test_the_health_service_answers_serving(cart_channel: grpc.aio.Channel) -> None:
    stub = health_pb2_grpc.HealthStub(cart_channel)
    for service in ("", "mercato.cart.v1.CartService"):
        reply = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=2)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


async def test_only_the_gateway_may_clear_a_cart(
    local: InProcessCartClient,
    cart_channel: grpc.aio.Channel,
    settings: Settings,
    cart_catalog: CatalogService,
) -> None:
    owner = customer()
    [sku] = await skus(cart_catalog, 100)
    cart = await local.create(CreateCart(owner))
    await local.add_lines(AddCartLines(cart.id, owner, [(sku, 1)]))
    assert settings.auth_secret is not None
    other_service = GrpcCartClient(cart_channel, service="orders", secret=settings.auth_secret)
    with pytest.raises(PermissionDenied):
        await other_service.clear(ClearCart(cart.id))
    assert [line.sku for line in (await local.get(cart.id, owner)).lines] == [sku]

    gateway = GrpcCartClient(cart_channel, service="gateway", secret=settings.auth_secret)
    await gateway.clear(ClearCart(cart.id))
    assert list((await local.get(cart.id, owner)).lines) == []
