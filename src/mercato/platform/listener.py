"""Durable JetStream consumers for contexts without a database: the handler is idempotent by itself.

`inbox.EventConsumer` makes a redelivered message a no-op with an inbox row in the consumer's
PostgreSQL schema. A context that keeps its state elsewhere (the cart, in Redis) cannot write that
row in the same transaction as its change, so its handlers carry their own idempotency instead (the
cart records, atomically with the change, which order's lines it already removed). Otherwise the
same contract: fetch, handle, ack after success; a failure is retried with backoff and, after
`max_deliveries`, logged and terminated rather than blocking the stream.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from nats.aio.msg import Msg
from nats.js import JetStreamContext

from mercato.platform.events import Envelope
from mercato.platform.messaging import Broker, fetch_ready
from mercato.platform.shutdown import Stopping

log = logging.getLogger(__name__)

IdempotentHandler = Callable[[Envelope], Awaitable[None]]


class Listener(Protocol):
    """Something a context runs on the broker beside its inbox consumers (see `app.host`)."""

    # Set before `run`'s task is cancelled: `run` returns at its next turn (see `platform.shutdown`).
    stopping: Stopping

    async def start(self, broker: Broker) -> None: ...

    async def run(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass(frozen=True)
class Listening:
    """`name` (unique within `owner`) handles events of `source_context` whose type is in `handlers`."""

    owner: str
    name: str
    source_context: str
    handlers: dict[str, IdempotentHandler]


class EventListener:
    """A `Listener` running `listening` on a durable pull consumer shared by every replica."""

    def __init__(
        self,
        listening: Listening,
        *,
        batch_size: int = 100,
        max_deliveries: int = 10,
        ack_wait: float = 10.0,
    ) -> None:
        self.listening = listening
        self.batch_size = batch_size
        self.max_deliveries = max_deliveries
        self.ack_wait = ack_wait
        self._psub: JetStreamContext.PullSubscription | None = None
        self.durable = ""
        self.stopping = Stopping()

    async def start(self, broker: Broker) -> None:
        self.durable = f"{broker.namespace}_{self.listening.owner}_{self.listening.name}"
        self._psub = await broker.durable_pull(
            self.listening.source_context,
            self.durable,
            ack_wait=self.ack_wait,
            max_deliveries=self.max_deliveries,
            event_types=self.listening.handlers.keys(),
        )

    async def stop(self) -> None:
        if self._psub is not None:
            await self._psub.unsubscribe()
            self._psub = None

    async def run(self) -> None:
        while not self.stopping:
            try:
                await self.poll(wait=1.0)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("listener %s failed; retrying", self.durable)
                await asyncio.sleep(0.5)

    async def poll(self, wait: float = 1.0) -> int:
        """Fetch and handle one batch; returns the number of messages fetched."""
        if self._psub is None:
            raise RuntimeError("listener polled before start()")
        messages = await fetch_ready(self._psub, self.batch_size, wait)
        # Independent messages (each handler is idempotent on its own key): handled side by side.
        await asyncio.gather(*(self._handle(msg) for msg in messages))
        return len(messages)

    async def _handle(self, msg: Msg) -> None:
        envelope = Envelope.from_json(msg.data)
        handler = self.listening.handlers.get(envelope.type)
        if handler is None:
            await msg.ack()
            return
        try:
            await handler(envelope)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure is retried, then given up on
            deliveries = msg.metadata.num_delivered or 1
            if deliveries < self.max_deliveries:
                log.warning(
                    "listener %s: %s failed (try %d): %r", self.durable, envelope.type, deliveries, exc
                )
                await msg.nak(delay=min(30.0, 0.1 * 2**deliveries))
            else:
                log.error("listener %s: giving up on %s: %r", self.durable, envelope.id, exc)
                await msg.term()
            return
        await msg.ack()
