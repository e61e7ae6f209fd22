"""The checkout scenario's storefront: shoppers that register, sign in and keep one cart each, and a
closed-loop driver that checks out at a fixed number of concurrent shoppers.

The measured loop (`drive`) goes through `bench.checkout_wire`'s lean client (one keep-alive
connection per shopper, prebuilt requests, one Redis command per tick for all carts waiting to be
emptied); setup and the sequential cost run use httpx.

Latency is submit → terminal state: the `checkoutComplete` request, which waits server-side for
CONFIRMED/REJECTED (MERCATO_CHECKOUT_WAIT_SECONDS), plus polls of `order(id)` if it ever answers
PENDING. After a confirmed order the shopper waits until the cart is empty (the cart context may
empty it after the answer, on the order's confirmation event: read from the cart's store in Redis,
not through the server) and refills it with one `cartLinesAdd`: outside the latency but inside the
window, as for a real shopper.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from redis.asyncio import Redis

from bench.checkout_wire import KEY_HOLE, CartWatch, ShopperLine, WireError, json_body
from bench.load import _percentile
from bench.pgwire import WireCounts
from bench.validate import BadResponse
from mercato.cart.adapters.redis_store import RedisCartStore

PASSWORD = "a long enough bench password"
ADDRESS = {"firstName": "Ada", "lastName": "Lovelace", "line1": "1 Way", "city": "London", "country": "GB"}
TERMINAL = ("CONFIRMED", "REJECTED")
SKUS = (
    "query($n: Int!, $a: String) { products(first: $n, after: $a) "
    "{ pageInfo { hasNextPage endCursor } edges { node { variants { sku } } } } }"
)
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
# Below uvicorn's keep-alive timeout (5 s): the client drops an idle connection before the server
# closes it, so a request never goes out on a connection the server is closing (httpx.ReadError).
KEEPALIVE_EXPIRY = 2.0
REMOVE = (
    "mutation($c: ID!, $s: [String!]!) { cartLinesRemove(cartId: $c, skus: $s) { errors { code message } } }"
)
CART_WAIT = 5.0  # seconds a shopper waits for a confirmed order's cart to be emptied


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
    return checked(response.content)


def checked(content: bytes) -> dict[str, Any]:
    """The `data` of a GraphQL response body; BadResponse if it holds errors, top-level or in any
    mutation payload."""
    try:
        body: dict[str, Any] = orjson.loads(content)
    except orjson.JSONDecodeError:
        raise BadResponse(f"checkout: not JSON: {content[:500]!r}") from None
    if body.get("errors"):
        raise BadResponse(f"checkout: GraphQL errors: {str(body['errors'])[:500]}")
    data: dict[str, Any] = body["data"]
    for payload in data.values():
        if isinstance(payload, dict) and payload.get("errors"):
            raise BadResponse(f"checkout: payload errors: {payload['errors']}")
    return data


async def listed_skus(base_url: str, count: int) -> list[str]:
    """`count` distinct SKUs from the listing: the first variant of each listed product, then (past
    the catalog's size) their other variants. Each SKU has stock rows of its own, so shoppers of
    distinct SKUs do not queue on one stock row."""
    pages: list[list[str]] = []
    after: str | None = None
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        while sum(1 for p in pages if p) < count:
            data = (await gql(http, SKUS, {"n": 100, "a": after}))["products"]
            pages += [[v["sku"] for v in e["node"]["variants"]] for e in data["edges"]]
            if not data["pageInfo"]["hasNextPage"]:
                break
            after = data["pageInfo"]["endCursor"]
    skus = list(
        dict.fromkeys(
            sku
            for depth in range(max(map(len, pages), default=0))
            for sku in (p[depth] for p in pages if len(p) > depth)
        )
    )
    if len(skus) < count:
        raise BadResponse(f"checkout: needs {count} listed SKUs, found {len(skus)}")
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


class CartProbe:
    """Reads carts straight from the cart context's store in Redis (no load on the server under
    test): whether a confirmed order's cart has been emptied yet."""

    def __init__(self, redis_url: str, namespace: str) -> None:
        self.redis = Redis.from_url(redis_url)
        self.store = RedisCartStore(self.redis, namespace, ttl_seconds=3600)

    def watch(self) -> CartWatch:
        """One watcher for many shoppers' carts (the measured loop's)."""
        return CartWatch(self.redis, self.store.prefix)

    async def lines(self, cart: str) -> dict[str, int]:
        found = await self.store.load(uuid.UUID(cart))
        return dict(found.lines) if found is not None else {}

    async def close(self) -> None:
        await self.redis.aclose()


