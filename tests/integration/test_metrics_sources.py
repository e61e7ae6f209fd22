"""Metrics read from the engines at scrape time: a JetStream consumer's lag and an outbox's backlog."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import MetaData, insert, text
from starlette.applications import Starlette
from starlette.routing import Route

from mercato.platform.db import Database
from mercato.platform.events import Envelope
from mercato.platform.inbox import EventConsumer, Subscription
from mercato.platform.messaging import Broker
from mercato.platform.metrics import (
    Metrics,
    consumer_lag_source,
    metrics_endpoint,
    outbox_age_source,
    outbox_pending_source,
)
from mercato.platform.outbox import Outbox, outbox_table
from mercato.platform.unit_of_work import UnitOfWork


async def scrape(metrics: Metrics) -> str:
    app = Starlette(routes=[Route("/metrics", metrics_endpoint(metrics))])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    return response.text


def no_unit_of_work() -> UnitOfWork:
    raise AssertionError("the consumer has no handler: it only acknowledges")


@pytest.fixture
async def consumer(db: Database, broker: Broker) -> AsyncIterator[EventConsumer]:
    """A consumer without handlers on a stream of its own (removed afterwards)."""
    context = f"lag{secrets.token_hex(4)}"
    await broker.ensure_stream(context)
    subscription = Subscription(name="lag", source_context=context, handlers={})
    consumer = EventConsumer(db, broker, "metrics", subscription, no_unit_of_work)
    await consumer.start()
    yield consumer
    await consumer.stop()
    await broker.js.delete_stream(consumer.stream)


async def publish(broker: Broker, context: str, count: int) -> None:
    for _ in range(count):
        envelope = Envelope(uuid.uuid4(), f"{context}.thing_happened", 1, datetime.now(UTC), "a", {})
        await broker.js.publish(envelope.subject(broker.namespace), envelope.to_json())


async def test_a_scrape_reports_a_consumers_lag_and_its_catching_up(
    consumer: EventConsumer, broker: Broker
) -> None:
    metrics = Metrics(process_collectors=False)
    metrics.add_consumer_lag_source(consumer_lag_source([consumer]))
    line = f'mercato_consumer_pending_messages{{consumer="{consumer.durable}",stream="{consumer.stream}"}}'

    await publish(broker, consumer.subscription.source_context, 3)
    assert await consumer.pending() == 3
    assert f"{line} 3.0\n" in await scrape(metrics)

    assert await consumer.poll(wait=1.0) == 3
    # Acknowledgements are fire-and-forget: give the server a bounded moment to count them.
    for _ in range(200):
        if await consumer.pending() == 0:
            break
        await asyncio.sleep(0.01)
    assert f"{line} 0.0\n" in await scrape(metrics)


async def test_a_consumer_that_cannot_be_read_keeps_its_last_lag(
    consumer: EventConsumer, broker: Broker
) -> None:
    metrics = Metrics(process_collectors=False)
    metrics.add_consumer_lag_source(consumer_lag_source([consumer]))
    labels = {"stream": consumer.stream, "consumer": consumer.durable}
    await publish(broker, consumer.subscription.source_context, 2)
    await metrics.sample()
    assert metrics.registry.get_sample_value("mercato_consumer_pending_messages", labels) == 2.0

    await broker.js.delete_consumer(consumer.stream, consumer.durable)
    await metrics.sample()
    assert metrics.registry.get_sample_value("mercato_consumer_pending_messages", labels) == 2.0


@pytest.fixture
async def outbox(db: Database, namespace: str) -> AsyncIterator[Outbox]:
    """An outbox table in a schema of its own (dropped afterwards), so other tests cannot move it."""
    schema = f"metrics_{secrets.token_hex(4)}"
    table = outbox_table(MetaData(schema=schema))
    async with db.begin() as conn:
        await conn.execute(text(f"CREATE SCHEMA {schema}"))
        await conn.run_sync(table.metadata.create_all)
    yield Outbox(table, namespace)
    async with db.begin() as conn:
        await conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))


async def test_a_scrape_reports_the_events_an_outbox_has_not_published(db: Database, outbox: Outbox) -> None:
    metrics = Metrics(process_collectors=False)
    metrics.add_outbox_source(outbox_pending_source(db, [outbox]))
    line = f'mercato_outbox_pending_events{{context="{outbox.schema}"}}'
    assert f"{line} 0.0\n" in await scrape(metrics)

    rows = [
        {"id": uuid.uuid4(), "subject": "s", "body": b"{}", "published_at": published}
        for published in (None, None, datetime.now(UTC))
    ]
    async with db.begin() as conn:
        await conn.execute(insert(outbox.table).values(rows))
    assert f"{line} 2.0\n" in await scrape(metrics)


async def test_a_scrape_reports_how_old_the_oldest_unpublished_event_is(db: Database, outbox: Outbox) -> None:
    metrics = Metrics(process_collectors=False)
    metrics.add_outbox_age_source(outbox_age_source(db, [outbox]))
    line = f'mercato_outbox_oldest_pending_age_seconds{{context="{outbox.schema}"}}'
    assert f"{line} 0.0\n" in await scrape(metrics)

    now = datetime.now(UTC)
    rows_at = [
        # Published long ago: not pending, so it does not count however old it is.
        (now - timedelta(hours=2), now),
        (now - timedelta(minutes=10), None),
        (now, None),
    ]
    rows = [
        {"id": uuid.uuid4(), "subject": "s", "body": b"{}", "created_at": created, "published_at": published}
        for created, published in rows_at
    ]
    async with db.begin() as conn:
        await conn.execute(insert(outbox.table).values(rows))
    exported = await scrape(metrics)
    [age] = [float(x.split()[-1]) for x in exported.splitlines() if x.startswith(line)]
    assert 600.0 <= age < 900.0  # the row written ten minutes ago, read a moment later
