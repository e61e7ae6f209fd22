"""One behaviour suite for both `CatalogClient`s: in-process and gRPC (a real `grpc.aio` server on a
loopback port, over the session database). A caller must not be able to tell them apart."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from redis.asyncio import Redis
from sqlalchemy import text

from mercato._gen.mercato.catalog.v1 import catalog_service_pb2, catalog_service_pb2_grpc
from mercato.catalog.bootstrap import CatalogService
from mercato.catalog.client import CatalogClient, InProcessCatalogClient
from mercato.catalog.domain.commands import (
    CreateCategory,
    CreateProduct,
    CreateVariant,
    DeleteProduct,
    NewVariant,
    UpdateProduct,
    UpdateVariant,
)
from mercato.catalog.domain.errors import (
    ProductCreateErrorCode,
    ProductListErrorCode,
    ProductUpdateErrorCode,
    VariantCreateErrorCode,
)
from mercato.catalog.entrypoints.grpc_server import registration
from mercato.catalog.grpc_client import GrpcCatalogClient
from mercato.catalog.service_layer.listing import ListingRequest, ProductFilter, ProductSort
from mercato.catalog.service_layer.views import SkuPrice
from mercato.platform.auth import Unauthenticated
from mercato.platform.cache import Cache
from mercato.platform.config import Settings
from mercato.platform.db import Database
from mercato.platform.errors import ClientError, Conflict, MercatoError, NotFound, Unavailable, field_errors
from mercato.platform.grpc.client import CallPolicy, create_channel
from mercato.platform.grpc.server import GrpcServer
from mercato.platform.types import Money
from tests.conftest import ref


@pytest.fixture(scope="session")
def catalog_service(db: Database, redis: Redis, namespace: str) -> CatalogService:
    return CatalogService(db, Cache(redis, namespace), namespace)


@pytest.fixture(scope="session")
async def catalog_server(catalog_service: CatalogService, settings: Settings) -> AsyncIterator[GrpcServer]:
    server = GrpcServer([registration(catalog_service)], secret=settings.auth_secret)
    await server.start()
    yield server
    await server.stop(grace=None)


@pytest.fixture(scope="session")
async def channel(catalog_server: GrpcServer) -> AsyncIterator[grpc.aio.Channel]:
    channel = create_channel(f"127.0.0.1:{catalog_server.port}")
    yield channel
    await channel.close()


@pytest.fixture(scope="session")
def grpc_client(channel: grpc.aio.Channel, settings: Settings) -> GrpcCatalogClient:
    return GrpcCatalogClient(channel, service="gateway", secret=settings.auth_secret)


@pytest.fixture(params=["in_process", "grpc"])
def client(
    request: pytest.FixtureRequest, catalog_service: CatalogService, grpc_client: GrpcCatalogClient
) -> CatalogClient:
    if request.param == "grpc":
        return grpc_client
    return InProcessCatalogClient(catalog_service)


def new_product(category_id: uuid.UUID | None = None, *, slug: str | None = None) -> CreateProduct:
    slug = slug or ref("p")
    return CreateProduct(
        slug=slug,
        name=f"Product {slug}",
        description="soft cotton",
        category_id=category_id,
        attributes={"material": "cotton", "weight": 180, "tags": ["a", "b"]},
        media=["https://img.example/1.jpg"],
        published=True,
        variants=[
            NewVariant(sku=f"{slug.upper()}-S", price=Money(1999, "USD"), attributes={"size": "S"}),
            NewVariant(sku=f"{slug.upper()}-M", price=Money(2499, "USD"), attributes={"size": "M"}),
        ],
    )


async def refusal(client: CatalogClient, command: object) -> MercatoError:
    with pytest.raises(MercatoError) as caught:
        await client.execute(command)
    return caught.value


def described(exc: MercatoError) -> tuple[object, ...]:
    """Everything a caller can observe of an error."""
    errors = [(e.field, e.code, e.message) for e in field_errors(exc)]
    return (type(exc), exc.code, exc.field, exc.message, str(exc), errors)


# --- reads ------------------------------------------------------------------------------------


async def test_reads_return_equal_views(
    catalog_service: CatalogService, grpc_client: GrpcCatalogClient
) -> None:
    local = InProcessCatalogClient(catalog_service)
    category_id = await catalog_service.handle(CreateCategory(slug=ref("cat"), name="Tops"))
    product_id = await catalog_service.handle(new_product(category_id))
    view = await local.product(product_id=product_id)
    assert view is not None
    skus = [v.sku for v in view.variants]

    assert await grpc_client.product(product_id=product_id) == view
    assert await grpc_client.product(slug=view.slug) == view
    assert await grpc_client.products_by_ids([product_id]) == [view]
    assert await grpc_client.variant(view.variants[0].id) == view.variants[0]
    assert await grpc_client.variants_by_skus([*skus, "NO-SUCH-SKU"]) == await local.variants_by_skus(skus)
    assert await grpc_client.categories() == await local.categories()
    listing = ListingRequest(first=5, filter=ProductFilter(category_id=category_id), sort=ProductSort.PRICE)
    page = await grpc_client.list_products(listing)
    assert page == await local.list_products(listing)
    assert page.items == (view,)
    assert page.available is None
    # The page's categories come with it over gRPC too (left out of the page's equality)
    tops = next(c for c in await local.categories() if c.id == category_id)
    assert page.categories == (await local.list_products(listing)).categories == (tops,)


async def test_availability_reads_the_read_model_alike(
    catalog_service: CatalogService, grpc_client: GrpcCatalogClient, db: Database
) -> None:
    # Given a product whose first SKU has a level in the read model and whose second has none
    local = InProcessCatalogClient(catalog_service)
    category_id = await catalog_service.handle(CreateCategory(slug=ref("cat"), name="Tops"))
    product_id = await catalog_service.handle(new_product(category_id))
    view = await local.product(product_id=product_id)
    assert view is not None
    stocked, empty = (v.sku for v in view.variants)
    async with db.begin() as conn:
        await conn.execute(
            text("INSERT INTO catalog.sku_availability (sku, available, version) VALUES (:s, 7, 1)"),
            {"s": stocked},
        )
    listing = ListingRequest(first=5, filter=ProductFilter(category_id=category_id))

    # When both clients list the page with its availability, and ask for the SKUs' levels
    pages = [await c.list_products(listing, availability=True) for c in (local, grpc_client)]
    levels = [await c.availability([stocked, empty, "NO-SUCH-SKU"]) for c in (local, grpc_client)]

    # Then both answer the same: the page's SKUs' units, 0 for one without a row
    assert pages[0] == pages[1]
    assert pages[0].available == {stocked: 7, empty: 0}
    assert levels[0] == levels[1] == {stocked: 7, empty: 0, "NO-SUCH-SKU": 0}


async def test_missing_things_read_as_none_or_are_left_out(client: CatalogClient) -> None:
    assert await client.product(product_id=uuid.uuid4()) is None
    assert await client.product(slug=ref("nope")) is None
    assert await client.product() is None
    assert await client.variant(uuid.uuid4()) is None
    assert await client.products_by_ids([uuid.uuid4()]) == []
    assert await client.variants_by_skus(["NO-SUCH-SKU"]) == {}
    assert await client.sku_prices(["NO-SUCH-SKU"]) == {}


async def test_sku_prices_name_the_product_only_while_it_is_for_sale(
    catalog_service: CatalogService, client: CatalogClient
) -> None:
    category_id = await catalog_service.handle(CreateCategory(slug=ref("cat"), name="Tops"))
    product_id = await catalog_service.handle(new_product(category_id))
    view = await catalog_service.queries.product(product_id=product_id)
    assert view is not None
    variant = view.variants[0]

    prices = await client.sku_prices([variant.sku, "NO-SUCH-SKU"])
    assert prices == {
        variant.sku: SkuPrice(
            sku=variant.sku,
            variant_id=variant.id,
            product_id=product_id,
            price_amount=variant.price_amount,
            currency=variant.currency,
            product_name=view.name,
        )
    }
    await catalog_service.handle(UpdateProduct(product_id=product_id, changes={"published": False}))
    assert (await client.sku_prices([variant.sku]))[variant.sku].product_name is None


async def test_a_bad_listing_request_is_refused_with_the_listing_codes(client: CatalogClient) -> None:
    with pytest.raises(ClientError) as caught:
        await client.list_products(ListingRequest(first=0, after="garbage"))
    codes = {(e.field, e.code) for e in field_errors(caught.value)}
    assert codes == {
        ("first", ProductListErrorCode.INVALID_PAGE_SIZE),
        ("after", ProductListErrorCode.INVALID_CURSOR),
    }


# --- writes -----------------------------------------------------------------------------------


async def test_writes_succeed_and_are_visible(client: CatalogClient) -> None:
    category_id = await client.execute(CreateCategory(slug=ref("cat"), name="Shoes", position=3))
    assert isinstance(category_id, uuid.UUID)
    product_id = await client.execute(new_product(category_id))
    assert isinstance(product_id, uuid.UUID)

    assert (
        await client.execute(UpdateProduct(product_id, {"name": "Renamed", "category_id": None}))
        == product_id
    )
    variant_id = await client.execute(
        CreateVariant(product_id=product_id, sku=ref("v").upper(), price=Money(999, "USD"), attributes={})
    )
    assert await client.execute(UpdateVariant(variant_id, price=Money(899, "USD"))) == variant_id

    view = await client.product(product_id=product_id)
    assert view is not None
    assert (view.name, view.category_id, view.min_price_amount) == ("Renamed", None, 899)
    assert view.attributes == {"material": "cotton", "weight": 180, "tags": ["a", "b"]}

    assert await client.execute(DeleteProduct(product_id)) == product_id
    # Not `product()`: that read is cached until the catalog's event consumer bumps the generation.
    assert await client.products_by_ids([product_id], include_unpublished=True) == []


# --- typed errors, identical on both ----------------------------------------------------------


async def test_typed_errors_arrive_identical_on_both_clients(
    catalog_service: CatalogService, grpc_client: GrpcCatalogClient
) -> None:
    local = InProcessCatalogClient(catalog_service)
    taken = ref("p")
    await local.execute(new_product(slug=taken))
    product_id = await local.execute(new_product())
    [sku] = [v.sku for v in (await local.product(product_id=product_id)).variants][:1]  # type: ignore[union-attr]
    refused = [
        new_product(slug=taken),  # DuplicateSlug
        CreateProduct(slug="", name="x" * 1000),  # InputRejected, several fields
        UpdateProduct(uuid.uuid4(), {"name": "x"}),  # NotFound
        CreateVariant(product_id=product_id, sku=sku, price=Money(1, "USD")),  # DuplicateSku
        CreateVariant(product_id=product_id, sku=ref("v").upper(), price=Money(1, "EUR")),  # CurrencyMismatch
        CreateCategory(slug=ref("cat"), name="Orphan", parent_id=uuid.uuid4()),  # NotFound, str code
    ]
    for command in refused:
        assert described(await refusal(grpc_client, command)) == described(await refusal(local, command))


async def test_a_duplicate_slug_is_a_conflict_with_the_mutation_code(client: CatalogClient) -> None:
    command = new_product()
    await client.execute(command)
    error = await refusal(client, CreateProduct(slug=command.slug, name="Again"))
    assert isinstance(error, Conflict)
    assert (error.code, error.field) == (ProductCreateErrorCode.DUPLICATE_SLUG, "slug")


async def test_unknown_product_and_currency_mismatch_carry_their_codes(client: CatalogClient) -> None:
    error = await refusal(client, UpdateProduct(uuid.uuid4(), {"name": "x"}))
    assert isinstance(error, NotFound)
    assert error.code is ProductUpdateErrorCode.NOT_FOUND
    product_id = await client.execute(new_product())
    error = await refusal(client, CreateVariant(product_id, ref("v").upper(), Money(5, "EUR")))
    assert isinstance(error, Conflict)
    assert error.code is VariantCreateErrorCode.CURRENCY_MISMATCH


# --- transport --------------------------------------------------------------------------------


async def test_a_call_without_a_service_token_is_refused(
    channel: grpc.aio.Channel, settings: Settings
) -> None:
    stub = catalog_service_pb2_grpc.CatalogServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ListCategories(catalog_service_pb2.ListCategoriesRequest(), timeout=2)
    assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED
    forged = GrpcCatalogClient(channel, service="gateway", secret="x" * 48)
    with pytest.raises(Unauthenticated):
        await forged.categories()


async def test_the_health_service_answers_serving(channel: grpc.aio.Channel) -> None:
    stub = health_pb2_grpc.HealthStub(channel)
    for service in ("", "mercato.catalog.v1.CatalogService"):
        reply = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=2)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


async def test_a_stopped_server_yields_unavailable_within_the_deadline(
    catalog_service: CatalogService, settings: Settings
) -> None:
    server = GrpcServer([registration(catalog_service)], secret=settings.auth_secret)
    await server.start()
    await server.stop(grace=None)
    channel = create_channel(f"127.0.0.1:{server.port}")
    try:
        client = GrpcCatalogClient(
            channel, service="gateway", secret=settings.auth_secret, policy=CallPolicy(timeout=0.5)
        )
        # The guard only stops a hang: a read is retried, but never past its 0.5 s deadline.
        async with asyncio.timeout(2):
            with pytest.raises(Unavailable):
                await client.categories()
            with pytest.raises(Unavailable):
                await client.execute(CreateCategory(slug=ref("cat"), name="x"))  # a write: tried once
    finally:
        await channel.close()
