"""Degradation per engine outage (issue 11, item 6): with PostgreSQL, NATS or Redis unreachable, the
GraphQL API answers typed errors (`UNAVAILABLE`) and /readyz 503 — never an HTTP 500, never a hang —
then, once the engine is back, the same requests succeed and an order accepted before the outage
completes after it, with no invariant broken.

The single-process topology (a `Runtime` and its gateway) reaches the machine's engines through the
chaos runs' TCP proxy (`bench/chaos/proxy.py`), so no real engine is ever stopped: a *cut* aborts
every connection and refuses new ones (an engine that is down), a *stall* keeps them open and
forwards nothing (a partition or a frozen engine — the outage only a client's own timeouts notice).
Its database and NATS / Redis namespace are its own, removed afterwards.

A hang is a request that does not return within a generous outer bound (`ANSWER_WITHIN`): the bound
is not a measurement, the engine bounds of the settings below are what keeps an answer short.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from bench.chaos.proxy import ProxyProcess
from redis.asyncio import Redis

from mercato.app.contexts import MIGRATIONS
from mercato.app.invariants import Scope, verify_when_quiet
from mercato.app.runtime import Runtime
from mercato.customers.bootstrap import create_admin
from mercato.customers.domain.commands import CreateToken, RegisterAccount
from mercato.gateway.app import create_app
from mercato.platform.config import Settings
from mercato.platform.db import Database
from mercato.platform.engines import EngineUrls
from mercato.platform.messaging import Broker
from mercato.platform.migrations import migrate
from tests.conftest import own_database, ref, remove_namespace
from tests.e2e.api_client import GraphQLClient
from tests.e2e.conftest import PASSWORD
from tests.e2e.test_checkout import ADDRESS, CHECKOUT, STOCK, cart_with, stocked_sku

ENGINES = ["postgres", "nats", "redis"]  # the proxy's link names, also the keys of /readyz's checks
FAULTS = ["cut", "stall"]
ANSWER_WITHIN = 30.0  # seconds: a request not answered by then hangs
RECOVER_WITHIN = 60.0  # seconds for the same request to succeed once the engine is back
UNITS = 10
CART_CREATE = "mutation { cartCreate { cart { id } errors { field code message } } }"
ORDER = "query($id: ID!) { order(id: $id) { status } }"


def _through(url: str, address: str) -> str:
    """`url` with its host and port replaced by the proxy's `address` (user, database kept)."""
    parts = urlsplit(url)
    user = parts.netloc.rpartition("@")[0]
    netloc = f"{user}@{address}" if user else address
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _address(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}"


@dataclass
class Proxied:
    """The module's engines: a database of its own, and the proxy every connection goes through."""

    database_url: str  # direct, for the checks
    engine_urls: EngineUrls
    proxy: ProxyProcess
    namespace: str  # the installation's (events carry it in their subjects: one for the module)

    def heal_all(self) -> None:
        for name in ENGINES:
            self.proxy.heal(name)


@pytest.fixture(scope="module")
async def proxied(engine_urls: EngineUrls) -> AsyncIterator[Proxied]:
    async with own_database(engine_urls, f"outage{secrets.token_hex(3)}") as url:
        db = Database(url)
        await migrate(db, MIGRATIONS)
        await db.dispose()
        proxy = ProxyProcess(
            {
                "postgres": _address(url),
                "nats": _address(engine_urls.nats),
                "redis": _address(engine_urls.redis),
            }
        )
        namespace = f"out{secrets.token_hex(3)}"
        try:
            yield Proxied(url, engine_urls, proxy, namespace)
        finally:
            proxy.stop()
            await _remove_namespace(engine_urls, namespace)


def _own_settings(settings: Settings, proxied: Proxied) -> Settings:
    proxy, urls = proxied.proxy, proxied.engine_urls
    return settings.model_copy(
        update={
            "namespace": proxied.namespace,
            "database_url": _through(proxied.database_url, proxy.address("postgres")),
            "nats_url": _through(urls.nats, proxy.address("nats")),
            "redis_url": _through(urls.redis, proxy.address("redis")),
            "login_attempts_per_ip": 1_000_000,
            # The engine bounds, short so that the test is: what an outage costs a request.
            "db_connect_timeout_seconds": 2.0,
            "db_command_timeout_seconds": 2.0,
            "db_pool_timeout_seconds": 3.0,
            # A checkout answers its order as placed (PENDING): the test follows it to its end.
            "checkout_wait_seconds": 0.0,
            # The provider takes a while: an order placed just before an outage is still in flight.
            "payments_sandbox_latency_ms": 500,
            "payments_provider_timeout_seconds": 2.0,
            "payments_lease_seconds": 4.0,
            # A message delivered into the outage and never acknowledged comes back soon.
            "consumer_ack_wait_seconds": 3.0,
        }
    )


