"""The boundary rule for text: a string argument holding NUL or another control character, half of a
UTF-16 surrogate pair or too many characters gets a typed error naming the field (the mutation's own
payload error, or a top-level error for a query), never INTERNAL, and nothing is written. Requests
are sent as raw JSON, as a browser's `JSON.stringify` sends them: a lone surrogate can only travel as
the escape `\\ud800`. Every test runs on both topologies (in-process clients and gRPC)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import text

from mercato.platform.auth import Role
from mercato.platform.db import Database
from mercato.platform.validation import MULTILINE_TEXT_MAX, TEXT_MAX, is_multiline
from tests.conftest import ref
from tests.e2e.api_client import GraphQLClient
from tests.e2e.conftest import SignIn
from tests.e2e.test_stock import ADJUST, CREATE_WAREHOUSE
from tests.e2e.test_storefront import CREATE_PRODUCT, UPDATE_PRODUCT

ADDRESS = {"firstName": "Ada", "lastName": "Lovelace", "line1": "1 Way", "city": "London", "country": "GB"}
# (value, expected code); an over-long value is made to measure for the field (see `bad_value`).
BAD: dict[str, tuple[str | None, str]] = {
    "nul": ("a\x00b", "INVALID"),
    "lone-surrogate": ("half an emoji \ud83d", "INVALID"),
    "escape": ("a\x1b[31mb", "INVALID"),
    "over-long": (None, "TOO_LONG"),
}


def bad_value(kind: str, field: str) -> str:
    value, _ = BAD[kind]
    if value is not None:
        return value
    return "x" * ((MULTILINE_TEXT_MAX if is_multiline(field) else TEXT_MAX) + 1)


async def post(client: GraphQLClient, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    # json.dumps escapes what is not ASCII, so a lone surrogate travels as `\ud83d` (httpx would fail
    # to encode it).
    body = json.dumps({"query": query, "variables": variables}).encode()
    response = await client.http.post("/graphql", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


@dataclass(frozen=True)
class World:
    """What the cases act on: an administrator, a shopper with a cart and an address, a product."""

    staff: GraphQLClient
    anonymous: GraphQLClient
    shopper: GraphQLClient
    shopper_id: str
    cart_id: str
    address_id: str
    product_id: str
    variant_id: str
    sku: str
    warehouse_id: str


@pytest.fixture(scope="module")
async def world(api: GraphQLClient, anon_api: GraphQLClient, sign_in: SignIn) -> World:
    shopper = await sign_in(Role.CUSTOMER)
    me = await shopper.data("query { me { id } }")
    cart = await shopper.mutate("mutation { cartCreate { cart { id } errors { code } } }", {}, "cartCreate")
    address = await shopper.mutate(
        "mutation($a: AddressInput!) { addressCreate(input: $a) { address { id } errors { code } } }",
        {"a": ADDRESS},
        "addressCreate",
    )
    slug = ref("p")
    product = await api.mutate(
        CREATE_PRODUCT,
        {
            "input": {
                "slug": slug,
                "name": "Boundary probe",
                "variants": [
                    {
                        "sku": slug.upper(),
                        "price": {"amount": "10.00", "currency": "USD"},
                        "attributes": {"size": "M"},
                    }
                ],
            }
        },
        "productCreate",
    )
    warehouse = await api.mutate(
        CREATE_WAREHOUSE, {"input": {"code": ref("wh"), "name": "Depot"}}, "warehouseCreate"
    )
    return World(
        staff=api,
        anonymous=anon_api,
        shopper=shopper,
        shopper_id=me["me"]["id"],
        cart_id=cart["cart"]["id"],
        address_id=address["address"]["id"],
        product_id=product["product"]["id"],
        variant_id=product["product"]["variants"][0]["id"],
        sku=product["product"]["variants"][0]["sku"],
        warehouse_id=warehouse["warehouse"]["id"],
    )


Variables = Callable[[World, str], dict[str, Any]]
Unchanged = Callable[[World, Database, dict[str, Any], dict[str, Any]], Awaitable[None]]


async def _scalar(db: Database, sql: str, **params: Any) -> Any:
    async with db.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar_one()


async def no_category(world: World, db: Database, variables: dict[str, Any], data: dict[str, Any]) -> None:
    slug = variables["input"]["slug"]
    assert await _scalar(db, "SELECT count(*) FROM catalog.categories WHERE slug = :s", s=slug) == 0


async def no_product(world: World, db: Database, variables: dict[str, Any], data: dict[str, Any]) -> None:
    slug = variables["input"]["slug"]
    assert await _scalar(db, "SELECT count(*) FROM catalog.products WHERE slug = :s", s=slug) == 0


async def product_unchanged(
    world: World, db: Database, variables: dict[str, Any], data: dict[str, Any]
) -> None:
    name = await _scalar(db, "SELECT name FROM catalog.products WHERE id = :i", i=world.product_id)
    assert name == "Boundary probe"
    assert data["productUpdate"]["product"] is None


async def variant_unchanged(
    world: World, db: Database, variables: dict[str, Any], data: dict[str, Any]
) -> None:
    attributes = await _scalar(
        db, "SELECT attributes FROM catalog.variants WHERE id = :i", i=world.variant_id
    )
    assert attributes == {"size": "M"}


async def no_warehouse(world: World, db: Database, variables: dict[str, Any], data: dict[str, Any]) -> None:
    code = variables["input"]["code"]
    assert await _scalar(db, "SELECT count(*) FROM inventory.warehouses WHERE code = :c", c=code) == 0


async def no_adjustment(world: World, db: Database, variables: dict[str, Any], data: dict[str, Any]) -> None:
    assert await _scalar(db, "SELECT count(*) FROM inventory.adjustments WHERE sku = :s", s=world.sku) == 0
    assert await _scalar(db, "SELECT count(*) FROM inventory.stock WHERE sku = :s", s=world.sku) == 0


async def no_account(world: World, db: Database, variables: dict[str, Any], data: dict[str, Any]) -> None:
    email = variables["input"]["email"]
    assert await _scalar(db, "SELECT count(*) FROM customers.accounts WHERE email = :e", e=email) == 0


async def no_token(world: World, db: Database, variables: dict[str, Any], data: dict[str, Any]) -> None:
    [payload] = data.values()
    assert payload["accessToken"] is None


async def no_order(world: World, db: Database, variables: dict[str, Any], data: dict[str, Any]) -> None:
    orders = await _scalar(
        db, "SELECT count(*) FROM orders.orders WHERE customer_id = :c", c=world.shopper_id
    )
    assert orders == 0


async def cart_empty(world: World, db: Database, variables: dict[str, Any], data: dict[str, Any]) -> None:
    cart = await world.shopper.data(
        "query($id: ID!) { cart(id: $id) { lines { sku } } }", {"id": world.cart_id}
    )
    assert cart == {"cart": {"lines": []}}


async def addresses_unchanged(
    world: World, db: Database, variables: dict[str, Any], data: dict[str, Any]
) -> None:
    me = await world.shopper.data("query { me { addresses { id city line1 } } }")
    assert me["me"]["addresses"] == [{"id": world.address_id, "city": "London", "line1": "1 Way"}]


async def nothing(world: World, db: Database, variables: dict[str, Any], data: dict[str, Any]) -> None:
    """A read: there is nothing to write."""


@dataclass(frozen=True)
class Case:
    caller: str  # "staff", "shopper" or "anonymous"
    document: str
    variables: Variables
    payload: str | None  # the mutation's payload field; None: a top-level error (a query)
    field: str
    unchanged: Unchanged


ERRORS = "errors { field code message }"
CHECKOUT = f"""
mutation($cart: ID!, $token: String!, $address: AddressInput!, $key: String!) {{
  checkoutComplete(cartId: $cart, paymentToken: $token, shippingAddress: $address, idempotencyKey: $key) {{
    order {{ id }} {ERRORS}
  }}
}}"""
PRODUCTS = (
    "query($first: Int!, $after: String, $filter: ProductFilterInput) "
    "{ products(first: $first, after: $after, filter: $filter) { edges { node { id } } } }"
)


def new_product(**fields: Any) -> Callable[[World, str], dict[str, Any]]:
    def make(world: World, bad: str) -> dict[str, Any]:
        slug = ref("p")
        product: dict[str, Any] = {
            "slug": slug,
            "name": "Probe",
            "variants": [{"sku": slug.upper(), "price": {"amount": "1.00", "currency": "USD"}}],
        }
        for name, where in fields.items():
            if name == "variant_sku":
                product["variants"][0]["sku"] = bad
            elif name == "attribute":
                product["attributes"] = {where: bad}
            else:
                product[name] = bad
        return {"input": product}

    return make


def checkout(where: str) -> Variables:
    def make(world: World, bad: str) -> dict[str, Any]:
        variables: dict[str, Any] = {
            "cart": world.cart_id,
            "token": "tok_success",
            "address": dict(ADDRESS),
            "key": ref("key"),
        }
        if where in ("token", "key"):
            variables[where] = bad
        else:
            variables["address"][where] = bad
        return variables

    return make


CASES: dict[str, Case] = {
    "products(filter: {search})": Case(
        "anonymous",
        PRODUCTS,
        lambda w, bad: {"first": 5, "filter": {"search": bad}},
        None,
        "filter.search",
        nothing,
    ),
    "products(after)": Case(
        "anonymous", PRODUCTS, lambda w, bad: {"first": 5, "after": bad}, None, "after", nothing
    ),
    "product(slug)": Case(
        "anonymous",
        "query($s: String) { product(slug: $s) { id } }",
        lambda w, bad: {"s": bad},
        None,
        "slug",
        nothing,
    ),
    "stockLevels(sku)": Case(
        "staff",
        "query($s: String!) { stockLevels(sku: $s) { onHand } }",
        lambda w, bad: {"s": bad},
        None,
        "sku",
        nothing,
    ),
    "categoryCreate name": Case(
        "staff",
        "mutation($input: CategoryCreateInput!) "
        f"{{ categoryCreate(input: $input) {{ category {{ id }} {ERRORS} }} }}",
        lambda w, bad: {"input": {"slug": ref("c"), "name": bad}},
        "categoryCreate",
        "name",
        no_category,
    ),
    "productCreate description": Case(
        "staff", CREATE_PRODUCT, new_product(description=True), "productCreate", "description", no_product
    ),
    "productCreate variant sku": Case(
        "staff", CREATE_PRODUCT, new_product(variant_sku=True), "productCreate", "variants.0.sku", no_product
    ),
    "productCreate attributes (JSON)": Case(
        "staff",
        CREATE_PRODUCT,
        new_product(attribute="color"),
        "productCreate",
        "attributes.color",
        no_product,
    ),
    "productUpdate name": Case(
        "staff",
        UPDATE_PRODUCT,
        lambda w, bad: {"id": w.product_id, "input": {"name": bad}},
        "productUpdate",
        "name",
        product_unchanged,
    ),
    "variantUpdate attributes (JSON)": Case(
        "staff",
        "mutation($id: ID!, $input: VariantUpdateInput!) "
        f"{{ variantUpdate(id: $id, input: $input) {{ {ERRORS} }} }}",
        lambda w, bad: {"id": w.variant_id, "input": {"attributes": {"size": bad}}},
        "variantUpdate",
        "attributes.size",
        variant_unchanged,
    ),
    "warehouseCreate name": Case(
        "staff",
        CREATE_WAREHOUSE,
        lambda w, bad: {"input": {"code": ref("wh"), "name": bad}},
        "warehouseCreate",
        "name",
        no_warehouse,
    ),
    "stockAdjust note": Case(
        "staff",
        ADJUST,
        lambda w, bad: {
            "input": {
                "sku": w.sku,
                "warehouseId": w.warehouse_id,
                "reason": "RECEIVED",
                "delta": 5,
                "note": bad,
            }
        },
        "stockAdjust",
        "note",
        no_adjustment,
    ),
    "accountRegister password": Case(
        "anonymous",
        "mutation($input: AccountRegisterInput!) "
        f"{{ accountRegister(input: $input) {{ account {{ id }} {ERRORS} }} }}",
        lambda w, bad: {"input": {"email": f"{ref('u')}@example.com", "password": f"long enough {bad}"}},
        "accountRegister",
        "password",
        no_account,
    ),
    "tokenCreate email": Case(
        "anonymous",
        f"mutation($input: TokenCreateInput!) {{ tokenCreate(input: $input) {{ accessToken {ERRORS} }} }}",
        lambda w, bad: {"input": {"email": f"{bad}@example.com", "password": "long enough password"}},
        "tokenCreate",
        "email",
        no_token,
    ),
    "tokenRefresh": Case(
        "anonymous",
        f"mutation($t: String!) {{ tokenRefresh(refreshToken: $t) {{ accessToken {ERRORS} }} }}",
        lambda w, bad: {"t": bad},
        "tokenRefresh",
        "refreshToken",
        no_token,
    ),
    "checkoutComplete line1": Case(
        "shopper", CHECKOUT, checkout("line1"), "checkoutComplete", "shippingAddress.line1", no_order
    ),
    "checkoutComplete city": Case(
        "shopper", CHECKOUT, checkout("city"), "checkoutComplete", "shippingAddress.city", no_order
    ),
    "checkoutComplete idempotencyKey": Case(
        "shopper", CHECKOUT, checkout("key"), "checkoutComplete", "idempotencyKey", no_order
    ),
    "checkoutComplete paymentToken": Case(
        "shopper", CHECKOUT, checkout("token"), "checkoutComplete", "paymentToken", no_order
    ),
    "cartLinesAdd sku": Case(
        "shopper",
        "mutation($id: ID!, $lines: [CartLineInput!]!) "
        f"{{ cartLinesAdd(cartId: $id, lines: $lines) {{ {ERRORS} }} }}",
        lambda w, bad: {"id": w.cart_id, "lines": [{"sku": bad, "quantity": 1}]},
        "cartLinesAdd",
        "lines.0.sku",
        cart_empty,
    ),
    "addressCreate line1": Case(
        "shopper",
        f"mutation($a: AddressInput!) {{ addressCreate(input: $a) {{ address {{ id }} {ERRORS} }} }}",
        lambda w, bad: {"a": {**ADDRESS, "line1": bad}},
        "addressCreate",
        "line1",
        addresses_unchanged,
    ),
    "addressUpdate city": Case(
        "shopper",
        "mutation($id: ID!, $input: AddressInput!) "
        f"{{ addressUpdate(id: $id, input: $input) {{ {ERRORS} }} }}",
        lambda w, bad: {"id": w.address_id, "input": {**ADDRESS, "city": bad}},
        "addressUpdate",
        "city",
        addresses_unchanged,
    ),
}


@pytest.mark.parametrize("kind", BAD)
@pytest.mark.parametrize("operation", CASES)
async def test_a_bad_string_is_a_typed_error_naming_the_field_and_writes_nothing(
    world: World, db: Database, operation: str, kind: str
) -> None:
    # Given a request whose one string argument breaks the rule
    case = CASES[operation]
    client = {"staff": world.staff, "shopper": world.shopper, "anonymous": world.anonymous}[case.caller]
    variables = case.variables(world, bad_value(kind, case.field))
    code = BAD[kind][1]

    # When it is sent
    body = await post(client, case.document, variables)

    # Then the answer is a typed error naming the field, and nothing was written
    if case.payload is not None:
        assert "errors" not in body, body["errors"]
        errors = body["data"][case.payload]["errors"]
        assert [(e["field"], e["code"]) for e in errors] == [(case.field, code)]
        assert errors[0]["message"].startswith(case.field)
    else:
        assert [(e["extensions"]["code"], e["extensions"]["field"]) for e in body["errors"]] == [
            (code, case.field)
        ]
        assert body["errors"][0]["message"].startswith(case.field)
    await case.unchanged(world, db, variables, body.get("data") or {})


async def test_multi_line_fields_keep_line_breaks_and_single_line_fields_refuse_them(
    world: World, db: Database
) -> None:
    # Given a description over three lines with a tab, when a product is created with it
    slug = ref("p")
    description = "Line one\nLine two\r\n\tindented"
    await world.staff.mutate(
        CREATE_PRODUCT,
        {"input": {"slug": slug, "name": "Probe", "description": description}},
        "productCreate",
    )
    # Then it is stored as sent
    stored = await _scalar(db, "SELECT description FROM catalog.products WHERE slug = :s", s=slug)
    assert stored == description
    # But a line break in a name is refused
    refused = {"slug": ref("p"), "name": "Two\nlines"}
    body = await post(world.staff, CREATE_PRODUCT, {"input": refused})
    assert [(e["field"], e["code"]) for e in body["data"]["productCreate"]["errors"]] == [("name", "INVALID")]
    assert await _scalar(db, "SELECT count(*) FROM catalog.products WHERE slug = :s", s=refused["slug"]) == 0


async def test_a_bad_string_written_in_the_document_is_refused_like_a_variable(world: World) -> None:
    body = await post(world.anonymous, 'query { product(slug: "a\\u0000b") { id } }', {})
    assert [(e["extensions"]["code"], e["extensions"]["field"]) for e in body["errors"]] == [
        ("INVALID", "slug")
    ]


async def test_a_bad_name_inside_a_json_value_names_the_value_not_the_name(
    world: World, db: Database
) -> None:
    variables = new_product()(world, "")
    variables["input"]["variants"][0]["attributes"] = {"co\x00lor": "red"}
    body = await post(world.staff, CREATE_PRODUCT, variables)
    errors = body["data"]["productCreate"]["errors"]
    assert [(e["field"], e["code"]) for e in errors] == [("variants.0.attributes", "INVALID")]
    assert "\x00" not in errors[0]["message"]
    await no_product(world, db, variables, body["data"])


async def test_every_bad_string_is_reported_up_to_ten(world: World) -> None:
    lines = [{"sku": f"SKU\x00{i}", "quantity": 1} for i in range(50)]
    body = await post(
        world.shopper, CASES["cartLinesAdd sku"].document, {"id": world.cart_id, "lines": lines}
    )
    errors = body["data"]["cartLinesAdd"]["errors"]
    assert [(e["field"], e["code"]) for e in errors] == [(f"lines.{i}.sku", "INVALID") for i in range(10)]


# -- request bodies ----------------------------------------------------------------------------------

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
    add = json.dumps(
        {"query": CASES["cartLinesAdd sku"].document, "variables": {"id": world.cart_id, "lines": "DEEP"}}
    )
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
