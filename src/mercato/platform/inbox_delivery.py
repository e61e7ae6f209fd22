"""The pieces of an inbox consumer's delivery that are not its flow (`platform.inbox`): a fetched
message with its envelope, what tells a redelivery, keeping a long batch's messages in progress, and
the guard that refuses a handler's commit of the batch's shared unit of work."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

from nats.aio.msg import Msg

from mercato.platform.events import Envelope

# How long a batch in progress keeps telling the watchdog the consumer is alive (see `kept_in_progress`).
BATCH_LIFE_SECONDS = 600.0


@dataclass(frozen=True, slots=True)
class Delivery:
    msg: Msg
    envelope: Envelope


def redelivered(msg: Msg) -> bool:
    try:
        return (msg.metadata.num_delivered or 1) > 1
    except Exception:  # noqa: BLE001 - not a JetStream message (a test's): not a redelivery
        return False


class HandlerBrokeTheBatch(RuntimeError):
    """A handler committed or rolled back the unit of work its batch shares."""


@contextlib.asynccontextmanager
async def kept_in_progress(
    deliveries: Sequence[Delivery], ack_wait: float, heartbeat: Callable[[], None]
) -> AsyncIterator[None]:
    """Tell the server, every half ack wait, that these messages are still being worked on, so a
    long batch (or its one-by-one retry) is not redelivered to another consumer meanwhile. A batch
    still running is a sign of life for the watchdog too, for up to `BATCH_LIFE_SECONDS`: a long
    batch (a bulk import reaching the search index) is not a wedged consumer, an endless one is."""
    loop = asyncio.get_running_loop()
    started = loop.time()

    async def beat() -> None:
        while True:
            await asyncio.sleep(ack_wait / 2)
            if loop.time() - started < BATCH_LIFE_SECONDS:
                heartbeat()
            for delivery in deliveries:
                # Already acked, nak'ed or parked: nothing to extend.
                with contextlib.suppress(Exception):
                    await delivery.msg.in_progress()

    beating = asyncio.create_task(beat())
    try:
        yield
    finally:
        # Not awaited: awaiting it here could swallow a cancellation of the batch itself.
        beating.cancel()


def no_heartbeat() -> None:
    pass


async def refuse_commit() -> None:
    raise HandlerBrokeTheBatch("a handler committed the unit of work its batch shares")
