"""After real checkouts (confirmed, declined, out of stock) through the API, the invariant checker
finds nothing wrong once the system is quiet: the checker as a test helper."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from starlette.types import ASGIApp

from mercato.app.invariants import Limits, Scope, verify_when_quiet
from mercato.app.runtime import Runtime
from tests.conftest import ref
from tests.e2e.api_client import GraphQLClient
from tests.e2e.test_checkout import cart_with, checkout, items_once_settled, shopper, stocked_sku


async def test_checkouts_leave_no_violation(
    api: GraphQLClient, app: ASGIApp, clients: list[httpx.AsyncClient], runtime: Runtime
) -> None:
    since = datetime.now(UTC) - timedelta(seconds=1)
    sku = await stocked_sku(api, units=3)
    orders: list[uuid.UUID] = []
    outcomes = []
    # Two bought, one declined by the provider, one refused for want of stock (3 units, 2 + 1 sold).
    for token, quantity in (("tok_success", 2), ("tok_decline", 1), ("tok_success", 1), ("tok_success", 1)):
        customer = await shopper(app, clients)
        cart_id = await cart_with(customer, sku, quantity)
        result = await checkout(customer, cart_id, token, ref("key"))
        orders.append(uuid.UUID(result["order"]["id"]))
        outcomes.append(result["order"]["status"])
        if result["order"]["status"] == "CONFIRMED":
            assert await items_once_settled(customer, cart_id) == 0

    report = await verify_when_quiet(
        runtime.db,
        runtime.redis,
        runtime.settings.namespace,
        scope=Scope(orders=orders, skus=[sku], since=since),
        # Quiet means quiet: every event of these checkouts published, none merely "recent".
        limits=Limits(quiescence=timedelta(0)),
    )

    assert outcomes == ["CONFIRMED", "REJECTED", "CONFIRMED", "REJECTED"]
    assert report.violations == []
    assert [(r.name, r.checked) for r in report.results][:4] == [
        ("orders terminal or in flight", 4),
        ("money reconciles", 4),
        ("stock", 1),
        ("no double capture", 3),
    ]
