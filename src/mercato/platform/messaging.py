"""NATS JetStream connection: streams per context, publishing with broker-side dedup."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Collection

import nats
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StreamConfig
from nats.js.errors import FetchTimeoutError, NotFoundError

from mercato.platform.errors import Unavailable
from mercato.platform.events import event_subjects, stream_name, stream_subjects

log = logging.getLogger(__name__)

# How long the second request of `fetch_ready` may wait: it asks only for messages the server said it
# holds, so it normally returns at once; this bounds the rare case where another replica took them.
_REST_WAIT_SECONDS = 0.05


async def fetch_ready(psub: JetStreamContext.PullSubscription, limit: int, wait: float) -> list[Msg]:
    """The next message of a pull consumer, waiting up to `wait` seconds for one, together with up to
    `limit` - 1 more that are already waiting; [] when none came.

    Not nats-py's `fetch(limit)`: when its first request found nothing and its long poll began, it
    can hold the first message that arrives until its timeout while it waits for the batch to fill
    (a stale status message of an earlier request ends its first wait). At 8 shoppers about one order
    in seventeen lost the whole fetch wait, 1 s, at one of its saga hops (docs/benchmarks.md).
    So: one message (returned as soon as it arrives), then, if its metadata says more are pending,
    exactly that many, which the server hands over without waiting: a batch when there is a backlog,
    no delay when there is none."""
    try:
        first = await psub.fetch(1, timeout=wait)
    except (FetchTimeoutError, TimeoutError):
        return []
    if limit <= 1:
        return first
    pending = first[0].metadata.num_pending or 0
    if pending <= 0:
        return first
    try:
        return first + await psub.fetch(min(limit - 1, pending), timeout=_REST_WAIT_SECONDS)
    except (FetchTimeoutError, TimeoutError):
        return first


class Broker:
    """One NATS connection per process; every context's relay and consumers share it."""

    def __init__(self, url: str, namespace: str) -> None:
        self.url = url
        self.namespace = namespace
        self._nc: NATS | None = None
        self._js: JetStreamContext | None = None

    async def connect(self) -> None:
        try:
            self._nc = await nats.connect(
                self.url,
                name=f"mercato-{self.namespace}",
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.5,
                connect_timeout=5,
                drain_timeout=5,
                # A server that stops answering without closing the connection (a partition, a frozen
                # process) is noticed by unanswered pings only: 3 every 10 s, not the client's 2 every
                # 120 s, so the connection is dropped and re-dialled within about half a minute.
                ping_interval=10,
                max_outstanding_pings=3,
            )
        except Exception as exc:
            raise Unavailable(f"cannot reach NATS at {self.url}: {exc}") from exc
        self._js = self._nc.jetstream(timeout=5)

    @property
    def nc(self) -> NATS:
        if self._nc is None:
            raise Unavailable("broker is not connected")
        return self._nc

    @property
    def js(self) -> JetStreamContext:
        if self._js is None:
            raise Unavailable("broker is not connected")
        return self._js

    @property
    def is_connected(self) -> bool:
        return self._nc is not None and self._nc.is_connected

    async def ping(self, wait: float = 1.0) -> None:
        """A round trip to the server (for readiness): being connected is not enough, since a silent
        server leaves the connection open until the pings above run out.

        Not `nc.flush(timeout)`: on a timeout it cancels the future its PING waits on, and when the
        PONG comes at last the client's read loop fails setting that cancelled future's result
        (nats-py 2.16, InvalidStateError) and stops reading, so the connection is dead until the
        stale-connection check re-dials it (seen: 35 s without a publish after a 2 s stall). Here the
        PONG's future is never cancelled: a late PONG resolves it and nothing else happens. For the
        same reason this waits with `asyncio.wait`, not a timeout that would cancel it."""
        if not self.is_connected:
            raise Unavailable("broker is not connected")
        pong: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        await self.nc._send_ping(pong)  # the client's own PING, with our future
        done, _ = await asyncio.wait({pong}, timeout=wait)
        if not done:
            raise Unavailable(f"NATS did not answer a ping within {wait:g} s")

    async def durable_pull(
        self,
        source_context: str,
        durable: str,
        *,
        ack_wait: float,
        max_deliveries: int,
        event_types: Collection[str] | None = None,
    ) -> JetStreamContext.PullSubscription:
        """A pull subscription on a durable consumer of `source_context`'s events (its stream created
        if missing), shared by every replica: explicit acks, from the stream's start, one delivery more
        than `max_deliveries` so the last failure can be parked rather than lost.

        `event_types`: the only events the consumer acts on. The server then delivers only those
        (filter subjects), instead of every event of the stream for the consumer to parse and ack
        unread: the saga's consumers act on 1 or 2 of the ~5 events an order puts on a stream. Only
        on NATS 2.10 and later, which takes several filter subjects and updates an existing durable
        consumer's filter: an older server delivers every event, as before. Not even a consumer of
        one type is filtered there, since a later release acting on a second type could not widen
        the filter (2.9 refuses the update) and would never receive that type."""
        stream = await self.ensure_stream(source_context)
        every = f"{self.namespace}.{source_context}.>"
        filters = event_subjects(self.namespace, source_context, event_types or ()) if event_types else None
        if not self._filters_many():
            filters = None
        config = ConsumerConfig(
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=ack_wait,
            max_deliver=max_deliveries + 1,
        )
        subject = every
        if filters is None or len(filters) == 1:
            subject = filters[0] if filters else every
            config.filter_subject = subject
        else:
            config.filter_subjects = filters
        await self._refilter(stream, durable, config)
        return await self.js.pull_subscribe(subject, durable=durable, stream=stream, config=config)

    def _filters_many(self) -> bool:
        """Whether the server takes several filter subjects per consumer (NATS 2.10 and later)."""
        version = self.nc.connected_server_version
        return (version.major, version.minor) >= (2, 10)

    async def _refilter(self, stream: str, durable: str, config: ConsumerConfig) -> None:
        """Give an existing durable consumer `config`'s filter (a release that acts on other events);
        a missing one is created by `pull_subscribe`."""
        try:
            info = await self.js.consumer_info(stream, durable)
        except NotFoundError:
            return
        current = info.config
        wanted = (config.filter_subject or None, sorted(config.filter_subjects or ()))
        if (current.filter_subject or None, sorted(current.filter_subjects or ())) == wanted:
            return
        update = dataclasses.replace(current, filter_subject=wanted[0], filter_subjects=wanted[1] or None)
        try:
            await self.js.add_consumer(stream, config=update)
        except Exception as exc:  # noqa: BLE001 - an older server: the earlier filter still works
            log.warning("consumer %s keeps its filter %s: %r", durable, current.filter_subject, exc)

    async def ensure_stream(self, context: str) -> str:
        """Create (or keep) the stream that holds one context's events; returns its name."""
        name = stream_name(self.namespace, context)
        config = StreamConfig(
            name=name,
            subjects=stream_subjects(self.namespace, context),
            duplicate_window=600.0,  # seconds of Nats-Msg-Id dedup; the inbox covers the rest
            max_age=7 * 24 * 3600.0,
        )
        try:
            await self.js.stream_info(name)
        except NotFoundError:
            await self.js.add_stream(config)
        return name

    async def delete_streams(self) -> None:
        """Delete every stream of this namespace (used by tests on their own namespace)."""
        prefix = f"{self.namespace}_".upper()
        for info in await self.js.streams_info():
            if info.config.name and info.config.name.startswith(prefix):
                await self.js.delete_stream(info.config.name)

    async def close(self) -> None:
        nc, self._nc, self._js = self._nc, None, None
        if nc is None or nc.is_closed:
            return
        try:
            await nc.drain()  # bounded by drain_timeout
        except Exception as exc:  # noqa: BLE001 - reconnecting or timed out: close without draining
            log.warning("NATS connection not drained (%r); closing it", exc)
            await nc.close()
