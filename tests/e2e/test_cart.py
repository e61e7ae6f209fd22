"""A storefront fills a cart through the public API; totals follow current prices."""

from __future__ import annotations

from tests.conftest import ref
from tests.e2e.api_client import GraphQLClient
from tests.e2e.test_storefront import create_category, create_product

CART_FIELDS = (
    "cart { id itemCount total { amount currency } lines { sku quantity total { amount } available } }"
)
CREATE = f"mutation {{ cartCreate {{ {CART_FIELDS} errors {{ field code message }} }} }}"
ADD = f"""mutation($id: ID!, $lines: [CartLineInput!]!) {{
  cartLinesAdd(cartId: $id, lines: $lines) {{ {CART_FIELDS} errors {{ field code message }} }}
}}"""
VARIANT_UPDATE = """mutation($id: ID!, $input: VariantUpdateInput!) {
  variantUpdate(id: $id, input: $input) { variant { sku } errors { field code message } }
}"""


async def test_a_cart_totals_current_prices(api: GraphQLClient) -> None:
    category = await create_category(api)
    product = await create_product(api, category, "Cart tee", ["12.50", "15.00"])
    small, large = product["variants"]
    cart = (await api.mutate(CREATE, {}, "cartCreate"))["cart"]
    lines = [{"sku": small["sku"], "quantity": 2}, {"sku": large["sku"], "quantity": 1}]
    filled = (await api.mutate(ADD, {"id": cart["id"], "lines": lines}, "cartLinesAdd"))["cart"]
    assert (filled["itemCount"], filled["total"]) == (3, {"amount": "40.00", "currency": "USD"})

    await api.mutate(
        VARIANT_UPDATE,
        {"id": large["id"], "input": {"price": {"amount": "20.00", "currency": "USD"}}},
        "variantUpdate",
    )
    repriced = await api.data("query($id: ID!) { cart(id: $id) { total { amount } } }", {"id": cart["id"]})
    assert repriced == {"cart": {"total": {"amount": "45.00"}}}


async def test_unknown_skus_and_bad_quantities_are_typed_errors(api: GraphQLClient) -> None:
    cart = (await api.mutate(CREATE, {}, "cartCreate"))["cart"]
    unknown = await api.data(ADD, {"id": cart["id"], "lines": [{"sku": ref("NOPE").upper(), "quantity": 1}]})
    assert [e["code"] for e in unknown["cartLinesAdd"]["errors"]] == ["UNKNOWN_SKU"]
    category = await create_category(api)
    product = await create_product(api, category, "Cart cap", ["5.00"])
    too_many = await api.data(
        ADD, {"id": cart["id"], "lines": [{"sku": product["variants"][0]["sku"], "quantity": 1000}]}
    )
    assert [e["code"] for e in too_many["cartLinesAdd"]["errors"]] == ["QUANTITY_OUT_OF_RANGE"]
    missing = await api.data(
        "query($id: ID!) { cart(id: $id) { id } }", {"id": "0b6f3c8e-4a8f-4a53-9d4c-2f3e5a6b7c8d"}
    )
    assert missing == {"cart": None}
