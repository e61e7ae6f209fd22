"""The load of a fault run: shoppers checking out (mostly approved cards, some declined, some whose
answer the provider loses) and staff adjusting stock and editing products, through the gateway's
GraphQL API while faults are injected.

The requests are the checkout benchmark's (`bench.checkout`); each order gets a fresh cart of one
or two lines, and a checkout that meets a transport error or an UNAVAILABLE error is sent again with
the same idempotency key (at most one order per key, whatever was lost on the way). What each
request ended as is tallied; the orders themselves are judged from the database after recovery,
since an answer lost to a fault says nothing about the order.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.checkout import ADD, ADDRESS, CART, KEEPALIVE_EXPIRY, PASSWORD, REGISTER, TOKEN

CHECKOUT = (
    "mutation($c: ID!, $t: String!, $a: AddressInput!, $k: String!) { checkoutComplete(cartId: $c, "
    "paymentToken: $t, shippingAddress: $a, idempotencyKey: $k) { order { id status } errors { code } } }"
)
ADJUST = "mutation($i: StockAdjustInput!) { stockAdjust(input: $i) { adjustment { delta } errors { code } } }"
UPDATE = (
    "mutation($id: ID!, $i: ProductUpdateInput!) { productUpdate(id: $id, input: $i) "
    "{ product { id } errors { code } } }"
)
ITEMS = (
    "query($a: String) { products(first: 100, after: $a) { pageInfo { hasNextPage endCursor } "
    "edges { node { id variants { sku } } } } }"
)
LEVELS = "query($s: String!) { stockLevels(sku: $s) { warehouseId } }"
# Card tokens of the sandbox (payments/adapters/sandbox.py) and how often a shopper uses each.
TOKENS = {"tok_success": 86, "tok_decline": 5, "tok_insufficient_funds": 4, "tok_timeout": 5}
SENDS = 6  # tries of one request across faults (the same idempotency key every time)


@dataclass(frozen=True)
class Item:
    product_id: str
    sku: str
    warehouse_id: str


@dataclass
class Tally:
    checkouts: Counter[str] = field(default_factory=Counter)  # placed, refused:<code>, lost
    answered: Counter[str] = field(default_factory=Counter)  # status in the checkout's answer
    staff: Counter[str] = field(default_factory=Counter)  # adjust / update: ok, refused:<code>, lost
    carts: Counter[str] = field(default_factory=Counter)  # carts not filled: lost, refused:<code>
    resent: int = 0  # requests sent again after a transport or UNAVAILABLE error
    orders: set[str] = field(default_factory=set)

    @property
    def submitted(self) -> int:
        return sum(self.checkouts.values())


class Retry(Exception):
    """The request may not have been applied: send it again, same key."""


async def send(http: httpx.AsyncClient, query: str, variables: dict[str, Any], token: str) -> dict[str, Any]:
    """The mutation's payload; `Retry` on a transport error, a non-200 answer or UNAVAILABLE."""
    try:
        response = await http.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {token}"} if token else {},
        )
    except httpx.HTTPError as exc:
        raise Retry(type(exc).__name__) from exc
    if response.status_code != 200:
        raise Retry(f"HTTP {response.status_code}")
    body: dict[str, Any] = response.json()
    if body.get("errors") or not body.get("data"):
        codes = [e.get("extensions", {}).get("code") for e in body.get("errors", [])]
        raise Retry(",".join(str(c) for c in codes) or "no data")
    payload: dict[str, Any] = next(iter(body["data"].values()))
    return payload


