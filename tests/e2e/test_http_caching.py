"""CDN-friendly HTTP on both topologies: persisted queries over GET, ETags and 304s, Cache-Control
only on anonymous catalog responses, and the purge keys a product update sends."""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

import httpx
import pytest

from mercato.gateway.persisted_queries import HASH_MISMATCH, NOT_FOUND
from tests.conftest import ref
from tests.e2e.api_client import GraphQLClient
from tests.e2e.test_storefront import UPDATE_PRODUCT, create_category, create_product, eventually

PRODUCT = "query($slug: String!) { product(slug: $slug) { id name variants { sku price { amount } } } }"
WITH_STOCK = "query($slug: String!) { product(slug: $slug) { name variants { quantityAvailable } } }"
CATEGORY_CREATE = (
    "mutation($input: CategoryCreateInput!) { categoryCreate(input: $input) { errors { code } } }"
)


def sha256(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


def persisted(digest: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": digest}}


async def get(
    http: httpx.AsyncClient,
    query: str | None = None,
    variables: dict[str, Any] | None = None,
    extensions: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    params = {}
    if query is not None:
        params["query"] = query
    if variables is not None:
        params["variables"] = json.dumps(variables)
    if extensions is not None:
        params["extensions"] = json.dumps(extensions)
    return await http.get("/graphql", params=params, headers=headers or {})


def error_code(response: httpx.Response) -> str:
    code: str = response.json()["errors"][0]["extensions"]["code"]
    return code


async def new_product(api: GraphQLClient, anon_api: GraphQLClient) -> dict[str, Any]:
    created = await create_product(api, await create_category(api), "Edge jacket", ["40.00"])

    async def listed() -> bool:
        return (await anon_api.data(PRODUCT, {"slug": created["slug"]}))["product"] is not None

    await eventually(listed)
    return created


async def test_a_persisted_query_is_registered_once_and_then_answered_by_its_hash_over_get(
    api: GraphQLClient, anon_api: GraphQLClient
) -> None:
    created = await new_product(api, anon_api)
    variables = {"slug": created["slug"]}
    query = f"{PRODUCT} # {ref()}"  # a document of this test alone: never registered before
    digest = sha256(query)

    unknown = await get(anon_api.http, variables=variables, extensions=persisted(digest))
    assert unknown.status_code == 404
    assert unknown.json() == {
        "errors": [{"message": "PersistedQueryNotFound", "extensions": {"code": NOT_FOUND}}]
    }
    assert unknown.headers["cache-control"] == "no-store"

    registered = await anon_api.http.post(
        "/graphql", json={"query": query, "variables": variables, "extensions": persisted(digest)}
    )
    assert registered.status_code == 200
    assert registered.json()["data"]["product"]["id"] == created["id"]

    by_hash = await get(anon_api.http, variables=variables, extensions=persisted(digest))
    assert by_hash.status_code == 200
    assert by_hash.json() == registered.json()
    assert by_hash.headers["cache-control"].startswith("public, max-age=")


async def test_a_get_carrying_the_query_and_its_hash_registers_it_and_a_wrong_hash_is_refused(
    api: GraphQLClient, anon_api: GraphQLClient
) -> None:
    created = await new_product(api, anon_api)
    variables = {"slug": created["slug"]}
    query = f"{PRODUCT} # {ref()}"
    wrong = sha256(query + "#")

    mismatch = await get(anon_api.http, query, variables, persisted(wrong))
    assert mismatch.status_code == 400
    assert error_code(mismatch) == HASH_MISMATCH
    assert (await get(anon_api.http, variables=variables, extensions=persisted(wrong))).status_code == 404

    first = await get(anon_api.http, query, variables, persisted(sha256(query)))
    again = await get(anon_api.http, variables=variables, extensions=persisted(sha256(query)))
    assert first.status_code == again.status_code == 200
    assert again.json()["data"]["product"]["id"] == created["id"]


async def test_a_mutation_over_get_is_refused_and_changes_nothing(
    api: GraphQLClient, anon_api: GraphQLClient
) -> None:
    slug = ref("c")
    variables = {"input": {"slug": slug, "name": "Never"}}
    for http in (anon_api.http, api.http):
        refused = await get(http, CATEGORY_CREATE, variables)
        assert refused.status_code == 405
        assert error_code(refused) == "METHOD_NOT_ALLOWED"
        assert refused.headers["allow"] == "POST"
    query = CATEGORY_CREATE + " "
    by_hash = await get(api.http, query, variables, persisted(sha256(query)))
    assert by_hash.status_code == 405

    categories = await anon_api.data("{ categories { slug } }")
    assert slug not in [c["slug"] for c in categories["categories"]]


async def test_a_get_answers_304_to_its_etag_until_the_product_changes(
    api: GraphQLClient, anon_api: GraphQLClient
) -> None:
    created = await new_product(api, anon_api)
    variables = {"slug": created["slug"]}
    first = await get(anon_api.http, PRODUCT, variables)
    etag = first.headers["etag"]
    assert etag.startswith('"') and not etag.startswith("W/")

    revalidated = await get(anon_api.http, PRODUCT, variables, headers={"If-None-Match": etag})
    assert revalidated.status_code == 304
    assert revalidated.content == b""
    assert revalidated.headers["etag"] == etag
    assert revalidated.headers["cache-control"] == first.headers["cache-control"]

    await api.mutate(UPDATE_PRODUCT, {"id": created["id"], "input": {"name": "Renamed"}}, "productUpdate")

    async def changed() -> bool:
        response = await get(anon_api.http, PRODUCT, variables, headers={"If-None-Match": etag})
        return response.status_code == 200 and response.json()["data"]["product"]["name"] == "Renamed"

    await eventually(changed)
    fresh = await get(anon_api.http, PRODUCT, variables)
    assert fresh.headers["etag"] != etag


async def test_only_anonymous_catalog_responses_may_be_kept_by_shared_caches(
    api: GraphQLClient, anon_api: GraphQLClient
) -> None:
    created = await new_product(api, anon_api)
    variables = {"slug": created["slug"]}

    public = await get(anon_api.http, PRODUCT, variables)
    assert public.headers["cache-control"] == "public, max-age=60, stale-while-revalidate=30"
    assert public.headers["vary"] == "Authorization"
    keys = public.headers["surrogate-key"].split()
    assert f"product:{created['id']}" in keys
    assert "catalog" in keys
    posted = await anon_api.raw(PRODUCT, variables)
    assert posted.headers["etag"] == public.headers["etag"]

    private = [
        await get(anon_api.http, WITH_STOCK, variables),  # stock
        await get(api.http, PRODUCT, variables),  # signed in
        await api.raw(PRODUCT, variables),
        await get(anon_api.http, 'query { products(first: 1, after: "nonsense") { edges { cursor } } }'),
        await anon_api.raw(CATEGORY_CREATE, {"input": {"slug": ref("c"), "name": "Refused"}}),
    ]
    for response in private:
        assert response.headers["cache-control"] == "no-store"
        assert "etag" not in response.headers
        assert "surrogate-key" not in response.headers


async def test_a_product_update_purges_its_key_and_the_lists(
    api: GraphQLClient, anon_api: GraphQLClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="mercato.platform.cdn")
    created = await new_product(api, anon_api)

    await api.mutate(UPDATE_PRODUCT, {"id": created["id"], "input": {"name": "Purged"}}, "productUpdate")

    async def purged() -> bool:
        return any(
            f"product:{created['id']} listings" in record.getMessage()
            for record in caplog.records
            if record.name == "mercato.platform.cdn"
        )

    await eventually(purged)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("/graphql?query=" + "x" * 20_000, "the query string is longer than"),
        ("/graphql?query=%ff%fe", "the query string is not valid UTF-8"),
        (
            "/graphql?extensions=" + json.dumps(persisted("not-a-hash")),
            "extensions.persistedQuery.sha256Hash",
        ),
        ("/graphql?operationName=x", "a GET request needs"),
        ("/graphql?query=%7Ba%7D&variables=%7B", "`variables` is not valid JSON"),
    ],
)
async def test_a_bad_get_is_a_graphql_shaped_400(anon_api: GraphQLClient, url: str, message: str) -> None:
    response = await anon_api.http.get(url)

    assert response.status_code == 400
    assert response.json()["errors"][0]["message"].startswith(message)
    assert error_code(response) == "BAD_REQUEST"
