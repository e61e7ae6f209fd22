"""A storefront client using only the public GraphQL API: register, sign in, fill a cart, check out."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from typing import Any

import httpx
from starlette.types import ASGIApp

from mercato.app.runtime import Runtime
from mercato.orders import OrderStatus, PlaceOrder
from mercato.payments.domain.breaker import BreakerSettings, CircuitBreaker
from mercato.platform.auth import Principal, Role
from mercato.platform.postal import PostalAddress
from tests.conftest import ref
from tests.e2e.api_client import GraphQLClient
from tests.e2e.test_stock import ADJUST, create_warehouse
from tests.e2e.test_storefront import LISTING, create_category, create_product, eventually

ADDRESS = {
    "firstName": "Ada",
    "lastName": "Lovelace",
    "line1": "1 Analytical Way",
    "city": "London",
    "country": "GB",
}
CHECKOUT = """
mutation($cart: ID!, $token: String!, $address: AddressInput!, $key: String!) {
  checkoutComplete(cartId: $cart, paymentToken: $token, shippingAddress: $address, idempotencyKey: $key) {
    order { id status reason total { amount currency } lines { sku quantity } history { status } }
    errors { field code message }
  }
}"""
STOCK = "query($sku: String!) { stockLevels(sku: $sku) { onHand reserved available } }"


async def shopper(app: ASGIApp, clients: list[httpx.AsyncClient]) -> GraphQLClient:
    """Registers and signs in through the API, like a storefront would."""
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mercato.test")
    clients.append(http)
    anonymous = GraphQLClient(http)
    email, password = f"{ref('shopper')}@example.com", "a long enough password"
    credentials = {"input": {"email": email, "password": password}}
    await anonymous.mutate(
        "mutation($input: AccountRegisterInput!) { accountRegister(input: $input) { errors { code } } }",
        credentials,
        "accountRegister",
    )
    tokens = await anonymous.mutate(
        "mutation($input: TokenCreateInput!) { tokenCreate(input: $input) { accessToken errors { code } } }",
        credentials,
        "tokenCreate",
    )
    http.headers["Authorization"] = f"Bearer {tokens['accessToken']}"
    return anonymous


async def stocked_sku(api: GraphQLClient, units: int, price: str = "25.00") -> str:
    category = await create_category(api)
    product = await create_product(api, category, "Checkout tee", [price])
    sku: str = product["variants"][0]["sku"]
    warehouse = await create_warehouse(api)
    adjust = {"sku": sku, "warehouseId": warehouse["id"], "reason": "RECEIVED", "delta": units}
    await api.mutate(ADJUST, {"input": adjust}, "stockAdjust")
    return sku


async def cart_with(client: GraphQLClient, sku: str, quantity: int) -> str:
    cart = (await client.mutate("mutation { cartCreate { cart { id } errors { code } } }", {}, "cartCreate"))[
        "cart"
    ]
    add = (
        "mutation($id: ID!, $lines: [CartLineInput!]!) "
        "{ cartLinesAdd(cartId: $id, lines: $lines) { errors { code } } }"
    )
    await client.mutate(
        add, {"id": cart["id"], "lines": [{"sku": sku, "quantity": quantity}]}, "cartLinesAdd"
    )
    cart_id: str = cart["id"]
    return cart_id


async def items_once_settled(client: GraphQLClient, cart_id: str, within: float = 15.0) -> int:
    """The cart's item count once it stops holding anything, or as it stands after `within` seconds:
    the cart context empties a cart when the order's confirmation event reaches it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        cart = await client.data("query($id: ID!) { cart(id: $id) { itemCount } }", {"id": cart_id})
        count: int = cart["cart"]["itemCount"]
        if count == 0 or loop.time() >= deadline:
            return count
        await asyncio.sleep(0.1)


async def checkout(client: GraphQLClient, cart_id: str, token: str, key: str) -> dict[str, Any]:
    variables = {"cart": cart_id, "token": token, "address": ADDRESS, "key": key}
    payload: dict[str, Any] = (await client.data(CHECKOUT, variables))["checkoutComplete"]
    return payload


