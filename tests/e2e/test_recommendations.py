"""Recommendations through the public GraphQL API, in the single process: `boughtTogether` learns
from confirmed orders (the search context consuming their confirmations), `similar` fills in, and a
listing asking both for every product costs the same statements for 1 or 6 products.

In process only: search is not served over gRPC yet (docs/search.md)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from starlette.types import ASGIApp

from mercato.app.runtime import Runtime
from mercato.gateway.app import create_app
from mercato.platform.config import Settings
from tests.conftest import ref
from tests.e2e.api_client import GraphQLClient
from tests.e2e.test_checkout import checkout, shopper
from tests.e2e.test_search import a_word
from tests.e2e.test_stock import ADJUST, create_warehouse
from tests.e2e.test_storefront import create_category, create_product, eventually

RECOMMENDED = """
query($category: ID!, $first: Int!) {
  products(first: $first, filter: {category: $category}) {
    edges { node {
      name
      boughtTogether(first: 2) { name variants { sku inStock } }
      similar(first: 2) { name category { slug } }
    } }
  }
}"""
# Without stock fields: the availability of a page's SKUs is loaded once per request and kept, so
# recommended products that are also on the page (all of them at 6) cost no second load.
RECOMMENDED_LISTING = """
query($category: ID!, $first: Int!) {
  products(first: $first, filter: {category: $category}) {
    edges { node { name boughtTogether(first: 2) { name } similar(first: 2) { name category { slug } } } }
  }
}"""
ADD_LINES = """
mutation($id: ID!, $lines: [CartLineInput!]!) {
  cartLinesAdd(cartId: $id, lines: $lines) { errors { code } }
}"""


@pytest.fixture(scope="module")
def shop(settings: Settings, runtime: Runtime) -> ASGIApp:
    return create_app(settings, runtime)


async def recommended(api: GraphQLClient, category: str, first: int = 10) -> dict[str, Any]:
    data = await api.data(RECOMMENDED, {"category": category, "first": first})
    return {e["node"]["name"]: e["node"] for e in data["products"]["edges"]}


def names(products: list[dict[str, Any]]) -> list[str]:
    return [p["name"] for p in products]


async def stocked(api: GraphQLClient, category: str, name: str, warehouse: str) -> tuple[str, str]:
    """A product of one variant with 10 units; returns (product id, SKU)."""
    product = await create_product(api, category, name, ["30.00"])
    sku: str = product["variants"][0]["sku"]
    adjust = {"sku": sku, "warehouseId": warehouse, "reason": "RECEIVED", "delta": 10}
    await api.mutate(ADJUST, {"input": adjust}, "stockAdjust")
    return product["id"], sku


async def orders_together(runtime: Runtime, a: str, b: str) -> int:
    async with runtime.db.connect() as conn:
        found = await conn.execute(
            text("SELECT orders FROM search.co_purchases WHERE product_id = :a AND other_id = :b"),
            {"a": uuid.UUID(a), "b": uuid.UUID(b)},
        )
        return int(found.scalar() or 0)


async def test_bought_together_follows_confirmed_orders_and_similar_fills_in(
    inprocess_api: GraphQLClient, shop: ASGIApp, clients: list[httpx.AsyncClient], runtime: Runtime
) -> None:
    # Given three products of one category sharing a word, in stock
    api, word = inprocess_api, a_word().title()
    category = await create_category(api)
    warehouse = (await create_warehouse(api))["id"]
    tent, lamp, stove = f"{word} Tent", f"{word} Lamp", f"{word} Stove"
    (tent_id, tent_sku), (lamp_id, lamp_sku), _ = [
        await stocked(api, category, name, warehouse) for name in (tent, lamp, stove)
    ]
    # When a shopper buys the tent and the lamp together, in two orders
    customer = await shopper(shop, clients)
    for _ in range(2):
        cart = await customer.mutate(
            "mutation { cartCreate { cart { id } errors { code } } }", {}, "cartCreate"
        )
        lines = [{"sku": tent_sku, "quantity": 1}, {"sku": lamp_sku, "quantity": 1}]
        await customer.mutate(ADD_LINES, {"id": cart["cart"]["id"], "lines": lines}, "cartLinesAdd")
        result = await checkout(customer, cart["cart"]["id"], "tok_success", ref("checkout"))
        # Confirmed now or soon (a loaded machine's saga may outlast the request's wait): the counts
        # below are only reached from both confirmations
        assert result["errors"] == [] and result["order"]["status"] != "REJECTED"

    async def counted() -> bool:
        # Both confirmations counted, every product indexed (the stove's similar products too), and
        # the catalog's availability read model caught up with the stock (it is eventually consistent:
        # its consumer fetches every 2 s)
        found = await recommended(api, category)
        indexed = len(found) == 3 and all(len(p["similar"]) == 2 for p in found.values())
        bought = [r for p in found.values() for r in p["boughtTogether"]]
        in_stock = all(v["inStock"] for r in bought for v in r["variants"])
        return indexed and in_stock and await orders_together(runtime, tent_id, lamp_id) == 2

    await eventually(counted, within=30.0)
    found = await recommended(api, category)
    # Then each is bought with the other first, the stove (never bought with them) filling in as a
    # similar product; the stove, bought with nothing, gets its similar products
    assert names(found[tent]["boughtTogether"]) == [lamp, stove]
    assert names(found[lamp]["boughtTogether"]) == [tent, stove]
    assert sorted(names(found[stove]["boughtTogether"])) == sorted([tent, lamp])
    assert found[tent]["boughtTogether"][0]["variants"] == [{"sku": lamp_sku, "inStock": True}]
    # and similar products never name the product itself
    assert sorted(names(found[tent]["similar"])) == sorted([lamp, stove])


async def test_a_listing_with_recommendations_costs_the_same_sql_for_1_or_6_products(
    inprocess_api: GraphQLClient, runtime: Runtime
) -> None:
    api, word = inprocess_api, a_word().title()
    category = await create_category(api)
    for i in range(6):
        await create_product(api, category, f"{word} Item {i}", ["10.00"])

    async def indexed() -> bool:
        found = await recommended(api, category)
        return len(found) == 6 and all(len(p["similar"]) == 2 for p in found.values())

    await eventually(indexed, within=30.0)
    counts = []
    for first in (1, 6):
        await runtime.catalog.queries.invalidate()  # a cold cache: every loader really hits the database
        with runtime.db.count_statements() as counter:
            data = await api.data(RECOMMENDED_LISTING, {"category": category, "first": first})
        assert len(data["products"]["edges"]) == first
        counts.append(counter.count)
    # the page (products with their variants), categories; bought together (pairs, then the similar
    # fill: words, candidates); similar (words, candidates); the recommended products (products with
    # their variants): one batch each, whatever the page's size
    assert counts == [8, 8]
