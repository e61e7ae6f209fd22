"""The gateway's rate limits (gateway.rate_limits), on both topologies: anonymous `cartCreate` per client
address, `checkoutComplete` per customer and per address when anonymous, `passwordResetRequest` per
email and per address, with the address decided by MERCATO_TRUSTED_PROXIES exactly as for the sign-in
throttle."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp

from mercato.app.runtime import Runtime
from mercato.app.topology import GrpcTopology
from mercato.cart.domain.errors import CartCreateErrorCode
from mercato.customers import CreateToken, RegisterAccount
from mercato.customers.domain.errors import PasswordResetRequestErrorCode
from mercato.gateway.app import create_app
from mercato.orders.domain.errors import CheckoutCompleteErrorCode
from mercato.platform.config import Settings
from tests.conftest import ref
from tests.e2e.api_client import GraphQLClient
from tests.e2e.conftest import PASSWORD, TOPOLOGIES

LIMIT = 3
RESET_PER_IP = 5
CART_CREATE = "mutation { cartCreate { cart { id } errors { field code } } }"
CHECKOUT = """mutation($cart: ID!) {
  checkoutComplete(cartId: $cart, paymentToken: "tok_success", idempotencyKey: "k-1", shippingAddress: {
    firstName: "Ada", lastName: "Lovelace", line1: "1 Main St", city: "London", postalCode: "N1 9GU",
    country: "GB"}) { order { id } errors { field code } }
}"""
_addresses = (f"198.18.{n // 250}.{n % 250 + 1}" for n in itertools.count())


@pytest.fixture(scope="module", params=TOPOLOGIES)
async def limited_app(
    request: pytest.FixtureRequest, settings: Settings, runtime: Runtime
) -> AsyncIterator[ASGIApp]:
    """The gateway with small limits and one trusted proxy range, on either topology."""
    limited = settings.model_copy(
        update={
            "cart_create_per_ip": LIMIT,
            "checkout_per_customer": LIMIT,
            "checkout_per_ip": LIMIT,
            "password_reset_requests_per_email": LIMIT,
            "password_reset_requests_per_ip": RESET_PER_IP,
            "trusted_proxies": "10.77.0.0/16",
        }
    )
    if request.param == "in-process":
        yield create_app(limited, runtime)
        return
    topology = GrpcTopology(runtime)
    yield create_app(limited, runtime, await topology.start())
    await topology.stop()


@pytest.fixture
async def connect(limited_app: ASGIApp) -> AsyncIterator[Any]:
    opened: list[httpx.AsyncClient] = []

    def make(peer: str, headers: dict[str, str] | None = None) -> GraphQLClient:
        transport = httpx.ASGITransport(app=limited_app, client=(peer, 40000))
        http = httpx.AsyncClient(transport=transport, base_url="http://mercato.test", headers=headers or {})
        opened.append(http)
        return GraphQLClient(http)

    yield make
    for http in opened:
        await http.aclose()


async def _customer_token(runtime: Runtime) -> str:
    email = f"{ref('limited')}@example.com"
    await runtime.customers_client.register(RegisterAccount(email, PASSWORD))
    return (await runtime.customers_client.create_token(CreateToken(email, PASSWORD))).access_token


async def _cart_create(client: GraphQLClient) -> tuple[str, bool]:
    payload = (await client.data(CART_CREATE))["cartCreate"]
    code = payload["errors"][0]["code"] if payload["errors"] else "OK"
    return code, payload["cart"] is not None


RESET_REQUEST = """mutation($email: String!) {
  passwordResetRequest(email: $email) { requested errors { field code } }
}"""


async def _reset_request(client: GraphQLClient, email: str) -> str:
    payload = (await client.data(RESET_REQUEST, {"email": email}))["passwordResetRequest"]
    if payload["errors"]:
        assert payload["requested"] is not True
        return str(payload["errors"][0]["code"])
    assert payload["requested"] is True
    return "OK"


async def _checkout(client: GraphQLClient) -> str:
    payload = (await client.data(CHECKOUT, {"cart": str(uuid.uuid4())}))["checkoutComplete"]
    assert payload["order"] is None
    return str(payload["errors"][0]["code"])


async def test_anonymous_carts_are_limited_per_address(connect: Any) -> None:
    # Given one anonymous address at its limit
    busy, other = connect(next(_addresses)), connect(next(_addresses))
    allowed = [await _cart_create(busy) for _ in range(LIMIT)]

    # When it asks for one more cart, and another address asks for its first
    refused = await _cart_create(busy)
    elsewhere = await _cart_create(other)

    # Then only the busy address is refused, with the mutation's own code, and no cart is made for it
    assert allowed == [("OK", True)] * LIMIT
    assert refused == (CartCreateErrorCode.TOO_MANY_ATTEMPTS.value, False)
    assert elsewhere == ("OK", True)


async def test_a_forged_forwarded_for_does_not_escape_the_counter_but_a_trusted_proxy_separates_clients(
    connect: Any,
) -> None:
    # Given an untrusted peer that claims another address on every request
    peer = next(_addresses)
    forged = [
        await _cart_create(connect(peer, {"X-Forwarded-For": next(_addresses)})) for _ in range(LIMIT + 1)
    ]
    # And two shoppers behind the trusted proxy, one of them at its limit
    proxy, first, second = "10.77.0.9", next(_addresses), next(_addresses)
    behind = [await _cart_create(connect(proxy, {"X-Forwarded-For": first})) for _ in range(LIMIT + 1)]
    neighbour = await _cart_create(connect(proxy, {"X-Forwarded-For": second}))

    # Then the forging peer is counted as itself; behind the proxy each shopper has its own counter
    too_many = (CartCreateErrorCode.TOO_MANY_ATTEMPTS.value, False)
    assert forged == [("OK", True)] * LIMIT + [too_many]
    assert behind == [("OK", True)] * LIMIT + [too_many]
    assert neighbour == ("OK", True)


async def test_a_signed_in_customer_gets_their_cart_back_unlimited(connect: Any, runtime: Runtime) -> None:
    customer = connect(next(_addresses), {"Authorization": f"Bearer {await _customer_token(runtime)}"})

    answers = [await _cart_create(customer) for _ in range(LIMIT + 2)]

    assert answers == [("OK", True)] * (LIMIT + 2)


async def test_checkouts_are_limited_per_customer_whatever_the_address(
    connect: Any, runtime: Runtime
) -> None:
    # Given a customer who tried LIMIT checkouts, from changing addresses
    token = await _customer_token(runtime)
    tries = [
        await _checkout(connect(next(_addresses), {"Authorization": f"Bearer {token}"})) for _ in range(LIMIT)
    ]

    # When they try again from yet another address, and another customer tries from the first one
    refused = await _checkout(connect(next(_addresses), {"Authorization": f"Bearer {token}"}))
    other = await _checkout(
        connect(next(_addresses), {"Authorization": f"Bearer {await _customer_token(runtime)}"})
    )

    # Then only the first customer is refused (the others reached the use case: unknown cart)
    assert tries == [CheckoutCompleteErrorCode.CART_NOT_FOUND.value] * LIMIT
    assert refused == CheckoutCompleteErrorCode.TOO_MANY_ATTEMPTS.value
    assert other == CheckoutCompleteErrorCode.CART_NOT_FOUND.value


async def test_anonymous_checkouts_are_limited_per_address(connect: Any) -> None:
    anonymous = connect(next(_addresses))

    answers = [await _checkout(anonymous) for _ in range(LIMIT + 1)]

    unauthenticated = CheckoutCompleteErrorCode.UNAUTHENTICATED.value
    assert answers == [unauthenticated] * LIMIT + [CheckoutCompleteErrorCode.TOO_MANY_ATTEMPTS.value]


async def test_reset_emails_are_limited_per_email_however_it_is_spelled_and_whether_or_not_it_has_an_account(
    connect: Any, runtime: Runtime
) -> None:
    # Given an existing account and an email without one, each asked for LIMIT times from changing
    # addresses (the known one spelled differently each time)
    known = f"{ref('reset')}@example.com"
    await runtime.customers_client.register(RegisterAccount(known, PASSWORD))
    unknown = f"{ref('nobody')}@example.com"
    spellings = [known, known.upper(), known.capitalize()]
    first = [await _reset_request(connect(next(_addresses)), spellings[i]) for i in range(LIMIT)]
    first_unknown = [await _reset_request(connect(next(_addresses)), unknown) for _ in range(LIMIT)]

    # When each is asked for once more, from yet another address
    refused = await _reset_request(connect(next(_addresses)), known)
    refused_unknown = await _reset_request(connect(next(_addresses)), unknown)

    # Then both are refused alike (the limit tells nothing about the account), other emails are not
    too_many = PasswordResetRequestErrorCode.TOO_MANY_ATTEMPTS.value
    assert first == ["OK"] * LIMIT and first_unknown == ["OK"] * LIMIT
    assert refused == too_many and refused_unknown == too_many
    assert await _reset_request(connect(next(_addresses)), f"{ref('other')}@example.com") == "OK"


async def test_reset_emails_are_limited_per_address(connect: Any) -> None:
    address = next(_addresses)

    answers = [
        await _reset_request(connect(address), f"{ref('spray')}@example.com") for _ in range(RESET_PER_IP + 1)
    ]

    too_many = PasswordResetRequestErrorCode.TOO_MANY_ATTEMPTS.value
    assert answers == ["OK"] * RESET_PER_IP + [too_many]
