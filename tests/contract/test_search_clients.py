"""One behaviour suite for both `SearchClient`s: in-process and gRPC (a real `grpc.aio` server on a
loopback port, over the session database). A caller must not be able to tell them apart: the same
hits, scores, interpretation, facets and cursors, and the same typed errors.

The index is shared by the whole session, so every test searches for words only it uses."""

from __future__ import annotations

import asyncio
import random
import string
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from redis.asyncio import Redis

from mercato._gen.mercato.search.v1 import search_service_pb2, search_service_pb2_grpc
from mercato.catalog.bootstrap import CatalogService
from mercato.catalog.client import InProcessCatalogClient
from mercato.catalog.entrypoints.grpc_server import registration as catalog_registration
from mercato.catalog.grpc_client import GrpcCatalogClient
from mercato.platform.auth import Unauthenticated
from mercato.platform.cache import Cache
from mercato.platform.config import Settings
from mercato.platform.db import Database
from mercato.platform.errors import ClientError, MercatoError, Unavailable
from mercato.platform.faults import is_unavailable
from mercato.platform.grpc.client import CallPolicy, create_channel
from mercato.platform.grpc.server import GrpcServer
from mercato.search import InProcessSearchClient, SearchClient, SearchFilter, SearchMode, SearchRequest
from mercato.search.bootstrap import SearchService
from mercato.search.domain.commands import RecordPurchase
from mercato.search.entrypoints.grpc_server import registration
from mercato.search.grpc_client import GrpcSearchClient
from mercato.search.service_layer.indexing import refresh_products
from tests.service.catalog.builders import a_category, a_product


@pytest.fixture(scope="session")
def catalog_service(db: Database, redis: Redis, namespace: str) -> CatalogService:
    return CatalogService(db, Cache(redis, namespace, enabled=False), namespace)


@pytest.fixture(scope="session")
def search_service(db: Database, catalog_service: CatalogService, namespace: str) -> SearchService:
    return SearchService(db, InProcessCatalogClient(catalog_service), namespace)


@pytest.fixture(scope="session")
async def search_server(search_service: SearchService, settings: Settings) -> AsyncIterator[GrpcServer]:
    server = GrpcServer([registration(search_service)], secret=settings.auth_secret)
    await server.start()
    yield server
    await server.stop(grace=None)


@pytest.fixture(scope="session")
async def channel(search_server: GrpcServer) -> AsyncIterator[grpc.aio.Channel]:
    channel = create_channel(f"127.0.0.1:{search_server.port}")
    yield channel
    await channel.close()


@pytest.fixture(scope="session")
def grpc_client(channel: grpc.aio.Channel, settings: Settings) -> GrpcSearchClient:
    return GrpcSearchClient(channel, service="gateway", secret=settings.auth_secret)


@pytest.fixture(params=["in_process", "grpc"])
def client(
    request: pytest.FixtureRequest, search_service: SearchService, grpc_client: GrpcSearchClient
) -> SearchClient:
    if request.param == "grpc":
        return grpc_client
    return InProcessSearchClient(search_service)


def a_word() -> str:
    return "".join(random.choices(string.ascii_lowercase, k=10))


async def indexed(search: SearchService, *product_ids: uuid.UUID) -> None:
    async with search.uow() as uow:
        await refresh_products(product_ids, uow, search.catalog)
        await uow.commit()


async def refusal(client: SearchClient, request: SearchRequest) -> MercatoError:
    with pytest.raises(MercatoError) as caught:
        await client.search(request)
    return caught.value


def described(error: MercatoError) -> tuple[str, str, object, str | None]:
    return type(error).__name__, error.message, error.code, error.field


# --- the same answers ---------------------------------------------------------------------------


async def test_results_interpretation_and_facets_are_equal_on_both_clients(
    catalog_service: CatalogService, search_service: SearchService, grpc_client: GrpcSearchClient
) -> None:
    word = a_word()
    category = await a_category(catalog_service)
    shell, _ = await a_product(catalog_service, name=f"{word} Shell Jacket", prices=(8000, 8200))
    fleece, skus = await a_product(
        catalog_service, name=f"{word} Fleece", prices=(1500,), category_id=category
    )
    await indexed(search_service, shell, fleece)
    async with search_service.uow() as uow:
        await uow.index.record_availability(skus[0], 4, 1)
        await uow.commit()
    local = InProcessSearchClient(search_service)
    typo = f"{word} jakcet under $20"
    requests = [
        SearchRequest(query=typo, facets=True),
        SearchRequest(query=typo, facets=False, interpret=False, mode=SearchMode.LEXICAL),
        SearchRequest(
            query=word,
            facets=True,
            filter=SearchFilter(
                category_id=category,
                price_min=1000,
                price_max=2000,
                in_stock=True,
                attributes=(("size", ("S",)),),
            ),
        ),
        SearchRequest(query="", facets=True, filter=SearchFilter(category_id=category)),
    ]

    for request in requests:
        assert await grpc_client.search(request) == await local.search(request), request

    # And what they answer is the search's: the fleece (under $20) first, the typo corrected.
    result = await grpc_client.search(requests[0])
    ranked = [h.product_id for h in result.hits]
    assert ranked[0] == fleece and shell in ranked
    assert result.interpretation.sources == (("price_max", "under $20"),)
    assert result.interpretation.filter == SearchFilter(price_max=2000)
    assert [(c.typed, c.searched) for c in result.interpretation.corrections] == [("jakcet", "jacket")]
    assert result.facets is not None and result.facets.counted >= 2
    assert (await grpc_client.search(requests[1])).facets is None


