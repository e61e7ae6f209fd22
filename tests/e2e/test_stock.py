"""Staff stock operations through GraphQL, and the storefront seeing them via inventory events."""

from __future__ import annotations

from tests.conftest import ref
from tests.e2e.api_client import GraphQLClient
from tests.e2e.test_storefront import LISTING, create_category, create_product, eventually

CREATE_WAREHOUSE = """
mutation($input: WarehouseCreateInput!) {
  warehouseCreate(input: $input) { warehouse { id code name } errors { field code message } }
}"""
ADJUST = """
mutation($input: StockAdjustInput!) {
  stockAdjust(input: $input) {
    adjustment { delta onHandAfter reason actor }
    stock { sku warehouseCode onHand reserved available }
    errors { field code message }
  }
}"""


async def create_warehouse(api: GraphQLClient) -> dict[str, str]:
    code = ref("wh")
    result = await api.mutate(CREATE_WAREHOUSE, {"input": {"code": code, "name": "Depot"}}, "warehouseCreate")
    warehouse: dict[str, str] = result["warehouse"]
    return warehouse


async def test_received_stock_makes_a_product_sellable_on_the_storefront(api: GraphQLClient) -> None:
    category = await create_category(api)
    product = await create_product(api, category, "Stocked tee", ["20.00"])
    [variant] = product["variants"]
    warehouse = await create_warehouse(api)

    async def in_stock_names() -> list[str]:
        data = await api.data(LISTING, {"first": 5, "filter": {"category": category, "inStock": True}})
        return [e["node"]["name"] for e in data["products"]["edges"]]

    assert await in_stock_names() == []
    adjust = {"sku": variant["sku"], "warehouseId": warehouse["id"], "reason": "RECEIVED", "delta": 7}
    result = await api.mutate(ADJUST, {"input": adjust}, "stockAdjust")
    adjustment = result["adjustment"]
    assert (adjustment["delta"], adjustment["onHandAfter"], adjustment["reason"]) == (7, 7, "RECEIVED")
    assert adjustment["actor"].endswith("@example.com")  # the signed-in staff member, for the audit trail
    assert result["stock"] == [
        {
            "sku": variant["sku"],
            "warehouseCode": warehouse["code"],
            "onHand": 7,
            "reserved": 0,
            "available": 7,
        }
    ]

    async def sellable() -> bool:
        return await in_stock_names() == ["Stocked tee"]

    await eventually(sellable)  # inventory event -> catalog read model -> cache dropped
    data = await api.data(LISTING, {"first": 1, "filter": {"category": category}})
    assert data["products"]["edges"][0]["node"]["variants"][0]["quantityAvailable"] == 7

    counted = {"sku": variant["sku"], "warehouseId": warehouse["id"], "reason": "COUNTED", "setOnHand": 0}
    await api.mutate(ADJUST, {"input": counted}, "stockAdjust")

    async def sold_out() -> bool:
        return await in_stock_names() == []

    await eventually(sold_out)


async def test_an_adjustment_is_applied_once_per_idempotency_key(api: GraphQLClient) -> None:
    warehouse = await create_warehouse(api)
    sku = ref("SKU").upper()
    key = ref("key")
    adjust = {
        "sku": sku,
        "warehouseId": warehouse["id"],
        "reason": "RECEIVED",
        "delta": 5,
        "idempotencyKey": key,
    }
    first = await api.mutate(ADJUST, {"input": adjust}, "stockAdjust")
    again = await api.mutate(ADJUST, {"input": adjust}, "stockAdjust")
    assert (
        first["stock"]
        == again["stock"]
        == [{"sku": sku, "warehouseCode": warehouse["code"], "onHand": 5, "reserved": 0, "available": 5}]
    )
    reused = await api.data(ADJUST, {"input": {**adjust, "delta": 6}})
    assert [(e["field"], e["code"]) for e in reused["stockAdjust"]["errors"]] == [
        ("idempotencyKey", "IDEMPOTENCY_KEY_REUSED")
    ]


async def test_stock_errors_are_typed(api: GraphQLClient) -> None:
    warehouse = await create_warehouse(api)
    duplicate = await api.data(CREATE_WAREHOUSE, {"input": {"code": warehouse["code"], "name": "Again"}})
    assert [e["code"] for e in duplicate["warehouseCreate"]["errors"]] == ["DUPLICATE_CODE"]
    sku = ref("SKU").upper()
    below_zero = {"sku": sku, "warehouseId": warehouse["id"], "reason": "DAMAGED", "delta": -1}
    data = await api.data(ADJUST, {"input": below_zero})
    assert [e["code"] for e in data["stockAdjust"]["errors"]] == ["INSUFFICIENT_STOCK"]
    unknown = {
        "sku": sku,
        "warehouseId": "8f1c0b55-5d7a-4a8e-9c37-1d2f3e4a5b6c",
        "reason": "RECEIVED",
        "delta": 1,
    }
    data = await api.data(ADJUST, {"input": unknown})
    assert [(e["field"], e["code"]) for e in data["stockAdjust"]["errors"]] == [
        ("warehouseId", "WAREHOUSE_NOT_FOUND")
    ]
    levels = await api.data("query($sku: String!) { stockLevels(sku: $sku) { onHand } }", {"sku": sku})
    assert levels == {"stockLevels": []}  # nothing was written by the refused adjustments
