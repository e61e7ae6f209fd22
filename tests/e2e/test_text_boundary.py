"""The boundary rule for text: a string argument holding NUL or another control character, half of a
UTF-16 surrogate pair or too many characters gets a typed error naming the field (the mutation's own
payload error, or a top-level error for a query), never INTERNAL, and nothing is written. Requests
are sent as raw JSON, as a browser's `JSON.stringify` sends them: a lone surrogate can only travel as
the escape `\\ud800`. Every test runs on both topologies (in-process clients and gRPC)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from mercato.platform.db import Database
from tests.conftest import ref
from tests.e2e.api_client import GraphQLClient
from tests.e2e.conftest import SignIn
from tests.e2e.test_stock import ADJUST, CREATE_WAREHOUSE
from tests.e2e.test_storefront import CREATE_PRODUCT, UPDATE_PRODUCT
from tests.e2e.text_world import (
    ADD_LINES,
    ADDRESS,
    BAD,
    CHECKOUT,
    ERRORS,
    PRODUCTS,
    Unchanged,
    Variables,
    World,
    addresses_unchanged,
    bad_value,
    build_world,
    cart_empty,
    checkout,
    new_product,
    no_account,
    no_adjustment,
    no_category,
    no_order,
    no_product,
    no_token,
    no_warehouse,
    nothing,
    post,
    product_unchanged,
    scalar,
    variant_unchanged,
)


@pytest.fixture(scope="module")
async def world(api: GraphQLClient, anon_api: GraphQLClient, sign_in: SignIn) -> World:
    return await build_world(api, anon_api, sign_in)


@dataclass(frozen=True)
class Case:
    caller: str  # "staff", "shopper" or "anonymous"
    document: str
    variables: Variables
    payload: str | None  # the mutation's payload field; None: a top-level error (a query)
    field: str
    unchanged: Unchanged


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
        ADD_LINES,
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
    stored = await scalar(db, "SELECT description FROM catalog.products WHERE slug = :s", s=slug)
    assert stored == description
    # But a line break in a name is refused
    refused = {"slug": ref("p"), "name": "Two\nlines"}
    body = await post(world.staff, CREATE_PRODUCT, {"input": refused})
    assert [(e["field"], e["code"]) for e in body["data"]["productCreate"]["errors"]] == [("name", "INVALID")]
    assert await scalar(db, "SELECT count(*) FROM catalog.products WHERE slug = :s", s=refused["slug"]) == 0


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
    body = await post(world.shopper, ADD_LINES, {"id": world.cart_id, "lines": lines})
    errors = body["data"]["cartLinesAdd"]["errors"]
    assert [(e["field"], e["code"]) for e in errors] == [(f"lines.{i}.sku", "INVALID") for i in range(10)]
