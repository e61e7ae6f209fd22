"""A process stops within its grace period whatever its consumers are doing (issue 11, item 5).

`mercato dev` sometimes ignored Ctrl-C: the runtime's stop cancelled each background task once and
awaited it, and a consumer whose cancellation was lost inside the NATS client (`next_msg` runs
`asyncio.wait_for` in a task of its own; on Python 3.11 a result arriving with the cancellation wins)
kept looping, so the await never returned. Here: the mechanism alone, on a task that swallows every
cancellation but the flag; then the whole runtime, started and stopped again and again while every
stream it consumes is flooded, so its consumers are always between a fetch and a message.

No timing is asserted: a stop that hangs is turned into a failure by a generous bound.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator

import orjson
import pytest

from mercato.app.contexts import MIGRATIONS
from mercato.app.runtime import Runtime
from mercato.platform.config import Settings
from mercato.platform.db import Database
from mercato.platform.engines import EngineUrls
from mercato.platform.messaging import Broker
from mercato.platform.migrations import migrate
from mercato.platform.shutdown import Stopping, stop_tasks, wait_event
from tests.conftest import own_database

HANG = 20.0  # far beyond any grace period here: only a stop that hangs reaches it
ROUNDS = 12


async def test_a_task_that_loses_its_cancellations_stops_at_its_flag() -> None:
    stopping = Stopping()
    turns = 0

    async def stubborn() -> None:
        nonlocal turns
        while not stopping:
            turns += 1
            try:
                await asyncio.sleep(0.01)
            except asyncio.CancelledError:
                # What a lost cancellation looks like from the outside: the loop goes on.
                asyncio.current_task().uncancel()  # type: ignore[union-attr]

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0.05)
    stopping.set()

    async with asyncio.timeout(HANG):
        left_behind = await stop_tasks([task], grace=5.0)

    assert (left_behind, task.done(), task.cancelled()) == (0, True, False)
    assert turns > 0


async def test_a_task_that_never_stops_is_left_behind_after_the_grace() -> None:
    release = asyncio.Event()

    async def deaf() -> None:
        while not release.is_set():
            try:
                await asyncio.sleep(0.01)
            except asyncio.CancelledError:
                asyncio.current_task().uncancel()  # type: ignore[union-attr]

    task = asyncio.create_task(deaf())
    await asyncio.sleep(0.05)  # running its loop

    async with asyncio.timeout(HANG):
        left_behind = await stop_tasks([task], grace=0.3)

    assert (left_behind, task.done()) == (1, False)
    release.set()
    await task


async def test_wait_event_passes_a_cancellation_that_comes_with_the_event() -> None:
    """`asyncio.wait_for` on 3.11 returns True here and the task goes on; `wait_event` raises."""
    event = asyncio.Event()

    async def waiter() -> bool:
        return await wait_event(event, 10.0)

    task = asyncio.create_task(waiter())
    await asyncio.sleep(0)  # the waiter is parked on the event
    event.set()  # its wake-up and the cancellation land in the same loop iteration
    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.fixture
async def flooded(engine_urls: EngineUrls, settings: Settings) -> AsyncIterator[tuple[Settings, Broker]]:
    """Settings on a database and under a namespace of their own (the runtime's relays poll every
    outbox of its database: not the shared one), and a broker on that namespace."""
    namespace = f"stop{secrets.token_hex(3)}"
    async with own_database(engine_urls, namespace) as url:
        own = settings.model_copy(update={"namespace": namespace, "database_url": url})
        db = Database(url)
        await migrate(db, MIGRATIONS)
        await db.dispose()
        assert own.nats_url is not None
        broker = Broker(own.nats_url, own.namespace)
        await broker.connect()
        yield own, broker
        await broker.delete_streams()
        await broker.close()


async def flood(broker: Broker, contexts: list[str], stop: asyncio.Event) -> int:
    """Publish events no handler takes (each consumer fetches and acks them) until `stop`."""
    sent = 0
    while not stop.is_set():
        for context in contexts:
            body = orjson.dumps(
                {
                    "id": str(uuid.uuid4()),
                    "type": f"{context}.noise",
                    "aggregate_id": "x",
                    "occurred_at": "2030-01-01T00:00:00+00:00",
                    "payload": {},
                    "version": 1,
                }
            )
            await broker.nc.publish(f"{broker.namespace}.{context}.v1.noise", body)
            sent += 1
        await asyncio.sleep(0.0005 if sent % 20 else 0.002)
    return sent


async def test_the_runtime_stops_within_its_grace_under_load(flooded: tuple[Settings, Broker]) -> None:
    own, broker = flooded
    contexts = ["catalog", "inventory", "orders", "payments", "customers"]
    for context in contexts:
        await broker.ensure_stream(context)
    stopped = 0
    for _ in range(ROUNDS):
        runtime = Runtime(own)
        await runtime.start()
        done = asyncio.Event()
        publisher = asyncio.create_task(flood(broker, contexts, done))
        await asyncio.sleep(0.7)  # consumers busy fetching, relays polling, sweepers sweeping

        async with asyncio.timeout(HANG):
            await runtime.stop()
        stopped += 1
        done.set()
        assert await publisher > 0

    assert stopped == ROUNDS