async def prepare_carts(base_url: str, shoppers: list[Shopper], probe: CartProbe) -> None:
    """Make every shopper's cart hold exactly one unit of `shopper.sku` (after a run, or when the
    shoppers were pointed at another SKU). Run when the server's consumers are quiet."""
    limit = asyncio.Semaphore(8)
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:

        async def one(s: Shopper) -> None:
            async with limit:
                lines = await probe.lines(s.cart)
                if lines != {s.sku: 1}:
                    if lines:
                        await gql(http, REMOVE, {"c": s.cart, "s": list(lines)}, s.token)
                    await gql(http, ADD, {"c": s.cart, "l": [{"sku": s.sku, "quantity": 1}]}, s.token)
                s.needs_line = False

        await asyncio.gather(*(one(s) for s in shoppers))


@dataclass
class LevelResult:
    concurrency: int
    seconds: float  # the measured window
    latencies: list[float] = field(default_factory=list)  # seconds, submit → terminal, of all orders
    outcomes: Counter[str] = field(default_factory=Counter)  # CONFIRMED, REJECTED:<reason>, error…
    pending_answers: int = 0  # checkoutComplete answered before the terminal state (then polled)
    wire: WireCounts | None = None  # database traffic of every server process during the window
    cart_lags: list[float] = field(default_factory=list)  # seconds from a confirmation to an empty cart
    carts_left_full: int = 0  # confirmed orders whose cart was still full CART_WAIT s later
    refill_errors: int = 0  # cart refills that failed on the wire (retried on the next turn)
    proxy_cpu: float | None = None  # share of one CPU the counting proxy used during the level
    cpu: dict[str, float] = field(default_factory=dict)  # cores each part used (machine.ComponentCpu)

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

    def cpu_ms_per_order(self) -> dict[str, float]:
        """Milliseconds of CPU per confirmed order, by part, at the level's steady rate."""
        rate = self.orders_per_s
        return {part: 1000 * cores / rate for part, cores in self.cpu.items()} if rate else {}

    def per_order(self, counter: str, idle_per_s: float = 0.0) -> float | None:
        """Wire `counter` per confirmed order in the window, less an idle rate (per second)."""
        if self.wire is None or not self.confirmed:
            return None
        return (float(getattr(self.wire, counter)) - idle_per_s * self.seconds) / self.confirmed


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


async def checkout_lean(line: ShopperLine, shopper: Shopper) -> tuple[str, bool]:
    """`checkout_once` through the shopper's lean connection (the same documents and checks)."""
    data = checked(await line.post(line.checkout_request()))
    order = data["checkoutComplete"]["order"]
    pending = order["status"] not in TERMINAL
    deadline = time.perf_counter() + 60
    while order["status"] not in TERMINAL and time.perf_counter() < deadline:
        await asyncio.sleep(0.02)
        order = checked(await line.post(line.request(json_body(ORDER, {"id": order["id"]}))))["order"]
    status = str(order["status"])
    shopper.needs_line = status == "CONFIRMED"
    return (status if status != "REJECTED" else f"REJECTED:{order['reason']}"), pending


async def add_line(line: ShopperLine) -> bool:
    """Put the shopper's line back in the cart; False when the request failed on the wire (a
    connection the server closed under load)."""
    try:
        checked(await line.post(line.add_request))
    except (BadResponse, WireError):
        await asyncio.sleep(0.05)
        return False
    return True