async def test_a_customer_checks_out_and_the_stock_is_sold(
    api: GraphQLClient, app: ASGIApp, clients: list[httpx.AsyncClient]
) -> None:
    sku = await stocked_sku(api, units=5)
    customer = await shopper(app, clients)
    cart_id = await cart_with(customer, sku, 2)
    key = ref("checkout")
    result = await checkout(customer, cart_id, "tok_success", key)
    assert result["errors"] == []
    order = result["order"]
    assert (order["status"], order["reason"]) == ("CONFIRMED", None)
    assert order["total"] == {"amount": "50.00", "currency": "USD"}
    assert order["lines"] == [{"sku": sku, "quantity": 2}]
    assert order["history"][0]["status"] == "PENDING" and order["history"][-1]["status"] == "CONFIRMED"
    assert await api.data(STOCK, {"sku": sku}) == {
        "stockLevels": [{"onHand": 3, "reserved": 0, "available": 3}]
    }

    again = await checkout(customer, cart_id, "tok_success", key)  # a retry: same order, no second charge
    assert again["order"]["id"] == order["id"]
    assert await api.data(STOCK, {"sku": sku}) == {
        "stockLevels": [{"onHand": 3, "reserved": 0, "available": 3}]
    }
    mine = await customer.data("query { myOrders(first: 5) { nodes { id status } } }")
    assert mine["myOrders"]["nodes"] == [{"id": order["id"], "status": "CONFIRMED"}]
    via_me = await customer.data("query { me { orders(first: 5) { nodes { id } hasNextPage } } }")
    assert via_me == {"me": {"orders": {"nodes": [{"id": order["id"]}], "hasNextPage": False}}}
    assert await items_once_settled(customer, cart_id) == 0  # a confirmed order empties the cart


async def test_the_listing_follows_the_units_available_after_a_stock_change_and_after_a_sale(
    api: GraphQLClient, app: ASGIApp, clients: list[httpx.AsyncClient]
) -> None:
    # Given a product with 5 units, listed with its availability
    category = await create_category(api)
    product = await create_product(api, category, "Counted tee", ["25.00"])
    sku = product["variants"][0]["sku"]
    warehouse = await create_warehouse(api)
    receive = {"sku": sku, "warehouseId": warehouse["id"], "reason": "RECEIVED", "delta": 5}
    await api.mutate(ADJUST, {"input": receive}, "stockAdjust")

    async def listed(units: int) -> bool:
        data = await api.data(LISTING, {"first": 5, "filter": {"category": category}})
        variants = [v for e in data["products"]["edges"] for v in e["node"]["variants"]]
        return variants == [
            {
                "sku": sku,
                "quantityAvailable": units,
                "inStock": units > 0,
                "price": {"amount": "25.00", "currency": "USD"},
            }
        ]

    await eventually(lambda: listed(5))

    # When 3 more units are received (no flip between in and out of stock): the listing follows
    await api.mutate(ADJUST, {"input": {**receive, "delta": 3}}, "stockAdjust")
    await eventually(lambda: listed(8))

    # When a customer buys 2: the listing and the product page follow, as the inventory says
    customer = await shopper(app, clients)
    result = await checkout(customer, await cart_with(customer, sku, 2), "tok_success", ref("checkout"))
    assert result["order"]["status"] == "CONFIRMED"
    await eventually(lambda: listed(6))
    page = await api.data(
        "query($slug: String!) { product(slug: $slug) { variants { quantityAvailable inStock } } }",
        {"slug": product["slug"]},
    )
    assert page == {"product": {"variants": [{"quantityAvailable": 6, "inStock": True}]}}
    assert await api.data(STOCK, {"sku": sku}) == {
        "stockLevels": [{"onHand": 6, "reserved": 0, "available": 6}]
    }


async def test_a_declined_payment_rejects_the_order_and_restores_stock(
    api: GraphQLClient, app: ASGIApp, clients: list[httpx.AsyncClient]
) -> None:
    sku = await stocked_sku(api, units=4)
    customer = await shopper(app, clients)
    cart_id = await cart_with(customer, sku, 3)
    result = await checkout(customer, cart_id, "tok_decline", ref("checkout"))
    assert (result["order"]["status"], result["order"]["reason"]) == ("REJECTED", "PAYMENT_DECLINED")
    assert await api.data(STOCK, {"sku": sku}) == {
        "stockLevels": [{"onHand": 4, "reserved": 0, "available": 4}]
    }


async def test_checkout_refusals_are_typed(
    api: GraphQLClient, anon_api: GraphQLClient, app: ASGIApp, clients: list[httpx.AsyncClient]
) -> None:
    sku = await stocked_sku(api, units=1)
    customer = await shopper(app, clients)
    cart_id = await cart_with(customer, sku, 1)
    anonymous = await checkout(anon_api, cart_id, "tok_success", ref("k"))
    assert [e["code"] for e in anonymous["errors"]] == ["UNAUTHENTICATED"]
    stranger = await shopper(app, clients)
    assert [e["code"] for e in (await checkout(stranger, cart_id, "tok_success", ref("k")))["errors"]] == [
        "CART_NOT_FOUND"
    ]
    bad_address = {
        "cart": cart_id,
        "token": "tok_success",
        "address": {**ADDRESS, "country": "Britain"},
        "key": "k",
    }
    errors = (await customer.data(CHECKOUT, bad_address))["checkoutComplete"]["errors"]
    assert [(e["field"], e["code"]) for e in errors] == [("shippingAddress.country", "INVALID")]
    other = await stranger.data(
        "query($id: ID!) { order(id: $id) { id } }", {"id": "5b1e3c9a-0d7e-4f21-8c3b-6a5d4e3f2a1b"}
    )
    assert other == {"order": None}


