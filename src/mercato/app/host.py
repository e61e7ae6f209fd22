"""Runs the components one process hosts: their outbox relays, event consumers and sweepers, each
under the process's watchdog (`platform.watchdog`: a loop with work waiting that stops turning is
restarted; readiness reports it, and flapping readiness is held out of rotation)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

from mercato.app.components import Component, Engines, Sweeper
from mercato.platform.db import Database
from mercato.platform.inbox import EventConsumer
from mercato.platform.listener import Listener
from mercato.platform.metrics import Metrics, consumer_lag_source, outbox_age_source, outbox_pending_source
from mercato.platform.outbox import Outbox, OutboxRelay
from mercato.platform.shutdown import STOP_GRACE_SECONDS, Stopping, stop_tasks, within
from mercato.platform.watchdog import FlapGuard, Loop, Watchdog, WatchdogSettings, record_action

log = logging.getLogger(__name__)


class Host:
    """`start()` once, `stop()` on shutdown. Any number of processes may host the same component:
    relays claim outbox rows with SKIP LOCKED and consumers share durable JetStream consumers."""

    def __init__(self, engines: Engines, components: Sequence[Component[Any]]) -> None:
        self.engines = engines
        self.components = list(components)
        self.needs = frozenset().union(*(c.engines for c in self.components))
        self.consumers: list[EventConsumer] = []
        self.listeners: list[Listener] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = Stopping()  # the sweepers' loops check it
        s = engines.settings
        self.watchdog = Watchdog(
            WatchdogSettings(
                interval=s.watchdog_interval_seconds,
                stall_seconds=s.watchdog_stall_seconds,
                max_restarts=s.watchdog_max_restarts,
            )
        )
        self.flaps = FlapGuard()
        self._watching: asyncio.Task[None] | None = None

    async def start(self, *, background: bool = True) -> None:
        """Connect to the broker, create streams and durable consumers; with `background`, run relays,
        consumers and sweepers as tasks until `stop()`."""
        if not any(c.outbox is not None or c.consumers or c.listeners for c in self.components):
            return  # nothing to publish or consume: no broker connection
        engines, s = self.engines, self.engines.settings
        self._stopping.clear()
        await engines.broker.connect()
        for component in self.components:
            if component.outbox is None:
                continue
            await engines.broker.ensure_stream(component.name)
            engines.relays[component.name] = OutboxRelay(
                engines.db_for(component.name),
                component.outbox,
                engines.broker,
                batch_size=s.outbox_batch_size,
                poll_interval=s.outbox_poll_interval_seconds,
                publish_grace=s.outbox_publish_grace_seconds,
                mark_interval=s.outbox_mark_interval_seconds,
            )
        for component in self.components:
            for wiring in component.consumers:
                self.consumers.append(
                    EventConsumer(
                        engines.db_for(component.name),
                        engines.broker,
                        wiring.schema,
                        wiring.subscription,
                        wiring.unit_of_work,
                        batch_size=s.consumer_batch_size,
                        max_deliveries=s.consumer_max_deliveries,
                        ack_wait=s.consumer_ack_wait_seconds,
                        concurrency=s.consumer_concurrency,
                        fetch_wait=s.consumer_fetch_wait_seconds,
                    )
                )
        for consumer in self.consumers:
            await consumer.start()
        await self._start_listeners(background=background)
        if background:
            self._supervise()

    def _supervise(self) -> None:
        """Run relays, consumers and sweepers as loops the watchdog restarts when they wedge."""
        watchdog = self.watchdog = Watchdog(self.watchdog.settings)
        for name, relay in self.engines.relays.items():
            loop = Loop(f"{name}.relay", relay.run, backlog=relay.due, min_stall=3 * relay.poll_interval)
            relay.heartbeat = loop.beat
            watchdog.supervise(loop)
        for consumer in self.consumers:
            loop = Loop(
                f"{consumer.schema}.{consumer.subscription.name}",
                consumer.run,
                backlog=consumer.pending,
                reset=consumer.resubscribe,
                min_stall=3 * consumer.fetch_wait,
            )
            consumer.heartbeat = loop.beat
            watchdog.supervise(loop)
        for component in self.components:
            for sweeper in component.sweepers:
                watchdog.supervise(self._sweeper_loop(component.name, sweeper))
        self._watching = asyncio.create_task(watchdog.run(), name="mercato:watchdog")

    def _sweeper_loop(self, context: str, sweeper: Sweeper) -> Loop:
        name = f"{context}.{sweeper.name.replace(' ', '_')}"
        supervised: Loop

        def beat() -> None:
            supervised.beat()

        supervised = Loop(
            name,
            self._sweeping(sweeper, beat),
            backlog=sweeper.backlog,
            nudge=self._nudging(sweeper, name),
            min_stall=3 * self.engines.settings.reservation_sweep_interval_seconds,
        )
        return supervised

    @staticmethod
    def _nudging(sweeper: Sweeper, component: str) -> Callable[[], Awaitable[object]]:
        async def nudge() -> object:
            done = await sweeper.run_once()
            record_action(sweeper.nudge_action, component, f"swept once now: {done!r}", result=done)
            return done

        return nudge

    async def _start_listeners(self, *, background: bool) -> None:
        self.listeners = [listener for c in self.components for listener in c.listeners]
        for listener in self.listeners:
            listener.stopping.clear()  # listeners belong to their component: a host may start them again
            await listener.start(self.engines.broker)
            if background:
                self._spawn(listener.run)

    def _spawn(self, run: Callable[[], Awaitable[None]]) -> None:
        async def guarded() -> None:
            await run()

        self._tasks.append(asyncio.create_task(guarded()))

    def _sweeping(
        self, sweeper: Sweeper, beat: Callable[[], None]
    ) -> Callable[[], Coroutine[Any, Any, None]]:
        async def loop() -> None:
            while not self._stopping:
                try:
                    await sweeper.run_once()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("%s sweeper failed; retrying", sweeper.name)
                beat()
                await asyncio.sleep(self.engines.settings.reservation_sweep_interval_seconds)

        return loop

    def instrument(self, metrics: Metrics) -> None:
        """Report consumer lag and unpublished outbox events (how many, how old) on `metrics`.

        Call after `start`."""
        if self.consumers:
            metrics.add_consumer_lag_source(consumer_lag_source(self.consumers))
        # One count per database pool: a context on a role of its own sees its own outbox only.
        by_db: dict[int, tuple[Database, list[Outbox]]] = {}
        for c in self.components:
            if c.outbox is not None:
                db = self.engines.db_for(c.name)
                by_db.setdefault(id(db), (db, []))[1].append(c.outbox)
        for db, outboxes in by_db.values():
            metrics.add_outbox_source(outbox_pending_source(db, outboxes))
            metrics.add_outbox_age_source(outbox_age_source(db, outboxes))
        for c in self.components:
            for sampler in c.samplers:
                metrics.add_sampler(sampler)

    async def ready(self) -> dict[str, bool]:
        """Which of the engines this process needs answer right now; `background`: no loop is being
        restarted or given up on; `steady`: readiness is not flapping (else held out of rotation)."""
        checks = await self.engines.ready(self.needs)
        checks["background"] = self.watchdog.ready
        self.flaps.observe(all(checks.values()))
        checks["steady"] = not self.flaps.holding
        return checks

    @property
    def healthy(self) -> bool:
        """False once the watchdog gave up on a loop: the process should be replaced (liveness)."""
        return self.watchdog.healthy

    async def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Stop within about `grace` seconds whatever the loops are doing: flag them, cancel them (again
        if a cancellation was lost, see `platform.shutdown`), then unsubscribe and close the relays,
        each step bounded. What is abandoned is redelivered or taken by another process's poll."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        self._stopping.set()
        for polling in self.engines.relays.values():
            polling.stopping.set()
        for consumer in self.consumers:
            consumer.stopping.set()
        for listener in self.listeners:
            listener.stopping.set()
        if self._watching is not None:  # first: it must not restart a loop being stopped
            await stop_tasks([self._watching], grace=1.0)
            self._watching = None
        await stop_tasks([*self._tasks, *self.watchdog.tasks], grace=grace / 2)
        self._tasks.clear()
        for consumer in self.consumers:
            await within(
                consumer.stop(), max(0.5, deadline - loop.time()), f"unsubscribing {consumer.durable}"
            )
        self.consumers.clear()
        for listener in self.listeners:
            await within(listener.stop(), max(0.5, deadline - loop.time()), "stopping a listener")
        self.listeners.clear()
        # Last, once nothing here commits any more: publish what was handed off, mark what was
        # published. Units of work that commit after this write their events due for the poll of
        # another process at once, since no relay of this process will publish them.
        for component in self.components:
            relay = self.engines.relays.pop(component.name, None)
            if relay is not None:
                left = max(1.0, deadline - loop.time())
                await within(relay.close(wait_seconds=left / 2), left, f"closing the {component.name} relay")
