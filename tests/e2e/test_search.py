"""Search through the public GraphQL API: products created by staff become searchable through the
catalog's events, ranked by relevance, typos corrected, with facets and the query's interpretation.

In both topologies (the gateway's search client in process, and over gRPC); its own process in
tests/e2e/processes/test_distributed_processes.py."""

from __future__ import annotations

import random
import string
from typing import Any

from tests.e2e.api_client import GraphQLClient
from tests.e2e.test_storefront import create_category, create_product, eventually

SEARCH_PRODUCTS = """
query($search: String!, $first: Int!, $after: String) {
  products(first: $first, after: $after, filter: {search: $search}) {
    edges { cursor node { name variants { sku } } }
    pageInfo { hasNextPage endCursor }
  }
}"""
SEARCH = """
query($query: String!) {
  search(query: $query, first: 5) {
    products { edges { node { name } } }
    facets {
      categories { name count }
      priceRanges { start { amount } stop { amount } count }
      attributes { name values { value count } }
      counted
    }
    interpretation {
      text corrections { typed searched } filters { kind words } priceMax { amount currency }
    }
    semantic
  }
}"""


def a_word() -> str:
    return "".join(random.choices(string.ascii_lowercase, k=9))


async def names(api: GraphQLClient, search: str, first: int = 10) -> list[str]:
    data = await api.data(SEARCH_PRODUCTS, {"search": search, "first": first})
    return [e["node"]["name"] for e in data["products"]["edges"]]


async def test_products_search_ranks_by_relevance_corrects_typos_and_keeps_skus(
    api: GraphQLClient,
) -> None:
    word = a_word()
    category = await create_category(api)
    jacket = await create_product(api, category, f"{word.title()} Rain Jacket", ["80.00"])
    await create_product(api, category, f"{word.title()} Running Tee", ["20.00"])

    async def indexed() -> bool:
        return len(await names(api, word)) == 2

    await eventually(indexed)
    # Any word may match (the old word match required "jakcet" too), the typo is corrected and the
    # product with both words comes first.
    data = await api.data(SEARCH_PRODUCTS, {"search": f"{word} jakcet", "first": 10})
    first = data["products"]["edges"][0]["node"]
    assert first == {
        "name": f"{word.title()} Rain Jacket",
        "variants": [{"sku": jacket["variants"][0]["sku"]}],
    }
    # Other tests' jackets match "jacket" alone: the rarer word ranks the tee above them.
    assert data["products"]["edges"][1]["node"]["name"] == f"{word.title()} Running Tee"


async def test_relevance_pages_follow_their_cursors(api: GraphQLClient) -> None:
    word = a_word()
    category = await create_category(api)
    for i in range(3):
        await create_product(api, category, f"{word.title()} Bag {i}", ["30.00"])

    async def indexed() -> bool:
        return len(await names(api, word)) == 3

    await eventually(indexed)
    seen: list[str] = []
    after: Any = None
    while True:
        data = await api.data(SEARCH_PRODUCTS, {"search": word, "first": 2, "after": after})
        seen += [e["node"]["name"] for e in data["products"]["edges"]]
        if not data["products"]["pageInfo"]["hasNextPage"]:
            break
        after = data["products"]["pageInfo"]["endCursor"]
    assert sorted(seen) == sorted(f"{word.title()} Bag {i}" for i in range(3))


async def test_search_answers_results_facets_and_interpretation_in_one_round_trip(
    api: GraphQLClient,
) -> None:
    word = a_word()
    category = await create_category(api)
    await create_product(api, category, f"{word.title()} Shell", ["80.00"])
    await create_product(api, category, f"{word.title()} Fleece", ["15.00"])

    async def indexed() -> bool:
        return len(await names(api, word)) == 2

    await eventually(indexed)
    result = (await api.data(SEARCH, {"query": f"{word} under $20"}))["search"]

    assert [e["node"]["name"] for e in result["products"]["edges"]] == [
        f"{word.title()} Fleece",
        f"{word.title()} Shell",
    ]
    assert result["interpretation"]["filters"] == [{"kind": "price_max", "words": "under $20"}]
    assert result["interpretation"]["priceMax"] == {"amount": "20.00", "currency": "USD"}
    assert result["interpretation"]["text"] == word
    assert result["facets"]["counted"] == 2
    assert result["facets"]["categories"] == [{"name": "Jackets", "count": 2}]
    assert result["facets"]["priceRanges"] == [
        {"start": {"amount": "0.00"}, "stop": {"amount": "25.00"}, "count": 1},
        {"start": {"amount": "50.00"}, "stop": {"amount": "100.00"}, "count": 1},
    ]
    assert result["facets"]["attributes"] == [{"name": "size", "values": [{"value": "M", "count": 2}]}]


async def test_a_listing_cursor_is_refused_by_a_relevance_search_with_the_listings_code(
    api: GraphQLClient,
) -> None:
    listing = await api.data("{ products(first: 1) { pageInfo { endCursor } } }")
    cursor = listing["products"]["pageInfo"]["endCursor"]

    response = await api.execute(SEARCH_PRODUCTS, {"search": "jacket", "first": 2, "after": cursor})

    assert response["data"] is None
    assert [e["extensions"]["code"] for e in response["errors"]] == ["INVALID_CURSOR"]
