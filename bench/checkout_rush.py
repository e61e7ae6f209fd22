"""The rush: N shoppers check out at the same moment for one SKU that has U units (U < N), as a new user
would try a product launch. It measures how long until every order is terminal, how many first
answers were PENDING, and checks that exactly U orders were confirmed, that every confirmed buyer's
cart is emptied (polled through the API, as the buyer would see it) and that the others' carts were
left alone."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field

import asyncpg
import httpx

from bench.checkout import ADDRESS, CHECKOUT, KEEPALIVE_EXPIRY, ORDER, TERMINAL, Shopper, gql
from bench.checkout_checks import StockCheck, Trouble
from bench.load import _percentile
from bench.validate import BadResponse

CART = "query($c: ID!) { cart(id: $c) { lines { sku quantity } } }"
POLL = 0.05  # seconds between polls of a PENDING order and of the carts
SETTLE_LIMIT = 60.0
CART_LIMIT = 5.0  # seconds after the settle to see every confirmed buyer's cart empty


@dataclass
class RushResult:
    topology: str
    shoppers: int
    units: int
    sku: str
    first_answers: list[float] = field(default_factory=list)  # seconds after the start
    pending_first: int = 0  # first answers that were not terminal
    outcomes: Counter[str] = field(default_factory=Counter)  # as the shoppers finally saw them
    answered_s: float = 0.0  # until every shopper had seen its order terminal
    settled_s: float | None = None  # until the last order became terminal, by the orders table
    db_confirmed: int = 0
    db_orders: int = 0
    carts_emptied: int = 0  # of the confirmed buyers' carts
    carts_emptied_s: float | None = None  # after the settle, until the last of them was empty
    others_kept: int = 0  # not-confirmed shoppers whose cart still holds the SKU
    stock: StockCheck | None = None
    trouble: Trouble | None = None

    @property
    def confirmed(self) -> int:
        return self.outcomes["CONFIRMED"]

    @property
    def not_confirmed(self) -> int:
        return sum(self.outcomes.values()) - self.confirmed

    def first_ms(self, q: float) -> float:
        return _percentile(sorted(self.first_answers), q) * 1000

    @property
    def settle_s(self) -> float:
        """Every order terminal: the database's view, or the shoppers' if it was not seen."""
        return self.settled_s if self.settled_s is not None else self.answered_s


async def _shop(
    http: httpx.AsyncClient, shopper: Shopper, key: str, go: asyncio.Event, t0: list[float], r: RushResult
) -> str:
    await go.wait()
    try:
        data = await gql(http, CHECKOUT, {"c": shopper.cart, "a": ADDRESS, "k": key}, shopper.token)
    except (BadResponse, httpx.HTTPError) as exc:
        r.first_answers.append(time.perf_counter() - t0[0])
        return f"error: {str(exc)[:80]}"
    r.first_answers.append(time.perf_counter() - t0[0])
    order = data["checkoutComplete"]["order"]
    if order["status"] not in TERMINAL:
        r.pending_first += 1
    deadline = time.perf_counter() + SETTLE_LIMIT
    while order["status"] not in TERMINAL and time.perf_counter() < deadline:
        await asyncio.sleep(POLL)
        order = (await gql(http, ORDER, {"id": order["id"]}, shopper.token))["order"]
    status = str(order["status"])
    return status if status != "REJECTED" else f"REJECTED:{order['reason']}"


_SETTLED = """
SELECT count(*) AS n,
       count(*) FILTER (WHERE o.status = 'CONFIRMED') AS confirmed,
       count(*) FILTER (WHERE o.status = ANY($2::text[])) AS terminal,
       max(h.at) AS last
FROM orders.orders o
LEFT JOIN LATERAL (
    SELECT max(at) AS at FROM orders.status_history
    WHERE order_id = o.id AND status = ANY($2::text[])
) h ON true
WHERE o.idempotency_key = ANY($1::text[])
"""


async def _settled(dsn: str, keys: list[str], fired_at: float, r: RushResult) -> None:
    """From the orders table, once every shopper has its answer: how many orders there are and when
    the last one became terminal (its status history's time; no polling during the rush)."""
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(_SETTLED, keys, list(TERMINAL))
    finally:
        await conn.close()
    assert row is not None
    r.db_orders, r.db_confirmed = int(row["n"]), int(row["confirmed"])
    if row["n"] == len(keys) and row["terminal"] == row["n"] and row["last"] is not None:
        r.settled_s = row["last"].timestamp() - fired_at


async def rush(base_url: str, dsn: str, shoppers: list[Shopper], result: RushResult) -> None:
    """Fire every shopper's checkoutComplete at once; fills `result`."""
    keys = [secrets.token_hex(8) for _ in shoppers]
    go, t0 = asyncio.Event(), [0.0]
    n = len(shoppers)
    limits = httpx.Limits(
        max_connections=n + 4, max_keepalive_connections=n + 4, keepalive_expiry=KEEPALIVE_EXPIRY
    )
    async with httpx.AsyncClient(base_url=base_url, timeout=90, limits=limits) as http:
        pairs = zip(shoppers, keys, strict=True)
        tasks = [asyncio.ensure_future(_shop(http, s, k, go, t0, result)) for s, k in pairs]
        await asyncio.sleep(0.2)  # every task waits on the event
        fired_at, t0[0] = time.time(), time.perf_counter()
        go.set()
        outcomes = await asyncio.gather(*tasks)
        result.answered_s = time.perf_counter() - t0[0]
        await _settled(dsn, keys, fired_at, result)
        result.outcomes.update(outcomes)
        confirmed = [s for s, o in zip(shoppers, outcomes, strict=True) if o == "CONFIRMED"]
        others = [s for s, o in zip(shoppers, outcomes, strict=True) if o != "CONFIRMED"]
        await _carts(http, confirmed, others, result)


async def _lines(http: httpx.AsyncClient, shopper: Shopper) -> dict[str, int]:
    cart = (await gql(http, CART, {"c": shopper.cart}, shopper.token))["cart"]
    return {line["sku"]: line["quantity"] for line in (cart or {}).get("lines", [])}


async def _carts(
    http: httpx.AsyncClient, confirmed: list[Shopper], others: list[Shopper], r: RushResult
) -> None:
    """Poll the confirmed buyers' carts until all are empty (the cart context may empty them after the
    answer); then look once at every other shopper's cart."""
    started = time.perf_counter()
    waiting = list(confirmed)
    while waiting and time.perf_counter() - started < CART_LIMIT:
        full = await asyncio.gather(*(_lines(http, s) for s in waiting))
        waiting = [s for s, lines in zip(waiting, full, strict=True) if lines]
        if waiting:
            await asyncio.sleep(POLL)
    r.carts_emptied = len(confirmed) - len(waiting)
    if not waiting:
        r.carts_emptied_s = time.perf_counter() - started
    limit = asyncio.Semaphore(16)

    async def kept(s: Shopper) -> bool:
        async with limit:
            return (await _lines(http, s)).get(s.sku, 0) > 0

    r.others_kept = sum(await asyncio.gather(*(kept(s) for s in others)))
