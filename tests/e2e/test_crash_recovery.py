"""The server is killed (SIGKILL) in the middle of a checkout saga and started again.

A real `mercato serve` process runs against a database and namespace of its own. The order is placed,
the stock reserved, and the payment authorization is in flight at the (slow) sandbox provider when
the process dies. After a restart the saga must finish: one order, CONFIRMED, one authorization,
one capture, the stock sold once.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis

from mercato.payments.adapters.sandbox import charge_id
from mercato.platform.config import Settings
from mercato.platform.engines import EngineUrls
from mercato.platform.messaging import Broker
from tests.conftest import _asyncpg_dsn, _with_database, ref
from tests.e2e.test_dev_command import free_port

ADMIN = ("crash-admin@example.com", "a long admin password")
SHOPPER = ("crash-shopper@example.com", "a long shopper password")
ADDRESS = {"firstName": "Ada", "lastName": "Lovelace", "line1": "1 Way", "city": "London", "country": "GB"}


@pytest.fixture
async def isolated(engine_urls: EngineUrls, settings: Settings) -> AsyncIterator[dict[str, str]]:
    """Environment for server processes: a fresh database and a namespace nobody else consumes."""
    suffix = secrets.token_hex(3)
    database, namespace = f"mercato_test_crash_{suffix}", f"crash{suffix}"
    admin = await asyncpg.connect(_asyncpg_dsn(engine_urls.database))
    await admin.execute(f'CREATE DATABASE "{database}"')
    env = {k: v for k, v in os.environ.items() if not k.startswith("MERCATO_")}
    env.update(
        {
            "MERCATO_DATABASE_URL": _with_database(engine_urls.database, database),
            "MERCATO_NATS_URL": engine_urls.nats,
            "MERCATO_REDIS_URL": engine_urls.redis,
            "MERCATO_NAMESPACE": namespace,
            "MERCATO_AUTH_SECRET": settings.auth_secret or "",
            "MERCATO_CHECKOUT_WAIT_SECONDS": "0",
            "MERCATO_CONSUMER_ACK_WAIT_SECONDS": "2",
            "MERCATO_PAYMENTS_PROVIDER_TIMEOUT_SECONDS": "4",
            "MERCATO_PAYMENTS_LEASE_SECONDS": "5",
            "MERCATO_RESERVATION_SWEEP_INTERVAL_SECONDS": "0.5",
            "MERCATO_OUTBOX_POLL_INTERVAL_SECONDS": "0.1",
        }
    )
    try:
        yield env
    finally:
        broker = Broker(engine_urls.nats, namespace)
        await broker.connect()
        await broker.delete_streams()
        await broker.close()
        redis = Redis.from_url(engine_urls.redis)
        keys = [k async for k in redis.scan_iter(match=f"{namespace}:*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()


def mercato(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "mercato.cli", *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result


class Server:
    def __init__(self, env: dict[str, str], port: int, **overrides: str) -> None:
        self.port = port
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mercato.cli", "serve", "--port", str(port)],
            env={**env, **overrides},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )

    async def ready(self) -> None:
        async with httpx.AsyncClient() as http:
            for _ in range(300):
                assert self.proc.poll() is None, self.proc.stderr.read() if self.proc.stderr else ""
                try:
                    if (await http.get(f"http://127.0.0.1:{self.port}/readyz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError("server did not become ready")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        if self.proc.stderr:
            self.proc.stderr.close()


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        server.stop()


async def gql(http: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = await http.post("/graphql", json={"query": query, "variables": variables or {}})
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    return body["data"]


async def sign_in(http: httpx.AsyncClient, email: str, password: str) -> None:
    data = await gql(
        http,
        "mutation($i: TokenCreateInput!) { tokenCreate(input: $i) { accessToken errors { code } } }",
        {"i": {"email": email, "password": password}},
    )
    http.headers["Authorization"] = f"Bearer {data['tokenCreate']['accessToken']}"


async def place_order(base: str) -> tuple[str, str]:
    """Stocks one product (as admin) and checks out one unit of it (as a new customer)."""
    sku = ref("CRASH").upper()
    async with httpx.AsyncClient(base_url=base, timeout=30) as staff:
        await sign_in(staff, *ADMIN)
        variant = {"sku": sku, "price": {"amount": "30.00", "currency": "USD"}}
        product = {"slug": ref("crash"), "name": "Crash test tee", "published": True, "variants": [variant]}
        await gql(
            staff,
            "mutation($i: ProductCreateInput!) { productCreate(input: $i) { errors { code } } }",
            {"i": product},
        )
        warehouse = await gql(
            staff,
            "mutation($i: WarehouseCreateInput!) { warehouseCreate(input: $i) { warehouse { id } } }",
            {"i": {"code": ref("wh"), "name": "Main"}},
        )
        adjust = {
            "sku": sku,
            "warehouseId": warehouse["warehouseCreate"]["warehouse"]["id"],
            "reason": "RECEIVED",
            "delta": 5,
        }
        await gql(
            staff,
            "mutation($i: StockAdjustInput!) { stockAdjust(input: $i) { errors { code } } }",
            {"i": adjust},
        )
    async with httpx.AsyncClient(base_url=base, timeout=30) as shopper:
        await gql(
            shopper,
            "mutation($i: AccountRegisterInput!) { accountRegister(input: $i) { errors { code } } }",
            {"i": {"email": SHOPPER[0], "password": SHOPPER[1]}},
        )
        await sign_in(shopper, *SHOPPER)
        cart = (await gql(shopper, "mutation { cartCreate { cart { id } } }"))["cartCreate"]["cart"]["id"]
        await gql(
            shopper,
            "mutation($c: ID!, $l: [CartLineInput!]!) "
            "{ cartLinesAdd(cartId: $c, lines: $l) { errors { code } } }",
            {"c": cart, "l": [{"sku": sku, "quantity": 1}]},
        )
        checkout = await gql(
            shopper,
            "mutation($c: ID!, $a: AddressInput!) { "
            'checkoutComplete(cartId: $c, paymentToken: "tok_success", '
            'shippingAddress: $a, idempotencyKey: "crash-1") { order { id status } errors { code } } }',
            {"c": cart, "a": ADDRESS},
        )
    return checkout["checkoutComplete"]["order"]["id"], sku


async def wait_for(conn: asyncpg.Connection, query: str, arg: str, wanted: set[str], seconds: float) -> str:
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        value = await conn.fetchval(query, arg)
        if value in wanted:
            return str(value)
        assert asyncio.get_running_loop().time() < deadline, f"stuck at {value}"
        await asyncio.sleep(0.05)


async def test_a_server_killed_mid_saga_finishes_the_order_after_restart(
    isolated: dict[str, str], servers: list[Server]
) -> None:
    mercato(isolated, "migrate")
    mercato({**isolated, "MERCATO_ADMIN_PASSWORD": ADMIN[1]}, "admin", "create", "--email", ADMIN[0])
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    first = Server(isolated, port, MERCATO_PAYMENTS_SANDBOX_LATENCY_MS="3000")
    servers.append(first)
    await first.ready()
    order_id, sku = await place_order(base)
    conn = await asyncpg.connect(_asyncpg_dsn(isolated["MERCATO_DATABASE_URL"]))
    try:
        status_sql = "SELECT status FROM orders.orders WHERE id = $1::uuid"
        await wait_for(conn, status_sql, order_id, {"STOCK_RESERVED"}, 20)
        pending_sql = "SELECT status FROM payments.payment_operations WHERE order_reference = $1 LIMIT 1"
        await wait_for(conn, pending_sql, order_id, {"PENDING"}, 10)  # the provider call is in flight
        first.kill()

        second = Server(isolated, port)
        servers.append(second)
        await second.ready()
        assert await wait_for(conn, status_sql, order_id, {"CONFIRMED", "REJECTED"}, 60) == "CONFIRMED"
        kinds = await conn.fetch(
            "SELECT kind, count(*) AS n FROM payments.ledger_entries "
            "WHERE order_reference = $1 GROUP BY kind",
            order_id,
        )
        assert {r["kind"]: r["n"] for r in kinds} == {"AUTHORIZATION": 1, "CAPTURE": 1}
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM payments.payment_intents WHERE order_reference = $1", order_id
            )
            == 1
        )
        # Charged once: the restarted server asked the provider again under the same reference (one
        # authorization operation), and an idempotent provider answers it with the same charge.
        [authorization] = await conn.fetch(
            "SELECT id FROM payments.payment_operations "
            "WHERE order_reference = $1 AND operation = 'AUTHORIZE'",
            order_id,
        )
        charge = await conn.fetchval(
            "SELECT provider_reference FROM payments.payment_intents WHERE order_reference = $1", order_id
        )
        assert charge == charge_id(f"op_{authorization['id'].hex}")
        stock = await conn.fetchrow(
            "SELECT sum(on_hand) AS on_hand, sum(reserved) AS reserved FROM inventory.stock WHERE sku = $1",
            sku,
        )
        assert (stock["on_hand"], stock["reserved"]) == (4, 0)
    finally:
        await conn.close()
