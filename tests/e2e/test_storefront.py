"""Storefront browsing and staff catalog edits through the public GraphQL API."""

from __future__ import annotations

import asyncio
from typing import Any

from mercato.app.runtime import Runtime
from tests.conftest import ref
from tests.e2e.api_client import GraphQLClient

CREATE_CATEGORY = """
mutation($input: CategoryCreateInput!) {
  categoryCreate(input: $input) { category { id slug } errors { field code message } }
}"""
CREATE_PRODUCT = """
mutation($input: ProductCreateInput!) {
  productCreate(input: $input) {
    product { id slug name published variants { id sku price { amount currency } } }
    errors { field code message }
  }
}"""
UPDATE_PRODUCT = """
mutation($id: ID!, $input: ProductUpdateInput!) {
  productUpdate(id: $id, input: $input) { product { id name } errors { field code message } }
}"""
LISTING = """
query($first: Int!, $after: String, $filter: ProductFilterInput, $sortBy: ProductSortInput) {
  products(first: $first, after: $after, filter: $filter, sortBy: $sortBy) {
    edges {
      cursor
      node {
        name slug category { slug }
        variants { sku quantityAvailable inStock price { amount currency } }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}"""


async def create_category(api: GraphQLClient) -> str:
    result = await api.mutate(
        CREATE_CATEGORY, {"input": {"slug": ref("c"), "name": "Jackets"}}, "categoryCreate"
    )
    category_id: str = result["category"]["id"]
    return category_id


async def create_product(api: GraphQLClient, category: str, name: str, prices: list[str]) -> dict[str, Any]:
    slug = ref("p")
    variables = {
        "input": {
            "slug": slug,
            "name": name,
            "categoryId": category,
            "published": True,
            "variants": [
                {
                    "sku": f"{slug}-{i}".upper(),
                    "price": {"amount": price, "currency": "USD"},
                    "attributes": {"size": "M"},
                }
                for i, price in enumerate(prices)
            ],
        }
    }
    product: dict[str, Any] = (await api.mutate(CREATE_PRODUCT, variables, "productCreate"))["product"]
    return product


async def eventually(check: Any, within: float = 10.0) -> None:
    """Poll `check` until it returns truthy: events travel through NATS before caches drop."""
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def test_a_staff_created_product_is_listed_with_prices_as_decimal_strings(api: GraphQLClient) -> None:
    category = await create_category(api)
    created = await create_product(api, category, "Alpine Shell", ["129.00", "99.50"])
    assert [v["price"] for v in created["variants"]] == [
        {"amount": "129.00", "currency": "USD"},
        {"amount": "99.50", "currency": "USD"},
    ]

    async def listed() -> bool:
        data = await api.data(LISTING, {"first": 5, "filter": {"category": category}})
        return [e["node"]["name"] for e in data["products"]["edges"]] == ["Alpine Shell"]

    await eventually(listed)
    product = await api.data(
        "query($slug: String!) { product(slug: $slug) { name } }", {"slug": created["slug"]}
    )
    assert product == {"product": {"name": "Alpine Shell"}}


async def test_pages_follow_cursors_to_the_end(api: GraphQLClient) -> None:
    category = await create_category(api)
    names = sorted(f"{letter} {ref()}" for letter in "DBCAE")
    for name in names:
        await create_product(api, category, name, ["10.00"])

    async def all_names() -> list[str]:
        seen, after = [], None
        while True:
            data = await api.data(LISTING, {"first": 2, "after": after, "filter": {"category": category}})
            seen += [e["node"]["name"] for e in data["products"]["edges"]]
            if not data["products"]["pageInfo"]["hasNextPage"]:
                return seen
            after = data["products"]["pageInfo"]["endCursor"]

    async def complete() -> bool:
        return await all_names() == names

    await eventually(complete)


async def test_an_update_reaches_cached_pages_through_events(api: GraphQLClient) -> None:
    category = await create_category(api)
    created = await create_product(api, category, "Old name", ["5.00"])
    query = "query($slug: String!) { product(slug: $slug) { name } }"

    async def shows(name: str) -> bool:
        data = await api.data(query, {"slug": created["slug"]})
        return data["product"] is not None and data["product"]["name"] == name

    await eventually(lambda: shows("Old name"))
    await api.mutate(UPDATE_PRODUCT, {"id": created["id"], "input": {"name": "New name"}}, "productUpdate")
    await eventually(lambda: shows("New name"))


async def test_a_listing_page_costs_the_same_sql_for_1_or_20_products(
    inprocess_api: GraphQLClient, runtime: Runtime
) -> None:
    api = inprocess_api
    category = await create_category(api)
    for i in range(22):
        await create_product(api, category, f"Item {i:02d}", ["1.00", "2.00", "3.00"])

    async def search_caught_up() -> bool:
        # Search indexes these products from their events and reads categories as it does, which
        # would refill the cache this test empties: measure once it is done.
        lags = [await c.pending() for c in runtime.consumers if c.durable.endswith("_search_products")]
        return lags == [0]

    await eventually(search_caught_up, within=30.0)
    counts = []
    for first in (1, 20):
        await runtime.catalog.queries.invalidate()  # a cold cache: every loader really hits the database
        with runtime.db.count_statements() as counter:
            data = await api.data(LISTING, {"first": first, "filter": {"category": category}})
        assert len(data["products"]["edges"]) == first
        counts.append(counter.count)
    # products with their categories and their variants, with every SKU's units available (the
    # catalog's read model), in one statement: no call to the inventory
    assert counts == [1, 1]


async def test_price_and_stock_filters(api: GraphQLClient) -> None:
    category = await create_category(api)
    await create_product(api, category, "Cheap", ["5.00"])
    await create_product(api, category, "Dear", ["500.00"])

    async def names(**filters: Any) -> list[str]:
        data = await api.data(LISTING, {"first": 10, "filter": {"category": category, **filters}})
        return [e["node"]["name"] for e in data["products"]["edges"]]

    async def both_listed() -> bool:
        return await names() == ["Cheap", "Dear"]

    await eventually(both_listed)
    assert await names(priceMin="10.00") == ["Dear"]
    assert await names(priceMax="10") == ["Cheap"]
    assert await names(inStock=True) == []  # nothing was stocked yet
    assert await names(inStock=False) == ["Cheap", "Dear"]


async def test_health_and_readiness(api: GraphQLClient) -> None:
    assert (await api.http.get("/healthz")).json() == {"status": "ok"}
    ready = await api.http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "ready": True,
        "checks": {"postgres": True, "redis": True, "nats": True, "background": True, "steady": True},
    }