@dataclass(frozen=True)
class Tokens:
    """Access tokens of the module's accounts (signed once: hashing passwords is the slow part)."""

    admin: str
    early: str  # a shopper whose order is in flight when the outage begins
    shopper: str  # another (a customer has one cart), checking out during the outage


@pytest.fixture(scope="module")
async def tokens(proxied: Proxied, settings: Settings) -> Tokens:
    runtime = Runtime(_own_settings(settings, proxied))
    await runtime.start()  # its relays publish the accounts' events
    try:

        async def signed_in(admin: bool = False) -> str:
            email = f"{ref('user')}@example.com"
            if admin:
                await create_admin(runtime.customers, email, PASSWORD)
            else:
                await runtime.customers_client.register(RegisterAccount(email, PASSWORD))
            return (await runtime.customers_client.create_token(CreateToken(email, PASSWORD))).access_token

        return Tokens(await signed_in(admin=True), await signed_in(), await signed_in())
    finally:
        await runtime.stop()


@dataclass
class System:
    runtime: Runtime
    admin: GraphQLClient
    early: GraphQLClient
    shopper: GraphQLClient
    proxied: Proxied


@pytest.fixture
async def system(proxied: Proxied, tokens: Tokens, settings: Settings) -> AsyncIterator[System]:
    """A fresh process per test (its readiness has not flapped yet), on the proxied engines."""
    own = _own_settings(settings, proxied)
    runtime = Runtime(own)
    await runtime.start()
    app = create_app(own, runtime)
    opened: list[httpx.AsyncClient] = []

    def client(token: str) -> GraphQLClient:
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://mercato.test",
            headers={"Authorization": f"Bearer {token}"},
            timeout=ANSWER_WITHIN,
        )
        opened.append(http)
        return GraphQLClient(http)

    try:
        yield System(runtime, client(tokens.admin), client(tokens.early), client(tokens.shopper), proxied)
    finally:
        proxied.heal_all()  # a failed test must not leave an engine cut for the next one
        for http in opened:
            await http.aclose()
        await runtime.stop()


async def _remove_namespace(urls: EngineUrls, namespace: str) -> None:
    broker, redis = Broker(urls.nats, namespace), Redis.from_url(urls.redis)
    await broker.connect()
    try:
        await remove_namespace(broker, redis, namespace)
    finally:
        await broker.close()
        await redis.aclose()


# -- answers ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """What a request got: its HTTP status and body, or that it did not return in time."""

    status: int | None  # None: no answer within ANSWER_WITHIN (a hang)
    body: dict[str, Any]

    @property
    def codes(self) -> list[str]:
        """Codes of the top-level errors (extensions) and of every mutation payload's errors."""
        found = [e.get("extensions", {}).get("code", "?") for e in self.body.get("errors", [])]
        for payload in (self.body.get("data") or {}).values():
            if isinstance(payload, dict):
                found += [e["code"] for e in payload.get("errors") or []]
        return found

    @property
    def ok(self) -> bool:
        return self.status == 200 and not self.codes and self.body.get("data") is not None

    @property
    def unavailable(self) -> bool:
        """Refused with the typed error a client retries on, and nothing else."""
        return self.status == 200 and bool(self.codes) and set(self.codes) == {"UNAVAILABLE"}


async def answer(request: Awaitable[httpx.Response]) -> Answer:
    try:
        async with asyncio.timeout(ANSWER_WITHIN):
            response = await request
    except TimeoutError:
        return Answer(None, {})
    body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
    return Answer(response.status_code, body)


