"""Process metrics: the HTTP middleware, the exposition endpoint and sources sampled at scrape time."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import httpx
import pytest
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from mercato.platform.metrics import HttpMetricsMiddleware, Metrics, consumer_lag_source, metrics_endpoint

IN_FLIGHT = "mercato_http_requests_in_flight"


class Boom(Exception):
    pass


def value(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


class Gate:
    """Holds requests until `expected` of them are inside, then until opened."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.inside = 0
        self.all_inside = asyncio.Event()
        self.opened = asyncio.Event()

    async def hold(self) -> None:
        self.inside += 1
        if self.inside == self.expected:
            self.all_inside.set()
        await self.opened.wait()


def an_app(metrics: Metrics, seen: list[float | None], gate: Gate | None = None) -> Starlette:
    async def graphql(request: Request) -> PlainTextResponse:
        seen.append(value(metrics, IN_FLIGHT))
        if gate is not None:
            await gate.hold()
        return PlainTextResponse("ok")

    async def broken(request: Request) -> PlainTextResponse:
        seen.append(value(metrics, IN_FLIGHT))
        raise Boom

    async def missing(request: Request) -> PlainTextResponse:
        return PlainTextResponse("no", status_code=404)

    routes = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        Route("/readyz", broken),
        Route("/products/{slug}", missing),
        Route("/metrics", metrics_endpoint(metrics)),
    ]
    return Starlette(routes=routes, middleware=[])


def a_client(metrics: Metrics, app: Starlette) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=HttpMetricsMiddleware(app, metrics))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def test_a_request_is_in_flight_while_served_and_counted_after() -> None:
    metrics = Metrics(process_collectors=False)
    seen: list[float | None] = []
    async with a_client(metrics, an_app(metrics, seen)) as client:
        response = await client.post("/graphql")
    assert response.status_code == 200
    assert seen == [1.0]
    assert value(metrics, IN_FLIGHT) == 0.0
    assert value(metrics, "mercato_http_requests_total", method="POST", path="/graphql", status="200") == 1.0
    assert (
        value(metrics, "mercato_http_request_duration_seconds_count", method="POST", path="/graphql") == 1.0
    )


async def test_concurrent_requests_are_all_in_flight() -> None:
    metrics = Metrics(process_collectors=False)
    seen: list[float | None] = []
    gate = Gate(expected=3)
    async with a_client(metrics, an_app(metrics, seen, gate)) as client:
        requests = [asyncio.create_task(client.get("/graphql")) for _ in range(3)]
        await asyncio.wait_for(gate.all_inside.wait(), timeout=10)
        during = value(metrics, IN_FLIGHT)
        gate.opened.set()
        responses = await asyncio.gather(*requests)
    assert during == 3.0
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert value(metrics, IN_FLIGHT) == 0.0
    assert value(metrics, "mercato_http_requests_total", method="GET", path="/graphql", status="200") == 3.0


async def test_an_app_that_raises_leaves_nothing_in_flight_and_counts_a_500() -> None:
    metrics = Metrics(process_collectors=False)
    seen: list[float | None] = []
    async with a_client(metrics, an_app(metrics, seen)) as client:
        with pytest.raises(Boom):
            await client.get("/readyz")
    assert seen == [1.0]
    assert value(metrics, IN_FLIGHT) == 0.0
    assert value(metrics, "mercato_http_requests_total", method="GET", path="/readyz", status="500") == 1.0


async def test_unknown_paths_and_methods_collapse_to_other() -> None:
    metrics = Metrics(process_collectors=False)
    async with a_client(metrics, an_app(metrics, [])) as client:
        for slug in ("a", "b", "c"):
            assert (await client.get(f"/products/{slug}")).status_code == 404
        assert (await client.request("BREW", "/graphql")).status_code == 405
    assert value(metrics, "mercato_http_requests_total", method="GET", path="other", status="404") == 3.0
    assert value(metrics, "mercato_http_requests_total", method="other", path="/graphql", status="405") == 1.0
    exposition = metrics.exposition().decode()
    assert "/products/" not in exposition
    assert "BREW" not in exposition


async def test_the_exposition_names_every_metric_and_a_scrape_is_not_in_flight() -> None:
    metrics = Metrics()
    async with a_client(metrics, an_app(metrics, [])) as client:
        await client.post("/graphql")
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == CONTENT_TYPE_LATEST
    body = response.text
    for name in (
        "mercato_http_requests_in_flight",
        "mercato_grpc_requests_in_flight",
        "mercato_http_requests_total",
        "mercato_http_request_duration_seconds",
        "mercato_grpc_requests_total",
        "mercato_grpc_request_duration_seconds",
        "mercato_consumer_pending_messages",
        "mercato_outbox_pending_events",
        "process_cpu_seconds_total",
    ):
        assert f"# TYPE {name} " in body
    assert "mercato_http_requests_in_flight 0.0" in body  # the scrape itself is not in flight
    assert value(metrics, "mercato_http_requests_total", method="GET", path="/metrics", status="200") == 1.0