async def test_pages_follow_the_cursor_the_caller_makes(
    catalog_service: CatalogService, search_service: SearchService, client: SearchClient
) -> None:
    word = a_word()
    ids = [(await a_product(catalog_service, name=f"{word} Bag {i}"))[0] for i in range(3)]
    await indexed(search_service, *ids)
    request = SearchRequest(query=word, first=2, mode=SearchMode.LEXICAL, filter=SearchFilter(in_stock=False))

    first = await client.search(request)
    after = request.cursor(first.offset + len(first.hits) - 1)
    second = await client.search(
        SearchRequest(query=word, first=2, after=after, mode=SearchMode.LEXICAL, filter=request.filter)
    )

    assert (first.offset, first.has_next_page, second.offset, second.has_next_page) == (0, True, 2, False)
    assert {h.product_id for h in (*first.hits, *second.hits)} == set(ids)


async def bought_twice(search: SearchService, *skus: str) -> None:
    """Two confirmed orders bought `skus` together: the default minimum support (2) is reached."""
    for _ in range(2):
        async with search.uow() as uow:
            await search.handle_in(RecordPurchase(uuid.uuid4(), skus), uow)
            await uow.commit()


async def test_recommendations_are_equal_on_both_clients(
    catalog_service: CatalogService, search_service: SearchService, grpc_client: GrpcSearchClient
) -> None:
    word = a_word()
    category = await a_category(catalog_service)
    products = [
        await a_product(catalog_service, name=f"{word} {a_word()}", category_id=category) for _ in range(3)
    ]
    lamp, lamp_skus = await a_product(catalog_service, name=f"{a_word()} {a_word()}")
    (tee, tee_skus), ids = products[0], [p for p, _ in products]
    await indexed(search_service, *ids, lamp)
    await bought_twice(search_service, tee_skus[0], lamp_skus[0])
    local = InProcessSearchClient(search_service)
    unknown = uuid.uuid4()
    asked = (*ids, lamp, unknown, tee)

    for first in (1, 2, 5):
        similar = await grpc_client.similar(asked, first)
        bought = await grpc_client.bought_together(asked, first)
        assert similar == await local.similar(asked, first), first
        assert bought == await local.bought_together(asked, first), first
        # What they answer is the search's: one entry per product asked (a repeated one once, an
        # unknown one empty), the tees like each other, the lamp bought with the first tee first.
        assert list(similar) == [*ids, lamp, unknown] and similar[unknown] == ()
        assert set(similar[ids[1]]) <= set(ids) - {ids[1]} and len(similar[ids[1]]) == min(first, 2)
        assert bought[tee][0] == lamp and bought[lamp][0] == tee
    assert await grpc_client.similar([], 3) == await local.similar([], 3) == {}


async def test_department_words_are_read_with_the_catalog_over_grpc(
    catalog_service: CatalogService, db: Database, settings: Settings, namespace: str
) -> None:
    # As `mercato serve search` runs: search reads the catalog (its departments) over gRPC, and the
    # gateway reads search over gRPC.
    word = a_word()
    women = await a_category(catalog_service, name="Women")
    # Men sorts the same kinds of product (a "Tops" subcategory each): Women is a department
    await a_category(catalog_service, await a_category(catalog_service, name="Men"))
    jacket, _ = await a_product(
        catalog_service, name=f"{word} Jacket", category_id=await a_category(catalog_service, women)
    )
    catalog_server = GrpcServer([catalog_registration(catalog_service)], secret=settings.auth_secret)
    await catalog_server.start()
    catalog_channel = create_channel(f"127.0.0.1:{catalog_server.port}")
    catalog = GrpcCatalogClient(catalog_channel, service="search", secret=settings.auth_secret)
    service = SearchService(db, catalog, namespace)
    search_server = GrpcServer([registration(service)], secret=settings.auth_secret)
    await search_server.start()
    channel = create_channel(f"127.0.0.1:{search_server.port}")
    try:
        await indexed(service, jacket)
        remote = GrpcSearchClient(channel, service="gateway", secret=settings.auth_secret)
        result = await remote.search(SearchRequest(query=f"women's {word} jacket", mode=SearchMode.LEXICAL))
        assert ("department", "women") in result.interpretation.sources
        roots = {c.id for c in await catalog.categories() if c.parent_id is None and c.name == "Women"}
        assert women in roots and result.interpretation.filter.category_id in roots
        assert jacket in [h.product_id for h in result.hits]
    finally:
        await channel.close()
        await search_server.stop(grace=None)
        await catalog_channel.close()
        await catalog_server.stop(grace=None)


