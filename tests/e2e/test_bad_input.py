"""Bad input gets a typed error: never a 500, a stack trace or a partial write."""

from __future__ import annotations

import uuid

import httpx
import pytest

from mercato.app.runtime import Runtime
from mercato.gateway.app import create_app
from mercato.platform.config import Settings
from mercato.platform.db import Database
from tests.conftest import ref
from tests.e2e.api_client import GraphQLClient
from tests.e2e.test_storefront import CREATE_PRODUCT, LISTING, UPDATE_PRODUCT


def product_input(**overrides: object) -> dict[str, object]:
    slug = ref("p")
    fields: dict[str, object] = {
        "slug": slug,
        "name": "Bad input probe",
        "variants": [{"sku": slug.upper(), "price": {"amount": "10.00", "currency": "USD"}}],
    }
    fields.update(overrides)
    return {"input": fields}


async def errors_of(
    api: GraphQLClient, query: str, variables: dict[str, object], payload: str
) -> list[tuple[str, str]]:
    data = await api.data(query, variables)
    return [(e["field"], e["code"]) for e in data[payload]["errors"]]


async def top_level_codes(
    api: GraphQLClient, query: str, variables: dict[str, object] | None = None
) -> list[str]:
    body = await api.execute(query, variables)
    assert "errors" in body, body
    for error in body["errors"]:
        assert "Traceback" not in error["message"]
    return [e["extensions"]["code"] for e in body["errors"]]


async def count_products_named(db: Database, slug: str) -> int:
    from sqlalchemy import text

    async with db.connect() as conn:
        return int(
            (
                await conn.execute(text("SELECT count(*) FROM catalog.products WHERE slug = :s"), {"s": slug})
            ).scalar_one()
        )


async def test_negative_and_malformed_prices(api: GraphQLClient, db: Database) -> None:
    negative = product_input(variants=[{"sku": ref("S"), "price": {"amount": "-1.00", "currency": "USD"}}])
    assert await errors_of(api, CREATE_PRODUCT, negative, "productCreate") == [
        ("variants.0.price", "OUT_OF_RANGE")
    ]
    assert await count_products_named(db, negative["input"]["slug"]) == 0  # type: ignore[index]
    for amount, currency in (("12.345", "USD"), ("ten", "USD"), ("1", "dollars")):
        bad = product_input(variants=[{"sku": ref("S"), "price": {"amount": amount, "currency": currency}}])
        assert await errors_of(api, CREATE_PRODUCT, bad, "productCreate") == [("variants.0.price", "INVALID")]


async def test_unknown_and_malformed_ids(api: GraphQLClient) -> None:
    unknown = {"id": str(uuid.uuid4()), "input": {"name": "x"}}
    assert await errors_of(api, UPDATE_PRODUCT, unknown, "productUpdate") == [("id", "NOT_FOUND")]
    malformed = {"id": "not-an-id", "input": {"name": "x"}}
    assert await errors_of(api, UPDATE_PRODUCT, malformed, "productUpdate") == [("id", "INVALID")]
    missing = await api.data("query($id: ID!) { product(id: $id) { name } }", {"id": str(uuid.uuid4())})
    assert missing == {"product": None}
    assert await top_level_codes(api, 'query { product(id: "42") { name } }') == ["INVALID"]
    bad_category = product_input(categoryId=str(uuid.uuid4()))
    assert await errors_of(api, CREATE_PRODUCT, bad_category, "productCreate") == [
        ("categoryId", "CATEGORY_NOT_FOUND")
    ]


async def test_over_long_strings(api: GraphQLClient, db: Database) -> None:
    long_description = product_input(description="x" * 60_000)
    assert await errors_of(api, CREATE_PRODUCT, long_description, "productCreate") == [
        ("description", "TOO_LONG")
    ]
    huge = product_input(name="x" * 10_000_000)
    response = await api.raw(CREATE_PRODUCT, huge)
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "REQUEST_TOO_LARGE"
    assert await count_products_named(db, huge["input"]["slug"]) == 0  # type: ignore[index]


@pytest.mark.parametrize("cursor", ["garbage", "eyJ4Ijox", "W10", "A" * 2000])
async def test_malformed_cursors(api: GraphQLClient, cursor: str) -> None:
    assert await top_level_codes(api, LISTING, {"first": 5, "after": cursor}) == ["INVALID_CURSOR"]


async def test_page_size_is_capped(api: GraphQLClient) -> None:
    assert await top_level_codes(api, LISTING, {"first": 101}) == ["INVALID_PAGE_SIZE"]


async def test_over_costly_queries_are_refused_before_running(api: GraphQLClient) -> None:
    selection = "edges { node { name slug variants { sku price { amount currency } quantityAvailable } } }"
    query = "query { " + " ".join(f"p{i}: products(first: 100) {{ {selection} }}" for i in range(5)) + " }"
    body = await api.execute(query)
    assert [e["extensions"]["code"] for e in body["errors"]] == ["QUERY_TOO_COSTLY"]
    assert body.get("data") is None
    cheap = await api.execute("query { products(first: 2) { edges { node { name } } } }")
    assert cheap["extensions"]["cost"]["requestedQueryCost"] == 1 + 2 * 3


async def test_over_deep_queries_are_refused(settings: Settings, runtime: Runtime) -> None:
    shallow_app = create_app(settings.model_copy(update={"graphql_max_depth": 4}), runtime)
    transport = httpx.ASGITransport(app=shallow_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mercato.test") as http:
        api = GraphQLClient(http)
        deep = "query { products(first: 1) { edges { node { variants { price { amount } } } } } }"
        body = await api.execute(deep)
        assert [e["extensions"]["code"] for e in body["errors"]] == ["GRAPHQL_VALIDATION_FAILED"]
        assert "exceeds maximum operation depth" in body["errors"][0]["message"]
        assert "errors" not in await api.execute("query { products(first: 1) { edges { node { name } } } }")


async def test_syntax_errors_and_unknown_fields(api: GraphQLClient) -> None:
    response = await api.raw("query { products(first: 1) { edges { node { nope } } } }")
    assert response.status_code in (200, 400)
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["GRAPHQL_VALIDATION_FAILED"]
    response = await api.raw("query { products(")
    assert response.status_code in (200, 400)
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["GRAPHQL_VALIDATION_FAILED"]
