"""After the purchase through GraphQL: cancel, fulfil, refund, who may do which, and the ledger."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.types import ASGIApp

from mercato.app.runtime import Runtime
from mercato.platform.auth import Permission, Role
from tests.conftest import ref
from tests.e2e.api_client import GraphQLClient
from tests.e2e.conftest import SignIn
from tests.e2e.test_checkout import STOCK, cart_with, checkout, shopper, stocked_sku

ORDER = "order { id status refunded { amount currency } trackingNumber history { status actor note } }"
CANCEL = (
    'mutation($id: ID!) { orderCancel(id: $id, reason: "changed my mind") '
    f"{{ {ORDER} errors {{ code }} }} }}"
)
FULFILL = (
    "mutation($id: ID!, $t: String!) { orderFulfill(id: $id, trackingNumber: $t) "
    f"{{ {ORDER} errors {{ code }} }} }}"
)
REFUND = (
    "mutation($id: ID!, $amount: MoneyInput!, $key: String!) "
    f"{{ orderRefund(id: $id, amount: $amount, idempotencyKey: $key) {{ {ORDER} errors {{ code }} }} }}"
)


async def bought(api: GraphQLClient, customer: GraphQLClient, sku: str, quantity: int = 1) -> str:
    result = await checkout(customer, await cart_with(customer, sku, quantity), "tok_success", ref("k"))
    assert result["order"]["status"] == "CONFIRMED"
    order_id: str = result["order"]["id"]
    return order_id


async def run(client: GraphQLClient, mutation: str, name: str, **variables: Any) -> dict[str, Any]:
    payload: dict[str, Any] = (await client.data(mutation, variables))[name]
    return payload


def usd(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "USD"}


async def test_a_customer_cancels_a_confirmed_order_and_gets_money_and_stock_back(
    api: GraphQLClient, app: ASGIApp, clients: list[httpx.AsyncClient], runtime: Runtime
) -> None:
    sku = await stocked_sku(api, units=5)
    customer = await shopper(app, clients)
    order_id = await bought(api, customer, sku, 2)

    result = await run(customer, CANCEL, "orderCancel", id=order_id)

    assert result["errors"] == []
    assert (result["order"]["status"], result["order"]["refunded"]) == ("CANCELLED", usd("50.00"))
    assert result["order"]["history"][-1]["note"] == "changed my mind"
    [money] = await runtime.payments_client.reconcile(order_id)
    assert (money.captured, money.refunded, money.net) == (5000, 5000, 0)
    assert await api.data(STOCK, {"sku": sku}) == {
        "stockLevels": [{"onHand": 5, "reserved": 0, "available": 5}]
    }
    again = await run(customer, CANCEL, "orderCancel", id=order_id)  # a retry changes nothing
    assert (again["errors"], again["order"]["status"]) == ([], "CANCELLED")


async def test_a_shipped_order_cannot_be_cancelled_and_refunds_add_up(
    api: GraphQLClient, app: ASGIApp, clients: list[httpx.AsyncClient], runtime: Runtime
) -> None:
    sku = await stocked_sku(api, units=5)
    customer = await shopper(app, clients)
    order_id = await bought(api, customer, sku, 2)

    shipped = await run(api, FULFILL, "orderFulfill", id=order_id, t="TRK-1")
    assert (shipped["errors"], shipped["order"]["status"], shipped["order"]["trackingNumber"]) == (
        [],
        "FULFILLED",
        "TRK-1",
    )
    assert (await run(api, FULFILL, "orderFulfill", id=order_id, t="TRK-1"))["errors"] == []
    other = await run(api, FULFILL, "orderFulfill", id=order_id, t="TRK-2")
    assert [e["code"] for e in other["errors"]] == ["ALREADY_FULFILLED"]
    refused = await run(customer, CANCEL, "orderCancel", id=order_id)
    assert [e["code"] for e in refused["errors"]] == ["INVALID_STATE"]

    key = ref("refund")
    part = await run(api, REFUND, "orderRefund", id=order_id, amount=usd("12.50"), key=key)
    assert (part["errors"], part["order"]["status"], part["order"]["refunded"]) == (
        [],
        "PARTIALLY_REFUNDED",
        usd("12.50"),
    )
    retry = await run(api, REFUND, "orderRefund", id=order_id, amount=usd("12.50"), key=key)
    assert (retry["errors"], retry["order"]["refunded"]) == ([], usd("12.50"))
    reused = await run(api, REFUND, "orderRefund", id=order_id, amount=usd("1.00"), key=key)
    assert [e["code"] for e in reused["errors"]] == ["IDEMPOTENCY_KEY_REUSED"]
    too_much = await run(api, REFUND, "orderRefund", id=order_id, amount=usd("37.51"), key=ref("r"))
    assert [e["code"] for e in too_much["errors"]] == ["AMOUNT_EXCEEDS_CAPTURED"]
    rest = await run(api, REFUND, "orderRefund", id=order_id, amount=usd("37.50"), key=ref("r"))
    assert (rest["errors"], rest["order"]["status"], rest["order"]["refunded"]) == (
        [],
        "REFUNDED",
        usd("50.00"),
    )
    [money] = await runtime.payments_client.reconcile(order_id)
    assert money.net == 0


async def test_who_may_cancel_fulfil_and_refund(
    api: GraphQLClient,
    anon_api: GraphQLClient,
    sign_in: SignIn,
    app: ASGIApp,
    clients: list[httpx.AsyncClient],
    runtime: Runtime,
) -> None:
    sku = await stocked_sku(api, units=20, price="10.00")
    owner = await shopper(app, clients)
    stranger = await shopper(app, clients)
    bare_staff = await sign_in(Role.STAFF, [Permission.CATALOG_WRITE])
    manager = await sign_in(Role.STAFF, [Permission.ORDERS_MANAGE])
    cashier = await sign_in(Role.STAFF, [Permission.PAYMENTS_REFUND])
    orders = [await bought(api, owner, sku) for _ in range(6)]

    def codes(payload: dict[str, Any]) -> list[str]:
        return [e["code"] for e in payload["errors"]]

    async def attempt(client: GraphQLClient, what: str, order_id: str) -> list[str]:
        if what == "cancel":
            return codes(await run(client, CANCEL, "orderCancel", id=order_id))
        if what == "fulfil":
            return codes(await run(client, FULFILL, "orderFulfill", id=order_id, t=ref("t")))
        return codes(await run(client, REFUND, "orderRefund", id=order_id, amount=usd("1.00"), key=ref("k")))

    for what in ("cancel", "fulfil", "refund"):
        assert await attempt(anon_api, what, orders[0]) == ["UNAUTHENTICATED"]
        assert await attempt(stranger, what, orders[0]) == ["NOT_FOUND"]
        assert await attempt(bare_staff, what, orders[0]) == ["PERMISSION_DENIED"]
    assert await attempt(owner, "fulfil", orders[0]) == ["PERMISSION_DENIED"]
    assert await attempt(owner, "refund", orders[0]) == ["PERMISSION_DENIED"]
    assert await attempt(manager, "refund", orders[0]) == ["PERMISSION_DENIED"]
    assert await attempt(cashier, "fulfil", orders[0]) == ["PERMISSION_DENIED"]
    view = await owner.data("query($id: ID!) { order(id: $id) { status } }", {"id": orders[0]})
    assert view == {"order": {"status": "CONFIRMED"}}  # every refusal left it as it was

    assert await attempt(owner, "cancel", orders[0]) == []
    assert await attempt(manager, "cancel", orders[1]) == []
    assert await attempt(api, "cancel", orders[2]) == []
    assert await attempt(manager, "fulfil", orders[3]) == []
    assert await attempt(api, "fulfil", orders[4]) == []
    assert await attempt(cashier, "refund", orders[3]) == []
    assert await attempt(api, "refund", orders[5]) == []

    # The ledger: what was kept is exactly what the orders not cancelled still owe (10.00 each,
    # less 1.00 refunded on two of them); the cancelled ones kept nothing.
    kept = 0
    for order_id in orders:
        [money] = await runtime.payments_client.reconcile(order_id)
        kept += money.net
    assert kept == 3 * 1000 - 2 * 100
    assert await api.data(STOCK, {"sku": sku}) == {
        "stockLevels": [{"onHand": 17, "reserved": 0, "available": 17}]
    }
