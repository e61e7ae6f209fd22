"""Applies the schedule: kills through the launcher, engine outages (a private engine stopped and
started, a shared one cut at the proxy), cuts, stalls and delays at the proxy, clock jumps through the
services' offset file; each fault with a duration is healed by a task of its own, and a kill counts as
healed once the supervisor's restart serves again. Counts what it did, by kind."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Coroutine
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.chaos.engines import PrivateEngine, PrivatePostgres
from bench.chaos.proxy import ProxyProcess
from bench.chaos.schedule import Fault
from mercato.app.launcher import Launcher
from mercato.platform.clock import write_offset

log = logging.getLogger(__name__)

KILL_HEALED_WITHIN = 120.0  # seconds for a killed service to serve again (restart backoff included)
# Starts of an engine after its outage: on a loaded machine a PostgreSQL start can fail once (seen in a
# run; its log went with the run), so it is tried again after a pause; each failure is logged.
RESTART_TRIES, RESTART_PAUSE_SECONDS = 3, 3.0


class Injector:
    def __init__(
        self,
        launcher: Launcher,
        proxy: ProxyProcess,
        private: dict[str, PrivateEngine | PrivatePostgres],
        clock_file: Path | None = None,
    ) -> None:
        self.launcher = launcher
        self.proxy = proxy
        self.private = private
        self.clock_file = clock_file  # what every service's clock follows (None: no jump scheduled)
        self.clock_offset = timedelta()
        self.done: Counter[str] = Counter()  # "kill orders", "outage nats (restart)", "cut redis", …
        self.log: list[str] = []
        self.applied = 0  # scheduled faults applied (each whole: its heal is always scheduled)
        self.heal_failures: list[str] = []
        self._heals: list[asyncio.Task[None]] = []
        # One health poll at a time: the launcher's status calls share each service's channel and
        # must not run at once (two kills at one moment would each wait for their service).
        self._asking = asyncio.Lock()
        self._played = False
        self.last_heal = 0.0  # monotonic time the last fault ended

    @property
    def settled(self) -> bool:
        """Every scheduled fault applied (or skipped) and healed: the load may stop."""
        return self._played and all(task.done() for task in self._heals)

    async def play(self, faults: list[Fault], started: float, ended: asyncio.Event) -> None:
        """Each fault at its moment, until the load has `ended` (later ones are skipped, not cut
        short: a fault is always applied whole, so its heal is always scheduled)."""
        try:
            for fault in faults:
                wait = started + fault.at - time.monotonic()
                if wait > 0:
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(wait):
                            await ended.wait()
                if ended.is_set():
                    self.log.append(f"skipped (load ended): {fault.describe()}")
                    continue
                await self._apply(fault)
                self.applied += 1
                self.log.append(fault.describe())
        finally:
            self._played = True

    async def _apply(self, fault: Fault) -> None:
        target = fault.target
        if fault.kind == "kill":
            self.launcher.kill(target)
            self.done[f"kill {target}"] += 1
            self._later(0.0, self._served_again(target))
            return
        if fault.kind == "clock":
            if self.clock_file is None:
                raise RuntimeError("a clock jump needs the services started with an offset file")
            self.clock_offset += timedelta(seconds=fault.value)
            write_offset(self.clock_file, self.clock_offset)
            self.done[f"clock jump +{fault.value:.0f} s (every service)"] += 1
            self.last_heal = max(self.last_heal, time.monotonic())
            return
        if fault.kind == "outage" and target in self.private:
            engine = self.private[target]
            await asyncio.to_thread(engine.stop)
            self.done[f"outage {target} (stopped, restarted)"] += 1
            self._later(fault.seconds, self._restart(engine))
            return
        if fault.kind in ("outage", "cut"):
            self.proxy.cut(target)
            how = "cut at the proxy" if fault.kind == "outage" else "connections cut"
            self.done[f"{fault.kind} {target} ({how})"] += 1
        elif fault.kind == "stall":
            self.proxy.stall(target)
            self.done[f"stall {target}"] += 1
        else:
            self.proxy.delay(target, fault.value)
            self.done[f"delay {target}"] += 1
        self._later(fault.seconds, self._heal(target))

    def _later(self, seconds: float, then: Coroutine[Any, Any, None]) -> None:
        async def wait_then() -> None:
            await asyncio.sleep(seconds)
            try:
                await then
            except Exception as exc:  # noqa: BLE001 - recorded; heal_all still brings every engine back
                self.heal_failures.append(f"{type(exc).__name__}: {exc}")
                log.warning("chaos: a heal failed: %s", exc)

        self._heals.append(asyncio.ensure_future(wait_then()))

    async def _heal(self, link: str) -> None:
        self.proxy.heal(link)
        self.last_heal = time.monotonic()

    async def _restart(self, engine: PrivateEngine | PrivatePostgres) -> None:
        for attempt in range(1, RESTART_TRIES + 1):
            try:
                await asyncio.to_thread(engine.start)
                break
            except Exception as exc:
                self.log.append(f"restart {attempt} of {engine.name} failed: {exc}")
                if attempt == RESTART_TRIES:
                    raise
                await asyncio.sleep(RESTART_PAUSE_SECONDS)
        self.last_heal = time.monotonic()

    async def _served_again(self, service: str) -> None:
        """The supervisor restarts a killed service (with its backoff); healed once it serves."""
        async with self._asking:
            await self.launcher.wait_serving([service], within=KILL_HEALED_WITHIN)
        self.last_heal = time.monotonic()

    async def heal_all(self) -> None:
        """Wait for every pending heal, then make sure every link is clean and every engine up."""
        for task in self._heals:
            with contextlib.suppress(Exception):
                await task
        for link in self.proxy.ports:
            self.proxy.heal(link)
        for engine in self.private.values():
            if not engine.running:
                await asyncio.to_thread(engine.start)
        self.last_heal = max(self.last_heal, time.monotonic())

    def kinds(self) -> Counter[str]:
        by_kind: Counter[str] = Counter()
        for what, count in self.done.items():
            by_kind[what.split()[0]] += count
        return by_kind
