"""Request bodies that are not UTF-8, not JSON objects, or nest deeper than any input needs get HTTP 400
with a GraphQL-shaped error (`errors[].extensions.code` BAD_REQUEST), never a 500. Both topologies."""

from __future__ import annotations

import json

import pytest

from tests.e2e.api_client import GraphQLClient
from tests.e2e.conftest import SignIn
from tests.e2e.test_storefront import CREATE_PRODUCT
from tests.e2e.text_world import ADD_LINES, PRODUCTS, World, build_world, new_product, post


@pytest.fixture(scope="module")
async def world(api: GraphQLClient, anon_api: GraphQLClient, sign_in: SignIn) -> World:
    return await build_world(api, anon_api, sign_in)


BAD_REQUEST = "BAD_REQUEST"


async def refusal(client: GraphQLClient, body: bytes) -> tuple[int, list[tuple[str, str]]]:
    response = await client.http.post("/graphql", content=body, headers={"content-type": "application/json"})
    errors = response.json()["errors"]
    return response.status_code, [(e["message"], e["extensions"]["code"]) for e in errors]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            b'{"query": "{ categories { id } }", "variables": {"s": "\xff\xfe"}}',
            "the request body is not valid UTF-8",
        ),
        (
            b'{"query": "{ categories { id } }", "variables": {"s": "\xed\xa0\x80"}}',
            "the request body is not valid UTF-8",
        ),
        (b'{"query": "{ categories { id }', "Unable to parse request body as JSON"),
        (b'"{ categories { id } }"', "the request body must be a JSON object"),
        (b"42", "the request body must be a JSON object"),
    ],
    ids=["latin-1 bytes", "utf-8-encoded surrogate", "truncated JSON", "a JSON string", "a JSON number"],
)
async def test_a_body_that_is_not_utf8_json_is_a_400_shaped_like_graphql(
    world: World, body: bytes, message: str
) -> None:
    assert await refusal(world.anonymous, body) == (400, [(message, BAD_REQUEST)])


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [40, 3_000])
async def test_deeply_nested_variables_are_a_400(world: World, depth: int) -> None:
    # Given variables nested deeper than any input needs (3,000 exhausted the JSON parser's recursion)
    message = "the request body nests JSON more than 32 levels deep"
    add = json.dumps({"query": ADD_LINES, "variables": {"id": world.cart_id, "lines": "DEEP"}})
    staff = json.dumps(
        {
            "query": "mutation($u: ID!, $p: [Permission!]!) "
            "{ staffPermissionsSet(userId: $u, role: STAFF, permissions: $p) { errors { code } } }",
            "variables": {"u": world.shopper_id, "p": "DEEP"},
        }
    )
    listing = json.dumps({"query": PRODUCTS, "variables": {"first": 1, "filter": {"search": "DEEP"}}})
    # When they are sent to a mutation, to a staff mutation and to a cacheable storefront query
    for client, body in ((world.shopper, add), (world.staff, staff), (world.anonymous, listing)):
        # Then each is refused before GraphQL runs
        deep = body.replace('"DEEP"', nested(depth)).encode()
        assert await refusal(client, deep) == (400, [(message, BAD_REQUEST)])
    # And the cart was not touched
    cart = await world.shopper.data(
        "query($id: ID!) { cart(id: $id) { lines { sku } } }", {"id": world.cart_id}
    )
    assert cart == {"cart": {"lines": []}}


async def test_deeply_nested_variables_in_a_get_are_a_400(world: World) -> None:
    response = await world.anonymous.http.get(
        "/graphql", params={"query": PRODUCTS, "variables": '{"first": 1, "after": ' + nested(3_000) + "}"}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == BAD_REQUEST


async def test_variables_nested_as_deep_as_inputs_need_still_run(world: World) -> None:
    variables = new_product()(world, "")
    variables["input"]["variants"][0]["attributes"] = {"tags": ["a", "b"]}
    body = await post(world.staff, CREATE_PRODUCT, variables)
    assert body["data"]["productCreate"]["errors"] == []
