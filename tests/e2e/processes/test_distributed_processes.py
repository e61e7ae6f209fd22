"""The distributed topology for real: one operating-system process per context plus the gateway.

The launcher behind `mercato up` starts `mercato serve <context>` seven times and `mercato serve gateway`,
in an installation of their own (database, NATS and Redis namespace) so no other test's consumers or
relays can do their work. The storefront runs through the gateway's HTTP port and gRPC between the
processes; then contexts are killed with SIGKILL: what needs them fails with a typed UNAVAILABLE error,
the rest keeps serving, and a restarted process picks up the events that waited for it.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from mercato.app.launcher import CONTEXTS, GATEWAY, Launcher
from mercato.app.runtime import Runtime
from mercato.app.service_process import LIVENESS
from mercato.app.topology import health_status
from mercato.gateway.app import create_app
from mercato.platform.config import Settings
from mercato.platform.grpc.client import create_channel
from tests.e2e.api_client import GraphQLClient
from tests.e2e.processes.topology import launched
from tests.e2e.test_checkout import ADDRESS, CHECKOUT, STOCK, cart_with, stocked_sku
from tests.e2e.test_search import SEARCH, SEARCH_PRODUCTS, a_word
from tests.e2e.test_storefront import create_category, create_product
from tests.pki import make_pki

PRODUCTS = "{ products(first: 3) { edges { node { name } } } }"
ORDER = "query($id: ID!) { order(id: $id) { status total { amount currency } } }"


async def checkout(shopper: GraphQLClient, sku: str, quantity: int) -> dict[str, Any]:
    cart = await cart_with(shopper, sku, quantity)
    variables = {"cart": cart, "token": "tok_success", "address": ADDRESS, "key": str(uuid.uuid4())}
    result = await shopper.mutate(CHECKOUT, variables, "checkoutComplete")
    order: dict[str, Any] = result["order"]
    return order


async def order_status(shopper: GraphQLClient, order_id: str, wanted: str, within: float = 30.0) -> str:
    status = ""
    for _ in range(int(within / 0.2)):
        status = (await shopper.data(ORDER, {"id": order_id}))["order"]["status"]
        if status == wanted:
            break
        await asyncio.sleep(0.2)
    return status


async def gateway_sees(http: httpx.AsyncClient, context: str, within: float = 30.0) -> None:
    """Wait until the gateway's own channel reaches `context` again (it reconnects with a backoff of up
    to two seconds, and calls made before that fail fast with UNAVAILABLE)."""
    for _ in range(int(within / 0.2)):
        if (await http.get("/readyz")).json()["upstreams"][context] == "SERVING":
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"the gateway does not reach {context} again")


async def cart_once_it_sees_the_catalog(
    shopper: GraphQLClient, sku: str, quantity: int, within: float = 30.0
) -> str:
    """A cart holding `sku`, once the cart process reaches the restarted catalog again: its own channel
    reconnects on its own backoff, after the gateway's (until then a typed UNAVAILABLE, retried here)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        try:
            return await cart_with(shopper, sku, quantity)
        except AssertionError as refused:
            if "catalog is unavailable" not in str(refused) or loop.time() >= deadline:
                raise
        await asyncio.sleep(0.5)


def error_codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors", [])]


async def test_the_storefront_runs_through_one_process_per_context(
    launcher: Launcher, staff: GraphQLClient, shopper: GraphQLClient
) -> None:
    assert all(launcher.pid(name) for name in (*CONTEXTS, GATEWAY))
    assert len({launcher.pid(name) for name in (*CONTEXTS, GATEWAY)}) == len(CONTEXTS) + 1
    channel = create_channel(launcher.address("orders"))
    try:  # what the kubelet's probes ask
        for service in ("", "mercato.orders.v1.OrdersService", LIVENESS):
            assert await health_status(channel, service) == "SERVING", service
    finally:
        await channel.close()

    sku = await stocked_sku(staff, units=5, price="12.50")
    order = await checkout(shopper, sku, 2)

    assert order["status"] == "CONFIRMED", order
    assert order["total"] == {"amount": "25.00", "currency": "USD"}
    [stock] = (await staff.data(STOCK, {"sku": sku}))["stockLevels"]
    assert stock == {"onHand": 3, "reserved": 0, "available": 3}