async def test_a_checkout_is_refused_with_a_code_while_payments_are_paused(
    api: GraphQLClient, app: ASGIApp, clients: list[httpx.AsyncClient], runtime: Runtime
) -> None:
    sku = await stocked_sku(api, units=1)
    customer = await shopper(app, clients)
    cart_id = await cart_with(customer, sku, 1)
    key = ref("checkout")
    # Given payments whose provider stopped answering: its circuit breaker is open for 60 s
    kept = runtime.payments.runner.breaker
    paused = CircuitBreaker(BreakerSettings(failures_to_open=1, open_seconds=60.0))
    paused.failed()
    runtime.payments.runner.breaker = paused
    try:
        # When a customer checks out, the checkout is refused at once, with its code
        refused = await checkout(customer, cart_id, "tok_success", key)
    finally:
        runtime.payments.runner.breaker = kept
    assert refused["order"] is None
    assert [(e["field"], e["code"]) for e in refused["errors"]] == [(None, "PAYMENTS_PAUSED")]
    assert "payments are paused for" in refused["errors"][0]["message"]
    # and nothing was placed: the stock is untouched, the cart keeps its line
    assert await api.data(STOCK, {"sku": sku}) == {
        "stockLevels": [{"onHand": 1, "reserved": 0, "available": 1}]
    }
    assert await customer.data("query($id: ID!) { cart(id: $id) { itemCount } }", {"id": cart_id}) == {
        "cart": {"itemCount": 1}
    }

    # When the provider answers again, the same checkout goes through
    placed = await checkout(customer, cart_id, "tok_success", key)
    assert placed["errors"] == []
    assert placed["order"]["status"] == "CONFIRMED"


async def test_200_concurrent_checkouts_for_20_units_sell_exactly_20(
    api: GraphQLClient, app: ASGIApp, clients: list[httpx.AsyncClient], runtime: Runtime
) -> None:
    sku = await stocked_sku(api, units=20, price="10.00")
    customers = [await shopper(app, clients) for _ in range(10)]
    carts = [await cart_with(customer, sku, 1) for customer in customers]
    attempts = [(customers[i % 10], carts[i % 10], ref("order")) for i in range(200)]
    results = await asyncio.gather(*(checkout(c, cart, "tok_success", key) for c, cart, key in attempts))
    # A checkout that reads its cart after an order from that cart was confirmed (which empties it)
    # finds it empty: on a loaded machine some of the 200 start that late. Every other one is placed.
    refused = [(cart, r["errors"]) for (_, cart, _), r in zip(attempts, results, strict=True) if r["errors"]]
    assert all([e["code"] for e in errors] == ["CART_EMPTY"] for _, errors in refused), refused
    placed = [(attempt, r) for attempt, r in zip(attempts, results, strict=True) if not r["errors"]]
    order_ids = [r["order"]["id"] for _, r in placed]

    async def settled() -> list[dict[str, Any]]:
        views = [await runtime.orders_client.order(uuid.UUID(i)) for i in order_ids]
        return [{"status": str(v.status), "reason": str(v.reason)} for v in views if v is not None]

    deadline = asyncio.get_running_loop().time() + 60
    while any(o["status"] not in ("CONFIRMED", "REJECTED") for o in await settled()):
        assert asyncio.get_running_loop().time() < deadline, "orders did not settle"
        await asyncio.sleep(0.2)
    outcomes = Counter((o["status"], o["reason"]) for o in await settled())
    assert outcomes == {("CONFIRMED", "None"): 20, ("REJECTED", "OUT_OF_STOCK"): len(placed) - 20}
    assert await api.data(STOCK, {"sku": sku}) == {
        "stockLevels": [{"onHand": 0, "reserved": 0, "available": 0}]
    }
    intents = [i for order_id in order_ids for i in await runtime.payments_client.intents_for_order(order_id)]
    assert Counter(str(i.status) for i in intents) == {"CAPTURED": 20}  # no authorization left open
    bought_from = {
        cart
        for ((_, cart, _), _), o in zip(placed, await settled(), strict=True)
        if o["status"] == "CONFIRMED"
    }
    assert {cart for cart, _ in refused} <= bought_from
    for customer, cart in zip(customers, carts, strict=True):
        if cart in bought_from:
            assert await items_once_settled(customer, cart) == 0


