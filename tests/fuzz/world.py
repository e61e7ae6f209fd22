"""The quiet server the fuzzer hits: a database, NATS streams and Redis keys of its own, every context
in process with no relay, consumer or sweeper running (`Runtime.start(background=False)`), so that
nothing but the request being checked writes; and a small world in it (categories, products with
stock, carts with lines, addresses, an order, spare tokens) whose ids the generator mixes in."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.types import ASGIApp

from mercato.app.contexts import MIGRATIONS
from mercato.app.runtime import Runtime
from mercato.customers.bootstrap import create_admin
from mercato.customers.domain.commands import CreateToken, RegisterAccount
from mercato.gateway.app import create_app
from mercato.gateway.context import Clients
from mercato.platform.config import Settings
from mercato.platform.db import Database
from mercato.platform.engines import EngineUrls
from mercato.platform.migrations import migrate
from tests.conftest import own_database, ref, remove_namespace
from tests.fuzz.values import Known

PASSWORD = "correct horse battery staple"
ERRORS = "errors { field code message }"


@dataclass
class Target:
    """The server and who calls it: `callers` maps admin, customer and anonymous to their clients."""

    app: ASGIApp
    runtime: Runtime
    callers: dict[str, httpx.AsyncClient]
    known: Known


async def quiet_runtime(engine_urls: EngineUrls, settings: Settings) -> AsyncIterator[Runtime]:
    namespace = f"fz{secrets.token_hex(4)}"
    async with own_database(engine_urls, namespace) as url:
        db = Database(url)
        await migrate(db, MIGRATIONS)
        await db.dispose()
        quiet = settings.model_copy(
            update={
                "database_url": url,
                "namespace": namespace,
                # Nothing settles an order here: answer PENDING at once instead of waiting for a saga.
                "checkout_wait_seconds": 0.0,
                # Every caller signs in from 127.0.0.1, and the fuzzer signs in on purpose.
                "login_attempts_per_ip": 1_000_000,
                "login_attempts_per_account": 1_000_000,
                # And creates carts and checks out from it far more often than a shopper would.
                "cart_create_per_ip": 1_000_000,
                "checkout_per_customer": 1_000_000,
                "checkout_per_ip": 1_000_000,
                "password_reset_requests_per_email": 1_000_000,
                "password_reset_requests_per_ip": 1_000_000,
            }
        )
        runtime = Runtime(quiet)
        await runtime.start(background=False)
        try:
            yield runtime
        finally:
            await remove_namespace(runtime.broker, runtime.redis, namespace)
            await runtime.stop()


async def _client(app: ASGIApp, token: str | None = None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://mercato.test", headers=headers, timeout=60
    )


async def _call(http: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None) -> Any:
    response = await http.post("/graphql", json={"query": query, "variables": variables or {}})
    body = response.json()
    assert response.status_code == 200 and "errors" not in body, body
    [payload] = body["data"].values()
    if isinstance(payload, dict) and payload.get("errors"):
        raise AssertionError(payload["errors"])
    return payload


async def build_target(runtime: Runtime, clients: Clients | None = None) -> Target:
    """The gateway on `runtime` (on `clients` when given: the gRPC topology's), and its world."""
    app = create_app(runtime.settings, runtime, clients)
    known = Known(passwords=[PASSWORD])
    admin_email, shopper_email, other_email = (f"{ref(r)}@example.com" for r in ("admin", "shop", "other"))
    await create_admin(runtime.customers, admin_email, PASSWORD)
    accounts = [
        await runtime.customers_client.register(RegisterAccount(e, PASSWORD))
        for e in (shopper_email, other_email)
    ]
    known.emails = [admin_email, shopper_email, other_email]
    known.ids["account"] = [str(a.id) for a in accounts]
    tokens = {e: await runtime.customers_client.create_token(CreateToken(e, PASSWORD)) for e in known.emails}
    # A spare sign-in of the shopper: refreshing or revoking it leaves the shopper's own token alone.
    known.access_tokens = [tokens[shopper_email].access_token, tokens[admin_email].access_token]
    known.refresh_tokens = [
        (await runtime.customers_client.create_token(CreateToken(shopper_email, PASSWORD))).refresh_token
    ]
    callers = {
        "admin": await _client(app, tokens[admin_email].access_token),
        "customer": await _client(app, tokens[shopper_email].access_token),
        "other": await _client(app, tokens[other_email].access_token),
        "anonymous": await _client(app),
    }
    await _catalog(callers["admin"], known)
    await _shopping(callers, known)
    return Target(app, runtime, callers, known)


async def _catalog(admin: httpx.AsyncClient, known: Known) -> None:
    parent = await _call(
        admin,
        "mutation($i: CategoryCreateInput!) "
        f"{{ categoryCreate(input: $i) {{ category {{ id }} {ERRORS} }} }}",
        {"i": {"slug": ref("cat"), "name": "Tops"}},
    )
    known.ids["category"] = [parent["category"]["id"]]
    warehouse = await _call(
        admin,
        "mutation($i: WarehouseCreateInput!) "
        f"{{ warehouseCreate(input: $i) {{ warehouse {{ id }} {ERRORS} }} }}",
        {"i": {"code": ref("wh"), "name": "Depot"}},
    )
    known.ids["warehouse"] = [warehouse["warehouse"]["id"]]
    known.ids["product"], known.ids["variant"] = [], []
    for published, currency in ((True, "USD"), (True, "USD"), (False, "USD"), (True, "EUR")):
        slug = ref("p")
        variants = [
            {"sku": f"{slug}-{size}".upper(), "price": {"amount": "12.50", "currency": currency},
             "attributes": {"size": size, "color": "blue"}}
            for size in ("s", "m")
        ]  # fmt: skip
        product = await _call(
            admin,
            "mutation($i: ProductCreateInput!) { productCreate(input: $i) { "
            f"product {{ id variants {{ id sku }} }} {ERRORS} }} }}",
            {"i": {"slug": slug, "name": f"Shirt {slug}", "published": published,
                   "categoryId": parent["category"]["id"], "attributes": {"fabric": "cotton"},
                   "variants": variants}},
        )  # fmt: skip
        known.slugs.append(slug)
        known.ids["product"].append(product["product"]["id"])
        for variant in product["product"]["variants"]:
            known.ids["variant"].append(variant["id"])
            known.skus.append(variant["sku"])
            await _call(
                admin,
                f"mutation($i: StockAdjustInput!) {{ stockAdjust(input: $i) {{ {ERRORS} }} }}",
                {"i": {"sku": variant["sku"], "warehouseId": warehouse["warehouse"]["id"],
                       "reason": "RECEIVED", "delta": 50}},
            )  # fmt: skip
    page = await _call(admin, "query { products(first: 1) { pageInfo { endCursor } } }")
    known.cursors.append(page["pageInfo"]["endCursor"])


async def _shopping(callers: dict[str, httpx.AsyncClient], known: Known) -> None:
    known.ids["cart"], known.ids["address"] = [], []
    for who in ("customer", "other", "anonymous"):
        cart = await _call(callers[who], f"mutation {{ cartCreate {{ cart {{ id }} {ERRORS} }} }}")
        known.ids["cart"].append(cart["cart"]["id"])
        await _call(
            callers[who],
            "mutation($c: ID!, $l: [CartLineInput!]!) "
            f"{{ cartLinesAdd(cartId: $c, lines: $l) {{ {ERRORS} }} }}",
            {"c": cart["cart"]["id"], "l": [{"sku": known.skus[0], "quantity": 2}]},
        )
    address = {
        "firstName": "Ada",
        "lastName": "Lovelace",
        "line1": "1 Way",
        "city": "London",
        "country": "GB",
    }
    for who in ("customer", "other"):
        created = await _call(
            callers[who],
            f"mutation($a: AddressInput!) {{ addressCreate(input: $a) {{ address {{ id }} {ERRORS} }} }}",
            {"a": address},
        )
        known.ids["address"].append(created["address"]["id"])
    key = ref("key")
    order = await _call(
        callers["customer"],
        "mutation($c: ID!, $a: AddressInput!, $k: String!) { checkoutComplete(cartId: $c, "
        'paymentToken: "tok_success", shippingAddress: $a, idempotencyKey: $k) '
        f"{{ order {{ id }} {ERRORS} }} }}",
        {"c": known.ids["cart"][0], "a": address, "k": key},
    )
    known.ids["order"] = [order["order"]["id"]]
    known.keys.append(key)
    orders = await _call(callers["customer"], "query { myOrders(first: 1) { endCursor } }")
    known.cursors.append(orders["endCursor"])
