"""Outbox -> JetStream -> inbox: nothing lost, nothing doubled, even when a relay dies mid-way."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence

import pytest
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import FetchTimeoutError
from redis.asyncio import Redis
from sqlalchemy import text

from mercato.catalog.bootstrap import CatalogService
from mercato.platform.cache import Cache
from mercato.platform.db import Database
from mercato.platform.events import Envelope
from mercato.platform.inbox import EventConsumer, Subscription
from mercato.platform.messaging import Broker
from mercato.platform.outbox import OutboxRelay
from mercato.platform.unit_of_work import UnitOfWork
from tests.conftest import ref
from tests.service.catalog.builders import a_product


class RelayCrashed(Exception):
    pass


@pytest.fixture(scope="module")
async def catalog(db: Database, redis: Redis, namespace: str, broker: Broker) -> CatalogService:
    await broker.ensure_stream("catalog")
    return CatalogService(db, Cache(redis, namespace, enabled=False), namespace)


async def published_ids(broker: Broker, aggregate_id: uuid.UUID) -> list[uuid.UUID]:
    """Ids of every message in the stream about `aggregate_id` (duplicates included)."""
    sub = await broker.js.pull_subscribe(
        f"{broker.namespace}.catalog.>",
        stream=f"{broker.namespace}_CATALOG".upper(),
        config=ConsumerConfig(
            ack_policy=AckPolicy.NONE, deliver_policy=DeliverPolicy.ALL, inactive_threshold=5.0
        ),
    )
    found: list[uuid.UUID] = []
    try:
        while True:
            try:
                batch = await sub.fetch(500, timeout=0.5)
            except (FetchTimeoutError, TimeoutError):
                return found
            for msg in batch:
                envelope = Envelope.from_json(msg.data)
                if envelope.aggregate_id == str(aggregate_id):
                    found.append(envelope.id)
    finally:
        await sub.unsubscribe()


async def pending(db: Database, aggregate_id: uuid.UUID) -> int:
    async with db.connect() as conn:
        return int(
            (
                await conn.execute(
                    text(
                        "SELECT count(*) FROM catalog.outbox WHERE published_at IS NULL "
                        "AND convert_from(body, 'UTF8')::jsonb ->> 'aggregate_id' = :id"
                    ),
                    {"id": str(aggregate_id)},
                )
            ).scalar_one()
        )


async def test_relay_publishes_each_event_once_with_its_id(
    catalog: CatalogService, db: Database, broker: Broker
) -> None:
    product_id, _ = await a_product(catalog)
    assert await pending(db, product_id) == 1
    relay = OutboxRelay(db, catalog.outbox, broker)
    while await relay.publish_pending():
        pass
    assert await pending(db, product_id) == 0
    ids = await published_ids(broker, product_id)
    assert len(ids) == 1


async def test_a_relay_killed_between_publish_and_mark_loses_and_doubles_nothing(
    catalog: CatalogService, db: Database, broker: Broker
) -> None:
    product_id, _ = await a_product(catalog)
    crashing = OutboxRelay(db, catalog.outbox, broker)

    async def crash(published: Sequence[uuid.UUID]) -> None:
        assert published, "the crash must come after something was published"
        raise RelayCrashed

    crashing.after_publish = crash
    with pytest.raises(RelayCrashed):
        await crashing.publish_pending()
    assert await pending(db, product_id) == 1  # not marked: the claim transaction rolled back
    assert len(await published_ids(broker, product_id)) == 1  # ...but it reached the broker

    survivor = OutboxRelay(db, catalog.outbox, broker)
    while await survivor.publish_pending():
        pass
    assert await pending(db, product_id) == 0
    assert len(await published_ids(broker, product_id)) == 1  # the re-publish was dropped by Nats-Msg-Id


async def test_the_inbox_makes_redelivery_harmless(
    catalog: CatalogService, db: Database, broker: Broker
) -> None:
    product_id, _ = await a_product(catalog)
    relay = OutboxRelay(db, catalog.outbox, broker)
    while await relay.publish_pending():
        pass
    effects: Counter[uuid.UUID] = Counter()
    failures = {"left": 2}

    async def on_created(envelope: Envelope, uow: UnitOfWork) -> None:
        if envelope.aggregate_id != str(product_id):
            return
        # A side effect in the same transaction as the inbox row...
        await uow.conn.execute(text("SELECT 1"))
        if failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("handler failed before commit")
        effects[envelope.id] += 1

    subscription = Subscription(
        name=ref("test"), source_context="catalog", handlers={"catalog.product_created": on_created}
    )
    consumer = EventConsumer(db, broker, "catalog", subscription, catalog.uow, max_deliveries=5)
    await consumer.start()
    for _ in range(40):
        await consumer.poll(wait=0.3)
        if effects:
            break
    assert list(effects.values()) == [1]
    [event_id] = effects

    # Deliver the very same message again, as JetStream would after a lost ack.
    msgs = [m for m in await _raw(broker, product_id)]
    for msg in msgs:
        await consumer.handle(msg)
    await consumer.stop()
    assert effects[event_id] == 1
    async with db.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT count(*) FROM catalog.inbox WHERE consumer = :c AND event_id = :e"),
                {"c": subscription.name, "e": event_id},
            )
        ).scalar_one()
    assert rows == 1


async def _raw(broker: Broker, aggregate_id: uuid.UUID) -> list[object]:
    sub = await broker.js.pull_subscribe(
        f"{broker.namespace}.catalog.v1.product_created",
        stream=f"{broker.namespace}_CATALOG".upper(),
        config=ConsumerConfig(
            ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.ALL, inactive_threshold=5.0
        ),
    )
    try:
        batch = await sub.fetch(500, timeout=1.0)
        return [m for m in batch if Envelope.from_json(m.data).aggregate_id == str(aggregate_id)]
    finally:
        await sub.unsubscribe()