async def until_ok(request: Callable[[], Awaitable[httpx.Response]]) -> Answer:
    """The first answer that succeeds, or the last one after RECOVER_WITHIN seconds: right after the
    engine is back, a pooled connection broken by the outage may cost one more UNAVAILABLE."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + RECOVER_WITHIN
    while True:
        got = await answer(request())
        if got.ok or loop.time() >= deadline:
            return got
        assert got.status == 200 and (got.unavailable or not got.codes), got  # typed while recovering
        await asyncio.sleep(0.2)


async def readiness(system: System) -> Answer:
    http = system.admin.http
    return await answer(http.get("/readyz"))


async def ready_again(system: System) -> Answer:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + RECOVER_WITHIN
    while True:
        got = await readiness(system)
        if got.status == 200 or loop.time() >= deadline:
            return got
        await asyncio.sleep(0.2)


def checkout_request(client: GraphQLClient, cart_id: str, key: str) -> Awaitable[httpx.Response]:
    variables = {"cart": cart_id, "token": "tok_success", "address": ADDRESS, "key": key}
    return client.raw(CHECKOUT, variables)


async def settled(system: System, order_ids: list[str]) -> dict[str, str]:
    """The orders' statuses once none is in flight, or as they stand after RECOVER_WITHIN seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + RECOVER_WITHIN
    while True:
        found = {i: (await system.admin.data(ORDER, {"id": i}))["order"]["status"] for i in order_ids}
        if all(s in ("CONFIRMED", "REJECTED") for s in found.values()) or loop.time() >= deadline:
            return found
        await asyncio.sleep(0.2)


# -- the test --------------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("engine", ENGINES)
async def test_an_engine_outage_answers_typed_errors_then_everything_recovers(
    system: System, engine: str, fault: str
) -> None:
    # Given: stock, an order accepted and still in flight (the provider takes 0.5 s), a cart ready.
    began = datetime.now(UTC)
    sku = await stocked_sku(system.admin, UNITS)
    before = await answer(checkout_request(system.early, await cart_with(system.early, sku, 1), ref("k")))
    assert before.ok, before
    accepted = before.body["data"]["checkoutComplete"]["order"]
    assert accepted["status"] == "PENDING"
    cart_id, key = await cart_with(system.shopper, sku, 2), ref("k")

    # When: the engine becomes unreachable.
    getattr(system.proxied.proxy, fault)(engine)
    ready, stock, cart, checkout = await asyncio.gather(
        readiness(system),
        answer(system.admin.raw(STOCK, {"sku": sku})),
        answer(system.shopper.raw(CART_CREATE)),
        answer(checkout_request(system.shopper, cart_id, key)),
    )

    # Then: every request answered (no hang), none with a 500 or an untyped error.
    assert (ready.status, ready.body["checks"][engine]) == (503, False), ready
    for got in (stock, cart, checkout):
        assert got.ok or got.unavailable, got
    # What cannot be served without the engine is refused as UNAVAILABLE; the rest is served.
    if engine == "postgres":  # stock levels and orders live there
        assert stock.unavailable and checkout.unavailable, (stock, checkout)
    if engine == "redis":  # carts live there
        assert cart.unavailable and checkout.unavailable, (cart, checkout)
    if engine == "nats":  # the checkout commits its order and its events: the relay publishes later
        assert stock.ok and cart.ok and checkout.ok, (stock, cart, checkout)
        assert checkout.body["data"]["checkoutComplete"]["order"]["status"] == "PENDING"

    # When: the engine is back.
    system.proxied.proxy.heal(engine)

    # Then: ready again, the same requests succeed (the checkout retried with its key)...
    assert (await ready_again(system)).status == 200
    stock = await until_ok(lambda: system.admin.raw(STOCK, {"sku": sku}))
    assert stock.ok, stock
    assert (await until_ok(lambda: system.shopper.raw(CART_CREATE))).ok
    retried = await until_ok(lambda: checkout_request(system.shopper, cart_id, key))
    assert retried.ok, retried
    placed = retried.body["data"]["checkoutComplete"]["order"]
    if checkout.ok:  # the retry is the order the outage accepted, not a second one
        assert placed["id"] == checkout.body["data"]["checkoutComplete"]["order"]["id"]

    # ...and both orders complete: the one accepted before the outage and the one retried after it.
    assert await settled(system, [accepted["id"], placed["id"]]) == {
        accepted["id"]: "CONFIRMED",
        placed["id"]: "CONFIRMED",
    }
    levels = (await system.admin.data(STOCK, {"sku": sku}))["stockLevels"]
    assert levels == [{"onHand": UNITS - 3, "reserved": 0, "available": UNITS - 3}]
    db, redis = Database(system.proxied.database_url), Redis.from_url(system.proxied.engine_urls.redis)
    try:
        report = await verify_when_quiet(
            db,
            redis,
            system.proxied.namespace,
            scope=Scope(orders=[uuid.UUID(accepted["id"]), uuid.UUID(placed["id"])], skus=[sku], since=began),
        )
    finally:
        await db.dispose()
        await redis.aclose()
    assert report.violations == []