async def _patiently(http: httpx.AsyncClient, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    """Set-up requests on a busy machine: an UNAVAILABLE (a deadline met while hashing a password)
    is asked again, a few times."""
    for attempt in range(SENDS):
        try:
            return await send(http, query, variables, "")
        except Retry:
            if attempt == SENDS - 1:
                raise
            await asyncio.sleep(0.5 * 2**attempt)
    raise AssertionError("unreachable")


async def sign_up(base_url: str, count: int) -> list[str]:
    """`count` customers registered and signed in through the API, one after the other (argon2 is
    slow on a shared machine): their access tokens. A registration whose answer was lost and that
    went through is EMAIL_TAKEN when asked again, which is as good."""
    tag = secrets.token_hex(3)
    tokens = []
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        for i in range(count):
            credentials = {"i": {"email": f"chaos-{tag}-{i}@example.com", "password": PASSWORD}}
            await _patiently(http, REGISTER, credentials)
            tokens.append(await sign_in(http, credentials["i"]))
    return tokens


async def sign_in(http: httpx.AsyncClient, credentials: dict[str, str]) -> str:
    signed_in = await _patiently(http, TOKEN, {"i": credentials})
    if not signed_in["accessToken"]:
        raise RuntimeError(f"chaos: sign-in refused: {signed_in['errors']}")
    return str(signed_in["accessToken"])


async def catalog_items(base_url: str, token: str, skus: list[str]) -> list[Item]:
    """Product id and a warehouse of each SKU (what the staff's mutations need)."""
    products: dict[str, str] = {}
    after: str | None = None
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        while True:
            data = (await _query(http, ITEMS, {"a": after}, token))["products"]
            for edge in data["edges"]:
                for variant in edge["node"]["variants"]:
                    products[variant["sku"]] = edge["node"]["id"]
            if not data["pageInfo"]["hasNextPage"] or set(skus) <= set(products):
                break
            after = data["pageInfo"]["endCursor"]
        items = []
        for sku in skus:
            [level, *_] = (await _query(http, LEVELS, {"s": sku}, token))["stockLevels"]
            items.append(Item(products[sku], sku, level["warehouseId"]))
    return items


async def _query(
    http: httpx.AsyncClient, query: str, variables: dict[str, Any], token: str
) -> dict[str, Any]:
    response = await http.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    body: dict[str, Any] = response.json()
    if body.get("errors"):
        raise RuntimeError(f"chaos: {query[:40]}…: {body['errors']}")
    data: dict[str, Any] = body["data"]
    return data


class Load:
    """Shoppers and staff until `stop_at` (monotonic), or sooner once `min_orders` checkouts were
    submitted and `finished()` says so (the run's: every scheduled fault applied and healed)."""

    def __init__(
        self,
        base_url: str,
        shoppers: list[str],  # access tokens
        staff_token: str,
        items: list[Item],
        seed: int,
        min_orders: int,
    ) -> None:
        self.base_url = base_url
        self.shoppers = shoppers
        self.staff_token = staff_token
        self.items = items
        self.rng = random.Random(seed)  # which SKUs, cards and staff actions (timing still varies)
        self.min_orders = min_orders
        self.finished: Callable[[], bool] = lambda: True
        self.tally = Tally()

    async def run(self, stop_at: float, finished: Callable[[], bool] | None = None) -> Tally:
        self.finished = finished or self.finished
        limits = httpx.Limits(keepalive_expiry=KEEPALIVE_EXPIRY)
        async with httpx.AsyncClient(base_url=self.base_url, timeout=30, limits=limits) as http:
            await asyncio.gather(
                *(self._shop(http, shopper, stop_at) for shopper in self.shoppers), self._staff(http, stop_at)
            )
        return self.tally

    def _going(self, stop_at: float) -> bool:
        if time.monotonic() >= stop_at:
            return False
        return self.tally.submitted < self.min_orders or not self.finished()

    async def _again(
        self, http: httpx.AsyncClient, query: str, variables: dict[str, Any], token: str
    ) -> dict[str, Any] | None:
        """The payload, sending again (same variables, so the same key) after errors; None if lost."""
        for attempt in range(SENDS):
            try:
                return await send(http, query, variables, token)
            except Retry:
                if attempt:
                    self.tally.resent += 1
                await asyncio.sleep(0.25 * 2**attempt)
        return None

    async def _shop(self, http: httpx.AsyncClient, shopper: str, stop_at: float) -> None:
        while self._going(stop_at):
            lines = [
                {"sku": item.sku, "quantity": self.rng.randint(1, 2)}
                for item in self.rng.sample(self.items, self.rng.choice((1, 1, 2)))
            ]
            card = self.rng.choices(list(TOKENS), weights=list(TOKENS.values()))[0]
            key = secrets.token_hex(8)
            cart = await self._again(http, CART, {}, shopper)
            added = None
            if cart is not None and cart.get("cart") is not None:
                cart_id = cart["cart"]["id"]
                added = await self._again(http, ADD, {"c": cart_id, "l": lines}, shopper)
            if added is None or added["errors"]:
                refused = added["errors"][0]["code"] if added is not None else None
                self.tally.carts[f"refused:{refused}" if refused else "lost"] += 1
                await asyncio.sleep(0.5)
                continue
            variables = {"c": cart_id, "t": card, "a": ADDRESS, "k": key}
            payload = await self._again(http, CHECKOUT, variables, shopper)
            if payload is None:
                self.tally.checkouts["lost"] += 1
            elif payload["order"] is not None:
                self.tally.checkouts["placed"] += 1
                self.tally.orders.add(payload["order"]["id"])
                self.tally.answered[payload["order"]["status"]] += 1
            else:
                self.tally.checkouts[f"refused:{payload['errors'][0]['code']}"] += 1

    async def _staff(self, http: httpx.AsyncClient, stop_at: float) -> None:
        while self._going(stop_at):
            await asyncio.sleep(self.rng.uniform(0.3, 1.2))
            item = self.rng.choice(self.items)
            if self.rng.random() < 0.7:
                delta = self.rng.randint(2, 12) if self.rng.random() < 0.85 else -self.rng.randint(1, 3)
                reason = "RECEIVED" if delta > 0 else "DAMAGED"
                adjust = {"sku": item.sku, "warehouseId": item.warehouse_id, "reason": reason, "delta": delta}
                adjust["idempotencyKey"] = secrets.token_hex(8)  # sent again as is after a fault
                kind, payload = "adjust", await self._again(http, ADJUST, {"i": adjust}, self.staff_token)
            else:
                changes = {"description": f"Edited during a fault run ({secrets.token_hex(3)})."}
                kind, payload = (
                    "update",
                    await self._again(http, UPDATE, {"id": item.product_id, "i": changes}, self.staff_token),
                )
            if payload is None:
                self.tally.staff[f"{kind} lost"] += 1
            elif payload["errors"]:
                self.tally.staff[f"{kind} refused:{payload['errors'][0]['code']}"] += 1
            else:
                self.tally.staff[f"{kind} ok"] += 1