# --- typed errors, identical on both ------------------------------------------------------------


async def test_bad_requests_are_client_errors_naming_their_field(client: SearchClient) -> None:
    cursor = SearchRequest(query="other words").cursor(0)
    cases = [
        (SearchRequest(query="tee", first=0), "first"),
        (SearchRequest(query="tee", first=101), "first"),
        (SearchRequest(query="x" * 201), "query"),
        (SearchRequest(query="tee", after="not-a-cursor"), "after"),
        (SearchRequest(query="tee", after=cursor), "after"),
    ]
    for request, field in cases:
        error = await refusal(client, request)
        assert type(error) is ClientError
        assert error.field == field


async def test_typed_errors_arrive_identical_on_both_clients(
    search_service: SearchService, grpc_client: GrpcSearchClient
) -> None:
    local = InProcessSearchClient(search_service)
    refused = [
        SearchRequest(query="tee", first=0),
        SearchRequest(query="x" * 201),
        SearchRequest(query="tee", after=SearchRequest(query="other").cursor(3)),
    ]
    for request in refused:
        assert described(await refusal(grpc_client, request)) == described(await refusal(local, request))


async def test_recommendations_refuse_the_same_requests_on_both_clients(
    search_service: SearchService, grpc_client: GrpcSearchClient
) -> None:
    local = InProcessSearchClient(search_service)
    refused = [
        ([uuid.uuid4()], 0, "first"),
        ([uuid.uuid4()], 21, "first"),
        ([uuid.uuid4() for _ in range(101)], 8, "productIds"),
    ]
    for ids, first, field in refused:
        for method in ("similar", "bought_together"):
            remote = await refused_by(getattr(grpc_client, method), ids, first)
            assert type(remote) is ClientError and remote.field == field, (method, field)
            assert described(remote) == described(await refused_by(getattr(local, method), ids, first))


async def refused_by(
    ask: Callable[[list[uuid.UUID], int], Awaitable[object]], ids: list[uuid.UUID], first: int
) -> MercatoError:
    with pytest.raises(MercatoError) as caught:
        await ask(ids, first)
    return caught.value


async def test_a_database_that_is_down_is_unavailable_on_both_clients(
    catalog_service: CatalogService, settings: Settings, namespace: str
) -> None:
    # Nothing listens on port 1: every statement fails to connect.
    down = Database("postgresql://postgres@127.0.0.1:1/postgres")
    service = SearchService(down, InProcessCatalogClient(catalog_service), namespace)
    server = GrpcServer([registration(service)], secret=settings.auth_secret)
    await server.start()
    channel = create_channel(f"127.0.0.1:{server.port}")
    try:
        remote = GrpcSearchClient(
            channel, service="gateway", secret=settings.auth_secret, policy=CallPolicy(timeout=1.0)
        )
        fault: BaseException | None = None
        try:
            await InProcessSearchClient(service).search(SearchRequest(query="tee"))
        except Exception as exc:  # noqa: BLE001 - whatever the driver raises is checked below
            fault = exc
        with pytest.raises(Unavailable):
            await remote.search(SearchRequest(query="tee"))
        # The gateway answers the in-process fault as UNAVAILABLE too (platform.faults).
        assert fault is not None and is_unavailable(fault)
    finally:
        await channel.close()
        await server.stop(grace=None)
        await down.dispose()


# --- transport ----------------------------------------------------------------------------------


async def test_a_call_without_a_service_token_is_refused(
    channel: grpc.aio.Channel, settings: Settings
) -> None:
    stub = search_service_pb2_grpc.SearchServiceStub(channel)  # type: ignore[no-untyped-call]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Search(search_service_pb2.SearchRequest(query="tee", first=1), timeout=2)
    assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED
    forged = GrpcSearchClient(channel, service="gateway", secret="x" * 48)
    with pytest.raises(Unauthenticated):
        await forged.search(SearchRequest(query="tee"))


async def test_the_health_service_answers_serving(channel: grpc.aio.Channel) -> None:
    stub = health_pb2_grpc.HealthStub(channel)
    for service in ("", "mercato.search.v1.SearchService"):
        reply = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=2)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


async def test_a_stopped_server_yields_unavailable_within_the_deadline(
    search_service: SearchService, settings: Settings
) -> None:
    server = GrpcServer([registration(search_service)], secret=settings.auth_secret)
    await server.start()
    await server.stop(grace=None)
    channel = create_channel(f"127.0.0.1:{server.port}")
    try:
        client = GrpcSearchClient(
            channel, service="gateway", secret=settings.auth_secret, policy=CallPolicy(timeout=0.5)
        )
        # The guard only stops a hang: a search is retried, but never past its 0.5 s deadline.
        async with asyncio.timeout(2):
            with pytest.raises(Unavailable):
                await client.search(SearchRequest(query="tee"))
            with pytest.raises(Unavailable):
                await client.similar([uuid.uuid4()])
            with pytest.raises(Unavailable):
                await client.bought_together([uuid.uuid4()])
    finally:
        await channel.close()
