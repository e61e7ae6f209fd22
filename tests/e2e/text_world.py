"""What the end-to-end tests of the boundary rule for text share: the bad values, a raw JSON poster, the
world they act on and the checks that nothing was written."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

from mercato.platform.auth import Role
from mercato.platform.db import Database
from mercato.platform.validation import MULTILINE_TEXT_MAX, TEXT_MAX, is_multiline
from tests.conftest import ref
from tests.e2e.api_client import GraphQLClient
from tests.e2e.conftest import SignIn
from tests.e2e.test_stock import CREATE_WAREHOUSE
from tests.e2e.test_storefront import CREATE_PRODUCT

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


async def build_world(api: GraphQLClient, anon_api: GraphQLClient, sign_in: SignIn) -> World:
    """An administrator, a shopper with a cart and an address, a product and a warehouse."""
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


async def scalar(db: Database, sql: str, **params: Any) -> Any:
    async with db.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar_one()


async def no_category(world: World, db: Database, variables: dict[str, Any], data: dict[str, Any]) -> None:
    slug = variables["input"]["slug"]
    assert await scalar(db, "SELECT count(*) FROM catalog.categories WHERE slug = :s", s=slug) == 0


async def no_product(world: World, db: Database, variables: dict[str, Any], data: dict[str, Any]) -> None:
    slug = variables["input"]["slug"]
    assert await scalar(db, "SELECT count(*) FROM catalog.products WHERE slug = :s", s=slug) == 0


async def product_unchanged(
    world: World, db: Database, variables: dict[str, Any], data: dict[str, Any]
) -> None:
    name = await scalar(db, "SELECT name FROM catalog.products WHERE id = :i", i=world.product_id)
    assert name == "Boundary probe"
    assert data["productUpdate"]["product"] is None


async def variant_unchanged(
    world: World, db: Database, variables: dict[str, Any], data: dict[str, Any]
) -> None:
    attributes = await scalar(db, "SELECT attributes FROM catalog.variants WHERE id = :i", i=world.variant_id)
    assert attributes == {"size": "M"}


async def no_warehouse(world: World, db: Database, variables: dict[str, Any], data: dict[str, Any]) -> None:
    code = variables["input"]["code"]
    assert await scalar(db, "SELECT count(*) FROM inventory.warehouses WHERE code = :c", c=code) == 0


async def no_adjustment(world: World, db: Database, variables: dict[str, Any], data: dict[str, Any]) -> None:
    assert await scalar(db, "SELECT count(*) FROM inventory.adjustments WHERE sku = :s", s=world.sku) == 0
    assert await scalar(db, "SELECT count(*) FROM inventory.stock WHERE sku = :s", s=world.sku) == 0


async def no_account(world: World, db: Database, variables: dict[str, Any], data: dict[str, Any]) -> None:
    email = variables["input"]["email"]
    assert await scalar(db, "SELECT count(*) FROM customers.accounts WHERE email = :e", e=email) == 0


async def no_token(world: World, db: Database, variables: dict[str, Any], data: dict[str, Any]) -> None:
    [payload] = data.values()
    assert payload["accessToken"] is None


async def no_order(world: World, db: Database, variables: dict[str, Any], data: dict[str, Any]) -> None:
    orders = await scalar(db, "SELECT count(*) FROM orders.orders WHERE customer_id = :c", c=world.shopper_id)
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


ERRORS = "errors { field code message }"
CHECKOUT = f"""
mutation($cart: ID!, $token: String!, $address: AddressInput!, $key: String!) {{
  checkoutComplete(cartId: $cart, paymentToken: $token, shippingAddress: $address, idempotencyKey: $key) {{
    order {{ id }} {ERRORS}
  }}
}}"""
ADD_LINES = (
    "mutation($id: ID!, $lines: [CartLineInput!]!) "
    f"{{ cartLinesAdd(cartId: $id, lines: $lines) {{ {ERRORS} }} }}"
)
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
