"""Issue 12, payment data: a shopper's payment token never leaves the gateway and payments.

One checkout with a distinctive token, then every place it could have leaked is searched for it:
every message of the test namespace's NATS streams, every row of every table of every schema (as
text, bytea as hex, so JSON bodies of the outboxes and inboxes are searched too), every key of the
namespace in Redis, every log record and every span (attributes and events) of the run. The token
is nowhere; its reference (the token sealed by payments' key) is where the token used to be (the
saga, the NATS command, the payment operation), which shows the search sees them.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from redis.asyncio import Redis
from sqlalchemy import text
from starlette.types import ASGIApp

from mercato.platform import telemetry
from mercato.platform.config import Settings
from mercato.platform.db import Database
from mercato.platform.messaging import Broker
from tests.conftest import ref
from tests.e2e.api_client import GraphQLClient
from tests.e2e.test_checkout import cart_with, checkout, items_once_settled, shopper, stocked_sku

TABLES = text(
    "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
    "AND table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2"
)


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Every Mercato span of the test (gateway, gRPC, consumers) goes to memory."""
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    with telemetry.use_tracer_provider(provider):
        yield memory
    provider.shutdown()


def needles(secret: str) -> list[str]:
    """The secret as text, and as the hex a bytea column prints (JSON bodies are stored as bytes)."""
    return [secret, secret.encode().hex()]


async def table_hits(db: Database, secret: str) -> dict[str, int]:
    """Rows per `schema.table` whose text holds `secret`; every table of the database is read."""
    found: dict[str, int] = {}
    async with db.connect() as conn:
        tables = (await conn.execute(TABLES)).all()
        assert len(tables) > 20  # every context's tables, outboxes and inboxes
        for schema, table in tables:
            dump = await conn.execute(text(f'SELECT t::text FROM "{schema}"."{table}" t'))
            hits = sum(1 for (row,) in dump if any(n in row for n in needles(secret)))
            if hits:
                found[f"{schema}.{table}"] = hits
    return found


async def stream_hits(broker: Broker, settings: Settings, secret: str) -> tuple[int, dict[str, int]]:
    """(messages read, messages holding `secret` per stream) over every stream of the namespace."""
    prefix, read, found = f"{settings.namespace}_".upper(), 0, {}
    for info in await broker.js.streams_info():
        name = info.config.name or ""
        if not name.startswith(prefix):
            continue
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            message = await broker.js.get_msg(name, seq)
            read += 1
            body = (message.data or b"") + repr(message.headers).encode()
            if secret.encode() in body:
                found[name] = found.get(name, 0) + 1
    return read, found


async def redis_hits(redis: Redis, settings: Settings, secret: str) -> list[str]:
    """Keys of the namespace whose serialized value holds `secret` (carts, cache entries, ...)."""
    hits = []
    async for key in redis.scan_iter(match=f"{settings.namespace}:*", count=1000):
        dumped = await redis.dump(key)
        if dumped is not None and secret.encode() in dumped:
            hits.append(key.decode())
    return hits


def log_hits(records: list[logging.LogRecord], secret: str) -> list[str]:
    lines = [f"{r.name}: {r.getMessage()} {r.exc_text or ''} {vars(r)}" for r in records]
    return [line for line in lines if secret in line]


def span_hits(memory: InMemorySpanExporter, secret: str) -> list[str]:
    hits = []
    for span in memory.get_finished_spans():
        described: list[Any] = [span.name, dict(span.attributes or {})]
        described += [(e.name, dict(e.attributes or {})) for e in span.events]
        if secret in repr(described):
            hits.append(span.name)
    return hits


async def test_the_payment_token_is_nowhere_but_sealed_into_its_reference(
    api: GraphQLClient,
    app: ASGIApp,
    clients: list[httpx.AsyncClient],
    db: Database,
    broker: Broker,
    redis: Redis,
    settings: Settings,
    spans: InMemorySpanExporter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given a shopper with a cart, and a token seen nowhere before
    token = f"tok_ok_{uuid.uuid4().hex}"
    sku = await stocked_sku(api, units=3)
    customer = await shopper(app, clients)
    cart_id = await cart_with(customer, sku, 1)
    caplog.set_level(logging.DEBUG)
    # When the shopper checks out with it, and the order's events have gone all the way round
    result = await checkout(customer, cart_id, token, ref("checkout"))
    assert result["errors"] == [] and result["order"]["status"] == "CONFIRMED"
    assert await items_once_settled(customer, cart_id) == 0  # order_confirmed reached the cart
    async with db.connect() as conn:
        [(reference,)] = (
            await conn.execute(
                text(
                    "SELECT o.payment_token FROM payments.payment_operations o "
                    "WHERE o.operation = 'AUTHORIZE' AND o.order_reference = :order"
                ),
                {"order": result["order"]["id"]},
            )
        ).all()
    assert reference.startswith("pm_2.") and token not in reference  # sealed by payments
    # Then the token is in no table, nor any stream, key, log or span
    assert await table_hits(db, token) == {}
    read, streamed = await stream_hits(broker, settings, token)
    assert read > 0 and streamed == {}
    assert await redis_hits(redis, settings, token) == []
    assert log_hits(caplog.records, token) == []
    assert span_hits(spans, token) == []
    # And the reference stands where the token used to: the saga, its NATS command, the operation
    where = await table_hits(db, reference)
    assert {"orders.sagas", "payments.payment_operations"} <= set(where)
    _, carried = await stream_hits(broker, settings, reference)
    assert set(carried) == {f"{settings.namespace}_orders".upper()}
