"""A checkout through the API: counted in the business metrics, logged as JSON with trace and order
ids, and no password, access or refresh token or payment token in any log line or span."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.types import ASGIApp

from mercato.platform import telemetry
from mercato.platform.business_metrics import BUSINESS
from mercato.platform.logs import JsonFormatter
from tests.conftest import ref
from tests.e2e.api_client import GraphQLClient
from tests.e2e.test_checkout import cart_with, checkout, stocked_sku

PASSWORD = "correct horse battery staple 42"


@pytest.fixture
def captured() -> Iterator[tuple[io.StringIO, InMemorySpanExporter]]:
    """Every log record at DEBUG, formatted as production formats it, and every span."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    try:
        with telemetry.use_tracer_provider(provider):
            yield out, memory
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        provider.shutdown()


def counted(name: str, **labels: str) -> float:
    return BUSINESS.get_sample_value(name, labels) or 0.0


async def signed_up(app: ASGIApp, clients: list[httpx.AsyncClient]) -> tuple[GraphQLClient, dict[str, str]]:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mercato.test")
    clients.append(http)
    client = GraphQLClient(http)
    credentials = {"input": {"email": f"{ref('logs')}@example.com", "password": PASSWORD}}
    await client.mutate(
        "mutation($input: AccountRegisterInput!) { accountRegister(input: $input) { errors { code } } }",
        credentials,
        "accountRegister",
    )
    tokens: dict[str, str] = await client.mutate(
        "mutation($input: TokenCreateInput!) "
        "{ tokenCreate(input: $input) { accessToken refreshToken errors { code } } }",
        credentials,
        "tokenCreate",
    )
    http.headers["Authorization"] = f"Bearer {tokens['accessToken']}"
    return client, tokens


async def test_a_checkout_is_counted_traced_and_leaks_no_secret(
    api: GraphQLClient,
    app: ASGIApp,
    clients: list[httpx.AsyncClient],
    captured: tuple[io.StringIO, InMemorySpanExporter],
) -> None:
    out, spans = captured
    confirmed = counted("mercato_orders_total", event="confirmed")
    rejected = counted("mercato_orders_rejected_total", reason="PAYMENT_DECLINED")
    answered = counted("mercato_checkout_duration_seconds_count", status="CONFIRMED")
    sku = await stocked_sku(api, units=5)
    customer, tokens = await signed_up(app, clients)

    bought = await checkout(customer, await cart_with(customer, sku, 1), "tok_success", ref("key"))
    declined = await checkout(customer, await cart_with(customer, sku, 1), "tok_decline", ref("key"))
    await asyncio.sleep(0.5)  # the consumers after the answer (the cart emptied) log too

    assert (bought["order"]["status"], declined["order"]["status"]) == ("CONFIRMED", "REJECTED")
    assert counted("mercato_orders_total", event="confirmed") == confirmed + 1
    assert counted("mercato_orders_rejected_total", reason="PAYMENT_DECLINED") == rejected + 1
    assert counted("mercato_checkout_duration_seconds_count", status="CONFIRMED") == answered + 1

    lines = [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]
    emitted = out.getvalue() + "\n".join(
        f"{s.name} {dict(s.attributes or {})} {[dict(e.attributes or {}) for e in s.events]}"
        for s in spans.get_finished_spans()
    )
    assert lines and spans.get_finished_spans()
    for secret in (PASSWORD, tokens["accessToken"], tokens["refreshToken"], "tok_success", "tok_decline"):
        assert secret not in emitted
    about_the_order = [line for line in lines if line.get("order_id") == bought["order"]["id"]]
    assert about_the_order and all(len(line["trace_id"]) == 32 for line in about_the_order)