async def test_the_cart_is_emptied_by_a_confirmation_the_request_did_not_wait_for(
    api: GraphQLClient, app: ASGIApp, clients: list[httpx.AsyncClient], runtime: Runtime
) -> None:
    sku = await stocked_sku(api, units=3)
    customer = await shopper(app, clients)
    cart_id = await cart_with(customer, sku, 2)
    me = (await customer.data("query { me { id email } }"))["me"]
    principal = Principal(user_id=uuid.UUID(me["id"]), email=me["email"], role=Role.CUSTOMER)
    snapshot = await runtime.cart_client.checkout_snapshot(uuid.UUID(cart_id), principal)
    placed = await runtime.orders_client.place_order(
        PlaceOrder(
            customer_id=principal.user_id,
            idempotency_key=ref("checkout"),
            cart_id=uuid.UUID(cart_id),
            lines=[(line.sku, line.quantity, line.unit_price) for line in snapshot.lines],
            total=snapshot.total,
            shipping_address=PostalAddress(
                first_name="Ada", last_name="Lovelace", line1="1 Way", city="London", country="GB"
            ),
            payment_method="tok_success",
        ),
        wait_seconds=0,
    )
    assert placed.status is OrderStatus.PENDING  # answered before the saga settled

    assert await items_once_settled(customer, cart_id) == 0
    settled = await runtime.orders_client.wait_for_terminal(placed.id, 15)
    assert settled is not None and settled.status is OrderStatus.CONFIRMED


async def test_a_retried_checkout_returns_the_same_order_and_leaves_the_cart_empty(
    api: GraphQLClient, app: ASGIApp, clients: list[httpx.AsyncClient]
) -> None:
    sku, other_sku = await stocked_sku(api, units=5), await stocked_sku(api, units=5)
    customer = await shopper(app, clients)
    cart_id = await cart_with(customer, sku, 1)
    key = ref("checkout")
    first = await checkout(customer, cart_id, "tok_success", key)
    assert first["order"]["status"] == "CONFIRMED"
    assert await items_once_settled(customer, cart_id) == 0

    again = await checkout(customer, cart_id, "tok_success", key)

    assert (again["errors"], again["order"]["id"], again["order"]["status"]) == (
        [],
        first["order"]["id"],
        "CONFIRMED",
    )
    assert await items_once_settled(customer, cart_id) == 0
    assert await api.data(STOCK, {"sku": sku}) == {
        "stockLevels": [{"onHand": 4, "reserved": 0, "available": 4}]
    }
    # The same key for what is now another purchase is refused, not answered with the old order.
    await cart_with(customer, other_sku, 1)
    reused = await checkout(customer, cart_id, "tok_success", key)
    assert (reused["order"], [(e["field"], e["code"]) for e in reused["errors"]]) == (
        None,
        [("idempotencyKey", "IDEMPOTENCY_KEY_REUSED")],
    )


async def test_a_key_reused_for_another_cart_is_refused(
    api: GraphQLClient, anon_api: GraphQLClient, app: ASGIApp, clients: list[httpx.AsyncClient]
) -> None:
    sku = await stocked_sku(api, units=5)
    customer = await shopper(app, clients)
    own_cart = await cart_with(customer, sku, 1)
    key = ref("checkout")
    assert (await checkout(customer, own_cart, "tok_success", key))["order"]["status"] == "CONFIRMED"
    anonymous_cart = await cart_with(anon_api, sku, 1)  # reachable by whoever holds its id

    reused = await checkout(customer, anonymous_cart, "tok_success", key)

    assert (reused["order"], [(e["field"], e["code"]) for e in reused["errors"]]) == (
        None,
        [("idempotencyKey", "IDEMPOTENCY_KEY_REUSED")],
    )
    assert await items_once_settled(anon_api, anonymous_cart, within=0) == 1
    assert await api.data(STOCK, {"sku": sku}) == {
        "stockLevels": [{"onHand": 4, "reserved": 0, "available": 4}]
    }


async def test_an_anonymous_cart_is_merged_into_the_customers_on_sign_in(
    api: GraphQLClient, anon_api: GraphQLClient, app: ASGIApp, clients: list[httpx.AsyncClient]
) -> None:
    sku = await stocked_sku(api, units=5)
    customer = await shopper(app, clients)
    own_cart = await cart_with(customer, sku, 1)
    anonymous_cart = await cart_with(anon_api, sku, 2)
    me = await customer.data("query { me { email } }")
    sign_in = {
        "input": {"email": me["me"]["email"], "password": "a long enough password", "cartId": anonymous_cart}
    }
    await anon_api.mutate(
        "mutation($input: TokenCreateInput!) { tokenCreate(input: $input) { accessToken errors { code } } }",
        sign_in,
        "tokenCreate",
    )
    merged = await customer.data("query($id: ID!) { cart(id: $id) { itemCount } }", {"id": own_cart})
    assert merged == {"cart": {"itemCount": 3}}
    gone = await anon_api.data("query($id: ID!) { cart(id: $id) { itemCount } }", {"id": anonymous_cart})
    assert gone == {"cart": None}