async def test_every_process_exports_its_metrics(launcher: Launcher, http: httpx.AsyncClient) -> None:
    await http.post("/graphql", json={"query": PRODUCTS})
    gateway = (await http.get("/metrics")).text
    assert "mercato_http_requests_in_flight 0.0" in gateway
    assert 'mercato_http_requests_total{method="POST",path="/graphql",status="200"}' in gateway

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{launcher.ports['catalog'].http}") as catalog:
        exported = (await catalog.get("/metrics")).text
    assert 'service="mercato.catalog.v1.CatalogService"' in exported
    assert 'code="OK"' in exported
    assert "mercato_grpc_requests_in_flight 0.0" in exported
    assert 'mercato_consumer_pending_messages{consumer="' in exported
    assert 'mercato_outbox_pending_events{context="catalog"}' in exported


RECOMMENDED = """
query($search: String!) {
  products(first: 10, filter: {search: $search}) {
    edges { node { name similar(first: 2) { name } boughtTogether(first: 2) { name } } }
  }
}"""


async def test_search_runs_in_its_own_process_and_ranks_as_the_single_process_does(
    installation: Settings, http: httpx.AsyncClient, staff: GraphQLClient
) -> None:
    """Products created through the gateway reach the search process through the catalog's events (it
    re-reads them from the catalog over gRPC); the gateway asks it over gRPC. The single process,
    on the same database, answers the very same pages, facets, interpretation and recommendations."""
    await gateway_sees(http, "search")
    word = a_word()
    category = await create_category(staff)
    await create_product(staff, category, f"{word.title()} Rain Jacket", ["80.00"])
    await create_product(staff, category, f"{word.title()} Running Tee", ["30.00"])
    await create_product(staff, category, f"{word.title()} Fleece", ["15.00"])
    searches = [
        (SEARCH_PRODUCTS, {"search": f"{word} jakcet", "first": 2}),
        (SEARCH_PRODUCTS, {"search": word, "first": 10}),
        (SEARCH, {"query": f"{word} under $20"}),
        (RECOMMENDED, {"search": word}),
    ]
    for _ in range(150):  # indexed within seconds of the events; generous for a loaded machine
        found = await staff.data(SEARCH_PRODUCTS, {"search": word, "first": 10})
        if len(found["products"]["edges"]) == 3:
            break
        await asyncio.sleep(0.2)
    distributed = [await staff.data(query, variables) for query, variables in searches]

    # The single process on the same installation, its response cache off (nothing served from the
    # distributed gateway's cache), its background work not started: it reads the same index.
    runtime = Runtime(installation.model_copy(update={"cache_enabled": False}))
    try:
        transport = httpx.ASGITransport(app=create_app(runtime.settings, runtime))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://mercato.test", headers=dict(staff.http.headers)
        ) as single_http:
            single = [await GraphQLClient(single_http).data(q, v) for q, v in searches]
    finally:
        await runtime.stop()

    assert distributed == single
    jakcet, by_word, under_20, recommended = distributed
    # Recommendations over gRPC too: each product's similar ones are the two others (same category,
    # a shared word); nothing bought yet, so "bought together" is that similar list.
    for edge in recommended["products"]["edges"]:
        node = edge["node"]
        assert len(node["similar"]) == 2 and node["name"] not in {p["name"] for p in node["similar"]}
        assert node["boughtTogether"] == node["similar"]
    # The typo corrected, the product with both words first (any word may match: a next page).
    assert jakcet["products"]["edges"][0]["node"]["name"] == f"{word.title()} Rain Jacket"
    assert jakcet["products"]["pageInfo"]["hasNextPage"] is True
    assert len(by_word["products"]["edges"]) == 3
    result = under_20["search"]
    names = [e["node"]["name"] for e in result["products"]["edges"]]
    assert names[0] == f"{word.title()} Fleece"  # what the words' filter reads comes first
    assert {f"{word.title()} {n}" for n in ("Rain Jacket", "Running Tee")} <= set(names)
    assert result["interpretation"]["filters"] == [{"kind": "price_max", "words": "under $20"}]
    assert result["interpretation"]["corrections"] == []
    assert result["facets"]["counted"] == 3
    assert result["facets"]["categories"] == [{"name": "Jackets", "count": 3}]
    assert result["facets"]["priceRanges"] == [
        {"start": {"amount": "0.00"}, "stop": {"amount": "25.00"}, "count": 1},
        {"start": {"amount": "25.00"}, "stop": {"amount": "50.00"}, "count": 1},
        {"start": {"amount": "50.00"}, "stop": {"amount": "100.00"}, "count": 1},
    ]