async def test_lifespan_and_websocket_scopes_pass_through_uncounted() -> None:
    metrics = Metrics(process_collectors=False)
    scopes: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        scopes.append(scope["type"])

    async def receive() -> Message:
        return {"type": "lifespan.startup"}

    async def send(message: Message) -> None:
        pass

    middleware = HttpMetricsMiddleware(app, metrics)
    await middleware({"type": "lifespan"}, receive, send)
    await middleware({"type": "websocket", "path": "/graphql"}, receive, send)
    assert scopes == ["lifespan", "websocket"]
    assert "mercato_http_requests_total{" not in metrics.exposition().decode()


# --- sources --------------------------------------------------------------------------------------


PENDING = "mercato_consumer_pending_messages"


class FakeConsumer:
    def __init__(self, stream: str, durable: str, lag: int) -> None:
        self.stream = stream
        self.durable = durable
        self.lag: int | Exception = lag

    async def pending(self) -> int:
        if isinstance(self.lag, Exception):
            raise self.lag
        return self.lag


async def sample(metrics: Metrics) -> None:
    # The bound turns a hanging sample into a failure instead of a stuck test run.
    await asyncio.wait_for(metrics.sample(), timeout=10)


async def test_a_scrape_reads_consumer_lag_and_keeps_the_last_value_of_a_consumer_that_fails() -> None:
    metrics = Metrics(process_collectors=False)
    orders = FakeConsumer("NS_PAYMENTS", "ns_orders_payments", 7)
    inventory = FakeConsumer("NS_ORDERS", "ns_inventory_orders", 0)
    metrics.add_consumer_lag_source(consumer_lag_source([orders, inventory]))

    await sample(metrics)
    assert value(metrics, PENDING, stream="NS_PAYMENTS", consumer="ns_orders_payments") == 7.0
    assert value(metrics, PENDING, stream="NS_ORDERS", consumer="ns_inventory_orders") == 0.0

    orders.lag = ConnectionError("nats is away")
    inventory.lag = 4
    await sample(metrics)
    assert value(metrics, PENDING, stream="NS_PAYMENTS", consumer="ns_orders_payments") == 7.0
    assert value(metrics, PENDING, stream="NS_ORDERS", consumer="ns_inventory_orders") == 4.0


async def test_a_source_that_hangs_or_raises_keeps_its_last_values_and_the_scrape_completes() -> None:
    metrics = Metrics(process_collectors=False, sample_timeout=0.05)
    mode = {"now": "answer"}

    async def outbox() -> Mapping[str, int]:
        if mode["now"] == "hang":
            await asyncio.Event().wait()
        if mode["now"] == "raise":
            raise RuntimeError("database is away")
        return {"orders": 3}

    reads: list[int] = []

    async def healthy() -> Mapping[tuple[str, str], int]:
        reads.append(1)
        return {("NS_CATALOG", "ns_inventory_catalog"): len(reads)}

    metrics.add_outbox_source(outbox)
    metrics.add_consumer_lag_source(healthy)
    await sample(metrics)
    assert value(metrics, "mercato_outbox_pending_events", context="orders") == 3.0

    for failure in ("hang", "raise"):
        mode["now"] = failure
        await sample(metrics)
        assert value(metrics, "mercato_outbox_pending_events", context="orders") == 3.0
    # The healthy source was read on every scrape, the failing one did not hold it back.
    assert value(metrics, PENDING, stream="NS_CATALOG", consumer="ns_inventory_catalog") == 3.0


async def test_concurrent_scrapes_share_one_sampling() -> None:
    metrics = Metrics(process_collectors=False)
    calls: list[int] = []
    started = asyncio.Event()
    release = asyncio.Event()

    async def slow() -> Mapping[str, int]:
        calls.append(1)
        started.set()
        await release.wait()
        return {"catalog": len(calls)}

    metrics.add_outbox_source(slow)
    scrapes = [asyncio.create_task(sample(metrics)) for _ in range(3)]
    # The sampling task starts after the three scrapes have joined it (tasks run in creation order).
    await asyncio.wait_for(started.wait(), timeout=10)
    release.set()
    await asyncio.gather(*scrapes)
    assert calls == [1]
    assert value(metrics, "mercato_outbox_pending_events", context="catalog") == 1.0