def shopper_line(base_url: str, shopper: Shopper) -> ShopperLine:
    """The shopper's lean connection, its checkout and refill requests built once."""
    host, _, port = base_url.removeprefix("http://").partition(":")
    line = ShopperLine(host, int(port or 80), shopper.token, KEEPALIVE_EXPIRY, timeout=90)
    line.prepare(
        json_body(CHECKOUT, {"c": shopper.cart, "a": ADDRESS, "k": KEY_HOLE}),
        json_body(ADD, {"c": shopper.cart, "l": [{"sku": shopper.sku, "quantity": 1}]}),
    )
    return line


async def drive(
    base_url: str,
    shoppers: list[Shopper],
    warmup: float,
    duration: float,
    max_orders: int,
    probe: CartProbe | None = None,
    wire: Callable[[], WireCounts] | None = None,
) -> LevelResult:
    """`len(shoppers)` shoppers in a closed loop for warm-up + duration seconds (or `max_orders`
    measured orders); an order counts when it was submitted inside the measured window. `wire`, if
    given, is read at the window's start and end."""
    result = LevelResult(len(shoppers), duration)
    lines = {id(s): shopper_line(base_url, s) for s in shoppers}
    watch = probe.watch() if probe is not None else None
    measure_from = time.perf_counter() + warmup
    until = measure_from + duration

    async def refill(shopper: Shopper, line: ShopperLine, measured: bool) -> None:
        lag = await watch.wait_empty(shopper.cart, CART_WAIT) if watch is not None else 0.0
        if lag is None:  # ordering again orders the line still there
            result.carts_left_full += measured
            shopper.needs_line = False
            return
        if measured:
            result.cart_lags.append(lag)
        refilled = await add_line(line)
        result.refill_errors += not refilled  # refilled again on the next turn
        shopper.needs_line = not refilled

    async def loop(shopper: Shopper) -> None:
        line = lines[id(shopper)]
        while (now := time.perf_counter()) < until and sum(result.outcomes.values()) < max_orders:
            if shopper.needs_line:
                await refill(shopper, line, now >= measure_from)
                now = time.perf_counter()
            try:
                outcome, pending = await checkout_lean(line, shopper)
            except (BadResponse, WireError) as exc:
                outcome, pending = f"error: {str(exc)[:80]}", False
                await asyncio.sleep(0.05)
                # An order may have gone through behind the error: refill an emptied cart.
                shopper.needs_line = watch is not None and not await watch.has_lines(shopper.cart)
            if now >= measure_from:
                result.latencies.append(time.perf_counter() - now)
                result.outcomes[outcome] += 1
                result.pending_answers += pending

    started = time.perf_counter()
    counting = asyncio.ensure_future(_count(wire, measure_from, until, result)) if wire else None
    try:
        await asyncio.gather(*(loop(s) for s in shoppers))
    finally:
        await _hang_up(lines.values(), watch)
    await _close_window(result, counting, max(measure_from, started), max_orders)
    return result


async def _hang_up(lines: Iterable[ShopperLine], watch: CartWatch | None) -> None:
    for line in lines:
        line.close()
    if watch is not None:
        await watch.close()


async def _close_window(
    result: LevelResult, counting: asyncio.Future[None] | None, window_start: float, max_orders: int
) -> None:
    """A window ended early by `max_orders` is shorter, and has no wire figure."""
    stopped_by_count = sum(result.outcomes.values()) >= max_orders
    if counting is not None:
        if stopped_by_count:
            counting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await counting
    if stopped_by_count:
        result.seconds = max(1e-3, min(result.seconds, time.perf_counter() - window_start))


async def _count(wire: Callable[[], WireCounts], start: float, end: float, result: LevelResult) -> None:
    await asyncio.sleep(max(0.0, start - time.perf_counter()))
    first = wire()
    await asyncio.sleep(max(0.0, end - time.perf_counter()))
    result.wire = wire().minus(first)


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