async def test_a_killed_context_is_a_typed_unavailable_error_and_its_restart_loses_nothing(
    launcher: Launcher, http: httpx.AsyncClient, staff: GraphQLClient, shopper: GraphQLClient
) -> None:
    # The catalog goes down: listing products fails with UNAVAILABLE; the customers context still answers.
    # (Signed in: anonymous listings may be answered from the gateway's response cache, which is the point
    # of it, but not what is tested here.)
    launcher.kill("catalog")
    listing = await staff.execute(PRODUCTS)
    assert error_codes(listing) == ["UNAVAILABLE"], listing
    me = await shopper.data("{ me { email } }")
    assert me["me"]["email"].startswith("shopper-")
    ready = (await http.get("/readyz")).json()
    assert ready["ready"] is True and ready["upstreams"]["catalog"] == "UNREACHABLE", ready

    launcher.spawn("catalog")
    await launcher.wait_serving(["catalog"], within=60)
    await gateway_sees(http, "catalog")
    listing = await staff.execute(PRODUCTS)
    assert "errors" not in listing, listing

    # Payments is down at checkout: the token cannot be vaulted, so nothing is placed or reserved, and
    # the shopper gets a typed UNAVAILABLE (the token never goes anywhere else, docs/security.md).
    sku = await stocked_sku(staff, units=4, price="10.00")
    launcher.kill("payments")
    cart = await cart_once_it_sees_the_catalog(shopper, sku, 3)
    variables = {"cart": cart, "token": "tok_success", "address": ADDRESS, "key": str(uuid.uuid4())}
    refused = await shopper.execute(CHECKOUT, variables)
    assert error_codes(refused) == ["UNAVAILABLE"], refused
    [stock] = (await staff.data(STOCK, {"sku": sku}))["stockLevels"]
    assert stock == {"onHand": 4, "reserved": 0, "available": 4}

    # Restarted, the same checkout (same key) goes through.
    launcher.spawn("payments")
    await launcher.wait_serving(["payments"], within=60)
    await gateway_sees(http, "payments")
    order = (await shopper.mutate(CHECKOUT, variables, "checkoutComplete"))["order"]
    assert await order_status(shopper, order["id"], "CONFIRMED") == "CONFIRMED"
    [stock] = (await staff.data(STOCK, {"sku": sku}))["stockLevels"]
    assert stock == {"onHand": 1, "reserved": 0, "available": 1}


async def test_the_processes_talk_over_mutual_tls_when_given_certificates(
    installation: Settings, staff: GraphQLClient, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A second set of processes on the same installation (replicas, as far as the events go), with
    MERCATO_GRPC_TLS_*: the gateway and the cart reach their upstreams over mutual TLS; plaintext is
    refused."""
    pki = make_pki(tmp_path_factory.mktemp("pki"))
    cert, key = pki.server
    settings = installation.model_copy(
        update={"grpc_tls_cert_file": cert, "grpc_tls_key_file": key, "grpc_tls_ca_file": pki.ca}
    )
    async with launched(settings, tmp_path_factory.mktemp("tls-logs")) as topology:
        sku = await stocked_sku(staff, units=2, price="7.00")
        gateway = f"http://127.0.0.1:{topology.ports[GATEWAY].http}"
        async with httpx.AsyncClient(base_url=gateway, timeout=30) as http:
            shopper = GraphQLClient(http)
            cart = await cart_with(shopper, sku, 2)  # gateway -> cart -> catalog, each hop over TLS
            body = await shopper.data(
                "query($id: ID!) { cart(id: $id) { lines { sku quantity } total { amount } } }",
                {"id": cart},
            )
        assert body["cart"]["lines"] == [{"sku": sku, "quantity": 2}]
        assert body["cart"]["total"]["amount"] == "14.00"
        plaintext = create_channel(topology.address("catalog"))
        try:
            assert await health_status(plaintext) == "UNREACHABLE"
        finally:
            await plaintext.close()
