"""The checkout scenario's storefront: shoppers that register, sign in and keep one cart each, and a
closed-loop driver (asyncio + httpx) that checks out at a fixed number of concurrent shoppers.

Latency is submit → terminal state: the `checkoutComplete` request, which waits server-side for
CONFIRMED/REJECTED (MERCATO_CHECKOUT_WAIT_SECONDS), plus polls of `order(id)` if it ever answers
PENDING. Refilling a cart after a confirmed order (one `cartLinesAdd`) is outside the latency but
inside the window, as it is for a real shopper.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.load import _percentile
from bench.validate import BadResponse

PASSWORD = "a long enough bench password"
ADDRESS = {"firstName": "Ada", "lastName": "Lovelace", "line1": "1 Way", "city": "London", "country": "GB"}
TERMINAL = ("CONFIRMED", "REJECTED")
SKUS = "query($n: Int!) { products(first: $n) { edges { node { variants { sku } } } } }"
REGISTER = "mutation($i: AccountRegisterInput!) { accountRegister(input: $i) { errors { code message } } }"
TOKEN = "mutation($i: TokenCreateInput!) { tokenCreate(input: $i) { accessToken errors { code message } } }"
CART = "mutation { cartCreate { cart { id } errors { code message } } }"
ADD = (
    "mutation($c: ID!, $l: [CartLineInput!]!) "
    "{ cartLinesAdd(cartId: $c, lines: $l) { errors { code message } } }"
)
CHECKOUT = (
    "mutation($c: ID!, $a: AddressInput!, $k: String!) { checkoutComplete(cartId: $c, "
    'paymentToken: "tok_success", shippingAddress: $a, idempotencyKey: $k) '
    "{ order { id status reason } errors { code message } } }"
)
ORDER = "query($id: ID!) { order(id: $id) { id status reason } }"


@dataclass
class Shopper:
    email: str
    token: str
    cart: str
    sku: str
    needs_line: bool = False  # a confirmed order emptied the cart


async def gql(
    http: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None, token: str | None = None
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await http.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    if response.status_code != 200:
        raise BadResponse(f"checkout: HTTP {response.status_code}: {response.text[:500]}")
    body: dict[str, Any] = response.json()
    if body.get("errors"):
        raise BadResponse(f"checkout: GraphQL errors: {str(body['errors'])[:500]}")
    data: dict[str, Any] = body["data"]
    for payload in data.values():
        if isinstance(payload, dict) and payload.get("errors"):
            raise BadResponse(f"checkout: payload errors: {payload['errors']}")
    return data


async def listed_skus(base_url: str, count: int) -> list[str]:
    """The first variant of each of the first `count` listed products (distinct SKUs, so shoppers
    do not queue on one stock row)."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        data = await gql(http, SKUS, {"n": min(count, 100)})
    skus = [e["node"]["variants"][0]["sku"] for e in data["products"]["edges"] if e["node"]["variants"]]
    if len(skus) < count:
        raise BadResponse(f"checkout: needs {count} listed products with variants, found {len(skus)}")
    return skus[:count]


async def _one_shopper(http: httpx.AsyncClient, tag: str, i: int, sku: str) -> Shopper:
    credentials = {"i": {"email": f"bench-{tag}-{i}@example.com", "password": PASSWORD}}
    await gql(http, REGISTER, credentials)
    token = str((await gql(http, TOKEN, credentials))["tokenCreate"]["accessToken"])
    cart = str((await gql(http, CART, token=token))["cartCreate"]["cart"]["id"])
    await gql(http, ADD, {"c": cart, "l": [{"sku": sku, "quantity": 1}]}, token)
    return Shopper(credentials["i"]["email"], token, cart, sku)


async def make_shoppers(base_url: str, skus: list[str]) -> list[Shopper]:
    """One customer per SKU, registered and signed in through the API (argon2: ~0.1 s each), each
    with a cart holding one unit of its SKU."""
    tag = secrets.token_hex(3)
    limit = asyncio.Semaphore(4)
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:

        async def make(i: int, sku: str) -> Shopper:
            async with limit:
                return await _one_shopper(http, tag, i, sku)

        return list(await asyncio.gather(*(make(i, sku) for i, sku in enumerate(skus))))


