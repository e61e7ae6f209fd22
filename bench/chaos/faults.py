"""Applies the schedule: kills through the launcher, engine outages (a private engine stopped and
started, a shared one cut at the proxy), cuts, stalls and delays at the proxy; each fault with a duration is
healed by a task of its own. Counts what it did, by kind."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Coroutine
from typing import Any

from bench.chaos.engines import PrivateEngine
from bench.chaos.proxy import ProxyProcess
from bench.chaos.schedule import Fault
from mercato.app.launcher import Launcher


class Injector:
    def __init__(self, launcher: Launcher, proxy: ProxyProcess, private: dict[str, PrivateEngine]) -> None:
        self.launcher = launcher
        self.proxy = proxy
        self.private = private
        self.done: Counter[str] = Counter()  # "kill orders", "outage nats (restart)", "cut redis", …
        self.log: list[str] = []
        self._heals: list[asyncio.Task[None]] = []
        self.last_heal = 0.0  # monotonic time the last fault ended

    async def play(self, faults: list[Fault], started: float, ended: asyncio.Event) -> None:
        """Each fault at its moment, until the load has `ended` (later ones are skipped, not cut
        short: a fault is always applied whole, so its heal is always scheduled)."""
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
            self.log.append(fault.describe())

    async def _apply(self, fault: Fault) -> None:
        target = fault.target
        if fault.kind == "kill":
            self.launcher.kill(target)
            self.done[f"kill {target}"] += 1
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
            await then

        self._heals.append(asyncio.ensure_future(wait_then()))

    async def _heal(self, link: str) -> None:
        self.proxy.heal(link)
        self.last_heal = time.monotonic()

    async def _restart(self, engine: PrivateEngine) -> None:
        await asyncio.to_thread(engine.start)
        self.last_heal = time.monotonic()

    async def heal_all(self) -> None:
        """Wait for every pending heal, then make sure every link is clean and every engine up."""
        for task in self._heals:
            with contextlib.suppress(Exception):
                await task
        for link in self.proxy.ports:
            self.proxy.heal(link)
        for engine in self.private.values():
            if engine.process is None or engine.process.poll() is not None:
                await asyncio.to_thread(engine.start)
        self.last_heal = max(self.last_heal, time.monotonic())

    def kinds(self) -> Counter[str]:
        by_kind: Counter[str] = Counter()
        for what, count in self.done.items():
            by_kind[what.split()[0]] += count
        return by_kind
