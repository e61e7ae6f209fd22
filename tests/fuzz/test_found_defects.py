"""What the generated requests found, one regular test each (each failed before its fix): the request,
its exact answer, and that nothing was written."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text

from tests.fuzz.values import to_json
from tests.fuzz.world import ERRORS, Target


async def post(
    http: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None
) -> httpx.Response:
    body = to_json({"query": query, "variables": variables or {}}).encode()
    return await http.post("/graphql", content=body, headers={"content-type": "application/json"})


async def count(target: Target, sql: str, **params: Any) -> int:
    async with target.runtime.db.connect() as conn:
        value: int = (await conn.execute(text(sql), params)).scalar_one()
    return value


async def test_a_number_of_5000_digits_in_the_body_is_a_400(each_target: Target) -> None:
    # Given a body whose JSON holds an integer longer than Python parses (4,300 digits): json.loads
    # raised a plain ValueError, which escaped the app as an HTTP 500
    body = b'{"query": "{ me { id } }", "variables": {"n": 1' + b"0" * 5_000 + b"}}"
    # When it is posted
    response = await each_target.callers["anonymous"].post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )
    # Then it is refused as a bad request, shaped like GraphQL
    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {
                "message": "the request body holds a number of more than 4300 digits",
                "extensions": {"code": "BAD_REQUEST"},
            }
        ]
    }


async def test_an_int_literal_of_5000_digits_is_a_validation_error(each_target: Target) -> None:
    # Given an Int written in the document with 5,000 digits: validating it raised a ValueError that
    # graphql-core attached to the validation error, which then went out as INTERNAL
    query = "{ products(first: 1" + "0" * 5_000 + ") { edges { cursor } } }"
    # When it is sent
    response = await post(each_target.callers["anonymous"], query)
    # Then it is a validation error
    assert response.status_code == 200
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "GRAPHQL_VALIDATION_FAILED"}
    assert error["message"].startswith(
        "Expected value of type 'Int', but encountered error 'Exceeds the limit"
    )


HUGE = "1e999999999"


async def test_an_amount_with_a_huge_exponent_is_a_typed_error_and_writes_nothing(
    each_target: Target,
) -> None:
    # Given amounts that are short strings of huge numbers: scaling one to minor units overflowed the
    # decimal context, and the client saw INTERNAL
    target = each_target
    admin, known = target.callers["admin"], target.known
    price = {"amount": HUGE, "currency": "USD"}
    create = await post(
        admin,
        f"mutation($i: ProductCreateInput!) {{ productCreate(input: $i) {{ product {{ id }} {ERRORS} }} }}",
        {"i": {"slug": "huge-price", "name": "Huge", "variants": [{"sku": "HUGE-1", "price": price}]}},
    )
    listing = await post(
        target.callers["anonymous"],
        "query($f: ProductFilterInput) { products(first: 5, filter: $f) { edges { cursor } } }",
        {"f": {"priceMin": HUGE}},
    )
    refund = await post(
        admin,
        "mutation($id: ID!, $a: MoneyInput!) "
        f'{{ orderRefund(id: $id, amount: $a, idempotencyKey: "huge") {{ order {{ id }} {ERRORS} }} }}',
        {"id": known.ids["order"][0], "a": {"amount": HUGE, "currency": "USD"}},
    )
    # Then each is a typed error naming the field
    assert create.json()["data"]["productCreate"] == {
        "product": None,
        "errors": [
            {"field": "variants.0.price", "code": "OUT_OF_RANGE", "message": "amount is out of range"}
        ],
    }
    assert [(e["extensions"], e["message"]) for e in listing.json()["errors"]] == [
        ({"code": "INVALID", "field": "filter.priceMin"}, "amount is out of range")
    ]
    assert refund.json()["data"]["orderRefund"] == {
        "order": None,
        "errors": [{"field": "amount", "code": "INVALID", "message": "amount is out of range"}],
    }
    # And nothing was written
    assert await count(target, "SELECT count(*) FROM catalog.products WHERE slug = 'huge-price'") == 0
    assert await count(target, "SELECT count(*) FROM payments.ledger_entries WHERE kind = 'REFUND'") == 0


async def test_a_json_number_no_service_can_carry_is_a_typed_error_and_writes_nothing(
    each_target: Target,
) -> None:
    # Given JSON attributes holding NaN, an infinity and an integer past 2**53: Python's parser takes
    # them, but JSON has no NaN and a double cannot hold the integer. Over gRPC (a protobuf Struct)
    # NaN failed to serialize (INTERNAL) and the integer lost its last digits; in process NaN was
    # stored as null
    admin, known = each_target.callers["admin"], each_target.known
    attributes_of = "SELECT attributes::text FROM catalog.products WHERE id = :i"
    before = await count(each_target, attributes_of, i=known.ids["product"][0])
    update = (
        f"mutation($id: ID!, $i: ProductUpdateInput!) {{ productUpdate(id: $id, input: $i) {{ {ERRORS} }} }}"
    )
    attributes = {"a": float("nan"), "b": float("inf"), "c": 2**70, "d": 2**53}
    # When a product's attributes are set to them
    response = await post(admin, update, {"id": known.ids["product"][0], "i": {"attributes": attributes}})
    # Then each refused number is named, and the product keeps its attributes
    nan = "is not a JSON number (NaN or infinite)"
    big = "is an integer beyond ±2^53 (9007199254740992), which a JSON number cannot hold exactly"
    assert response.json()["data"]["productUpdate"]["errors"] == [
        {"field": "attributes.a", "code": "INVALID", "message": f"attributes.a {nan}"},
        {"field": "attributes.b", "code": "INVALID", "message": f"attributes.b {nan}"},
        {"field": "attributes.c", "code": "OUT_OF_RANGE", "message": f"attributes.c {big}"},
    ]
    assert await count(each_target, attributes_of, i=known.ids["product"][0]) == before


async def test_an_access_token_the_text_rule_refuses_is_an_invalid_token(each_target: Target) -> None:
    # Given an Authorization header with a token of 10,000 characters: over gRPC the customers' edge
    # refused it as text (InputRejected), which escaped the gateway as an HTTP 500
    anonymous = each_target.callers["anonymous"]
    # When a query is sent with it
    response = await anonymous.post(
        "/graphql",
        json={"query": "{ warehouses { id } }"},
        headers={"authorization": "Bearer " + "a" * 10_000},
    )
    # Then the caller is anonymous and told why, as with any other invalid token
    assert response.status_code == 200, response.text
    body = response.json()
    assert [(e["message"], e["extensions"]) for e in body["errors"]] == [
        ("invalid access token", {"code": "UNAUTHENTICATED"})
    ]


PRICE = {"amount": "1.00", "currency": "USD"}
ATTRIBUTES_NOT_AN_OBJECT = {
    "productCreate": (
        "mutation($i: ProductCreateInput!) { productCreate(input: $i) { product { id } " + ERRORS + " } }",
        lambda k: {"i": {"slug": "list-attributes", "name": "List", "attributes": ["a"]}},
        "attributes",
    ),
    "productCreate variant": (
        "mutation($i: ProductCreateInput!) { productCreate(input: $i) { product { id } " + ERRORS + " } }",
        lambda k: {"i": {"slug": "list-attributes", "name": "List", "variants": [
            {"sku": "LIST-1", "price": PRICE, "attributes": "a"}]}},
        "variants.0.attributes",
    ),
    "productUpdate": (
        "mutation($id: ID!, $i: ProductUpdateInput!) { productUpdate(id: $id, input: $i) { "
        + ERRORS
        + " } }",
        lambda k: {"id": k.ids["product"][0], "i": {"attributes": [1, 2]}},
        "attributes",
    ),
    "variantCreate": (
        "mutation($p: ID!, $i: VariantInput!) { variantCreate(productId: $p, input: $i) { " + ERRORS + " } }",
        lambda k: {"p": k.ids["product"][0], "i": {"sku": "LIST-2", "price": PRICE, "attributes": [1]}},
        "attributes",
    ),
    "variantUpdate": (
        "mutation($id: ID!, $i: VariantUpdateInput!) { variantUpdate(id: $id, input: $i) { "
        + ERRORS
        + " } }",
        lambda k: {"id": k.ids["variant"][0], "i": {"attributes": True}},
        "attributes",
    ),
}  # fmt: skip


async def test_attributes_that_are_not_an_object_are_a_typed_error_and_write_nothing(
    each_target: Target,
) -> None:
    # Given JSON attributes that are a list, a string or a boolean: in process the use case refused them,
    # but over gRPC the gateway first made them a protobuf Struct, which raised AttributeError (INTERNAL)
    admin, known = each_target.callers["admin"], each_target.known
    catalog = (
        "SELECT (SELECT count(*) + coalesce(sum(hashtext(p::text)), 0) FROM catalog.products p)"
        " + (SELECT count(*) + coalesce(sum(hashtext(v::text)), 0) FROM catalog.variants v)"
    )
    before = await count(each_target, catalog)
    for operation, (query, variables, field) in ATTRIBUTES_NOT_AN_OBJECT.items():
        # When each operation is sent them
        response = await post(admin, query, variables(known))
        # Then it is refused, naming the field, the same way on both topologies
        [payload] = response.json()["data"].values()
        assert payload["errors"] == [
            {"field": field, "code": "INVALID", "message": f"{field} must be an object"}
        ], operation
    # And nothing was written: no product or variant was added, none changed
    assert await count(each_target, catalog) == before
