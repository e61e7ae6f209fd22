"""The cart's GraphQL operations, run on a schema of just the cart's types with a fake context."""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any

import pytest
import strawberry

from mercato.cart.bootstrap import CartService
from mercato.cart.client import InProcessCartClient
from mercato.cart.domain.errors import (
    CartLinesAddErrorCode,
    CartLinesRemoveErrorCode,
    CartLinesUpdateErrorCode,
)
from mercato.catalog.bootstrap import CatalogService
from mercato.gateway.graphql.cart.schema import CartMutations, CartQueries
from mercato.platform.auth import Principal
from mercato.platform.config import Settings
from tests.service.cart.conftest import customer, skus_priced

SCHEMA = strawberry.Schema(query=CartQueries, mutation=CartMutations)

CART = (
    "id itemCount total { amount currency } "
    "lines { sku quantity productName available unitPrice { amount currency } total { amount currency } }"
)
ERRORS = "errors { field code message }"


class Api:
    def __init__(self, carts: CartService, settings: Settings) -> None:
        self.client = InProcessCartClient(carts)
        self.settings = settings

    async def __call__(
        self, query: str, principal: Principal | None = None, **variables: Any
    ) -> dict[str, Any]:
        context = SimpleNamespace(
            clients=SimpleNamespace(cart=self.client), principal=principal, settings=self.settings
        )
        result = await SCHEMA.execute(query, variable_values=variables, context_value=context)
        assert result.errors is None, result.errors
        assert result.data is not None
        return result.data

    async def create(self, principal: Principal | None = None) -> dict[str, Any]:
        data = await self(f"mutation {{ cartCreate {{ cart {{ {CART} }} {ERRORS} }} }}", principal)
        assert data["cartCreate"]["errors"] == []
        cart: dict[str, Any] = data["cartCreate"]["cart"]
        return cart

    async def add(self, cart_id: str, lines: list[dict[str, Any]], principal: Principal | None = None) -> Any:
        data = await self(
            "mutation($id: ID!, $lines: [CartLineInput!]!) { cartLinesAdd(cartId: $id, lines: $lines) "
            f"{{ cart {{ {CART} }} {ERRORS} }} }}",
            principal,
            id=cart_id,
            lines=lines,
        )
        return data["cartLinesAdd"]

    async def cart(self, cart_id: str, principal: Principal | None = None) -> Any:
        data = await self(f"query($id: ID!) {{ cart(id: $id) {{ {CART} }} }}", principal, id=cart_id)
        return data["cart"]


@pytest.fixture
def api(carts: CartService, settings: Settings) -> Api:
    return Api(carts, settings)


def usd(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "USD"}


async def test_cart_create_gives_an_empty_cart(api: Api) -> None:
    cart = await api.create()
    assert uuid.UUID(cart["id"]).version == 4
    assert {k: v for k, v in cart.items() if k != "id"} == {"itemCount": 0, "total": usd("0.00"), "lines": []}
    assert await api.cart(cart["id"]) == cart


async def test_lines_added_updated_and_removed_through_graphql(
    api: Api, catalog_service: CatalogService
) -> None:
    a, b = await skus_priced(catalog_service, 1250, 399)
    cart = await api.create()

    added = await api.add(cart["id"], [{"sku": a, "quantity": 2}, {"sku": b, "quantity": 1}])
    assert added["errors"] == []
    assert added["cart"]["itemCount"] == 3
    assert added["cart"]["total"] == usd("28.99")
    name = added["cart"]["lines"][0]["productName"]
    assert name.startswith("Product ")
    assert added["cart"]["lines"] == [
        {
            "sku": a,
            "quantity": 2,
            "productName": name,
            "available": True,
            "unitPrice": usd("12.50"),
            "total": usd("25.00"),
        },
        {
            "sku": b,
            "quantity": 1,
            "productName": name,
            "available": True,
            "unitPrice": usd("3.99"),
            "total": usd("3.99"),
        },
    ]

    updated = await api(
        "mutation($id: ID!, $lines: [CartLineInput!]!) { cartLinesUpdate(cartId: $id, lines: $lines) "
        "{ cart { total { amount } lines { sku quantity } } errors { field code } } }",
        id=cart["id"],
        lines=[{"sku": a, "quantity": 1}],
    )
    assert updated["cartLinesUpdate"] == {
        "cart": {
            "total": {"amount": "16.49"},
            "lines": [{"sku": a, "quantity": 1}, {"sku": b, "quantity": 1}],
        },
        "errors": [],
    }

    removed = await api(
        "mutation($id: ID!, $skus: [String!]!) { cartLinesRemove(cartId: $id, skus: $skus) "
        "{ cart { itemCount lines { sku } } errors { field code } } }",
        id=cart["id"],
        skus=[b],
    )
    assert removed["cartLinesRemove"] == {"cart": {"itemCount": 1, "lines": [{"sku": a}]}, "errors": []}