async def refill(base_url: str, shoppers: list[Shopper]) -> None:
    """Put the line back into every cart emptied by a confirmed order."""
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        for s in shoppers:
            if s.needs_line:
                await gql(http, ADD, {"c": s.cart, "l": [{"sku": s.sku, "quantity": 1}]}, s.token)
                s.needs_line = False


@dataclass
class LevelResult:
    concurrency: int
    seconds: float  # the measured window
    latencies: list[float] = field(default_factory=list)  # seconds, submit → terminal, of all orders
    outcomes: Counter[str] = field(default_factory=Counter)  # CONFIRMED, REJECTED:<reason>, error…
    pending_answers: int = 0  # checkoutComplete answered before the terminal state (then polled)

    @property
    def confirmed(self) -> int:
        return self.outcomes["CONFIRMED"]

    @property
    def not_confirmed(self) -> int:
        return sum(self.outcomes.values()) - self.confirmed

    @property
    def orders_per_s(self) -> float:
        return self.confirmed / self.seconds if self.seconds else 0.0

    def ms(self, q: float) -> float:
        return _percentile(sorted(self.latencies), q) * 1000


async def checkout_once(http: httpx.AsyncClient, shopper: Shopper) -> tuple[str, bool]:
    """One order, submit → terminal: (outcome, whether checkoutComplete answered PENDING)."""
    key = secrets.token_hex(8)
    data = await gql(http, CHECKOUT, {"c": shopper.cart, "a": ADDRESS, "k": key}, shopper.token)
    order = data["checkoutComplete"]["order"]
    pending = order["status"] not in TERMINAL
    deadline = time.perf_counter() + 60
    while order["status"] not in TERMINAL and time.perf_counter() < deadline:
        await asyncio.sleep(0.02)
        order = (await gql(http, ORDER, {"id": order["id"]}, shopper.token))["order"]
    status = str(order["status"])
    shopper.needs_line = status == "CONFIRMED"
    return (status if status != "REJECTED" else f"REJECTED:{order['reason']}"), pending


async def drive(
    base_url: str, shoppers: list[Shopper], warmup: float, duration: float, max_orders: int
) -> LevelResult:
    """`len(shoppers)` shoppers in a closed loop for warm-up + duration seconds (or `max_orders`
    measured orders); an order counts when it was submitted inside the measured window."""
    result = LevelResult(len(shoppers), duration)
    limits = httpx.Limits(max_connections=len(shoppers) + 2, max_keepalive_connections=len(shoppers) + 2)
    async with httpx.AsyncClient(base_url=base_url, timeout=90, limits=limits) as http:
        measure_from = time.perf_counter() + warmup
        until = measure_from + duration

        async def loop(shopper: Shopper) -> None:
            while (now := time.perf_counter()) < until and sum(result.outcomes.values()) < max_orders:
                if shopper.needs_line:
                    await gql(
                        http,
                        ADD,
                        {"c": shopper.cart, "l": [{"sku": shopper.sku, "quantity": 1}]},
                        shopper.token,
                    )
                    shopper.needs_line = False
                    now = time.perf_counter()
                try:
                    outcome, pending = await checkout_once(http, shopper)
                except (BadResponse, httpx.HTTPError) as exc:
                    outcome, pending = f"error: {str(exc)[:80]}", False
                    await asyncio.sleep(0.05)
                if now >= measure_from:
                    result.latencies.append(time.perf_counter() - now)
                    result.outcomes[outcome] += 1
                    result.pending_answers += pending

        started = time.perf_counter()
        await asyncio.gather(*(loop(s) for s in shoppers))
        if sum(result.outcomes.values()) >= max_orders:  # stopped by count: the window was shorter
            result.seconds = max(1e-3, min(duration, time.perf_counter() - max(measure_from, started)))
    return result


async def sequential(base_url: str, shoppers: list[Shopper]) -> tuple[LevelResult, float]:
    """One order per shopper, one after the other, each cart already filled: (result, seconds)."""
    result = LevelResult(1, 0.0)
    async with httpx.AsyncClient(base_url=base_url, timeout=90) as http:
        started = time.perf_counter()
        for shopper in shoppers:
            t0 = time.perf_counter()
            outcome, pending = await checkout_once(http, shopper)
            result.latencies.append(time.perf_counter() - t0)
            result.outcomes[outcome] += 1
            result.pending_answers += pending
        result.seconds = time.perf_counter() - started
    return result, result.seconds