async def test_refused_additions_come_back_as_payload_errors(
    api: Api, catalog_service: CatalogService
) -> None:
    [hidden] = await skus_priced(catalog_service, 100, published=False)
    cart = await api.create()

    payload = await api.add(
        cart["id"],
        [
            {"sku": "NO-SUCH-SKU-Q", "quantity": 1},
            {"sku": hidden, "quantity": 1},
            {"sku": "OK-1", "quantity": 0},
        ],
    )

    assert payload["cart"] is None
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [
        ("lines.2.quantity", CartLinesAddErrorCode.QUANTITY_OUT_OF_RANGE.value)
    ]
    payload = await api.add(
        cart["id"], [{"sku": "NO-SUCH-SKU-Q", "quantity": 1}, {"sku": hidden, "quantity": 1}]
    )
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [
        ("lines.0.sku", CartLinesAddErrorCode.UNKNOWN_SKU.value),
        ("lines.1.sku", CartLinesAddErrorCode.NOT_PURCHASABLE.value),
    ]
    assert (await api.cart(cart["id"]))["lines"] == []


async def test_a_malformed_cart_id_is_invalid_and_an_unknown_one_not_found(api: Api) -> None:
    bad = await api.add("not-a-uuid", [{"sku": "A-1", "quantity": 1}])
    missing = await api.add(str(uuid.uuid4()), [{"sku": "A-1", "quantity": 1}])
    assert [(e["field"], e["code"]) for e in bad["errors"]] == [
        ("cartId", CartLinesAddErrorCode.INVALID.value)
    ]
    assert [(e["field"], e["code"]) for e in missing["errors"]] == [
        ("cartId", CartLinesAddErrorCode.CART_NOT_FOUND.value)
    ]
    assert await api.cart("not-a-uuid") is None


async def test_another_customers_cart_is_null_and_cannot_be_changed(
    api: Api, catalog_service: CatalogService
) -> None:
    [sku] = await skus_priced(catalog_service, 100)
    owner, other = customer(), customer()
    cart = await api.create(owner)
    await api.add(cart["id"], [{"sku": sku, "quantity": 1}], owner)

    assert await api.cart(cart["id"], other) is None
    assert await api.cart(cart["id"]) is None
    refused = await api.add(cart["id"], [{"sku": sku, "quantity": 1}], other)
    assert [(e["field"], e["code"]) for e in refused["errors"]] == [
        ("cartId", CartLinesAddErrorCode.CART_NOT_FOUND.value)
    ]
    for mutation, codes in (
        (
            f'cartLinesUpdate(cartId: "{cart["id"]}", lines: [{{sku: "{sku}", quantity: 5}}])',
            CartLinesUpdateErrorCode,
        ),
        (f'cartLinesRemove(cartId: "{cart["id"]}", skus: ["{sku}"])', CartLinesRemoveErrorCode),
    ):
        data = await api(
            f"mutation {{ result: {mutation} {{ cart {{ id }} errors {{ field code }} }} }}", other
        )
        assert data["result"] == {
            "cart": None,
            "errors": [{"field": "cartId", "code": codes.CART_NOT_FOUND.value}],
        }
    assert (await api.cart(cart["id"], owner))["lines"][0]["quantity"] == 1
