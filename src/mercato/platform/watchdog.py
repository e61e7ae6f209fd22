"""Self-healing inside one process: background loops that stop making progress are restarted.

Every relay, consumer and sweeper a process runs is a loop that beats (`Loop.beat()`) at each turn.
The watchdog looks at each loop every `interval` seconds: when the loop has work waiting (its
`backlog` is above zero: unpublished due outbox rows, unacknowledged messages of its durable consumer,
sagas past their deadline) and has not beaten for `stall_seconds`, it is wedged — a publish or a fetch
that never returns, a lost wake-up — and is restarted: its task cancelled (bounded, `stop_tasks`), its
`reset` run (a consumer unsubscribes and subscribes again), a new task started, and its `nudge` run
once at once (a sweeper sweeps now, which drives stuck sagas on). A loop that keeps beating while
failing is left alone: a restart cannot bring back a database that is down, and readiness already
reports that.

Restarts are bounded: at most `max_restarts` within `budget_seconds` per loop, each at least
`backoff` after the previous one (doubling). Past the budget the watchdog gives up on the loop: the
process reports not ready and not live (`healthy`), so its orchestrator replaces it. While a restart
is under way the process reports not ready, so no traffic is routed to it meanwhile.

`FlapGuard` damps a readiness that flaps: more than `max_flips` changes within `window_seconds`, and
the process stays not ready until it has been ready for `hold_seconds` in a row (out of rotation,
not in and out of it every probe).

Each action is one counter increment, `mercato_self_heal_actions_total{action, component}`, and one
log line (`self-heal: ...` with `action`, `component` and the figures as fields).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from mercato.platform.business_metrics import self_heal_actions
from mercato.platform.logs import log_fields
from mercato.platform.shutdown import RECANCEL_SECONDS, stop_tasks

log = logging.getLogger(__name__)

Backlog = Callable[[], Awaitable[int]]


def record_action(action: str, component: str, message: str, **fields: object) -> None:
    """Count a self-healing action and log it once, as every action is (metric + one line)."""
    self_heal_actions.labels(action, component).inc()
    with log_fields(self_heal_action=action, component=component, **fields):
        log.warning("self-heal: %s %s: %s", action, component, message)


@dataclass(frozen=True)
class WatchdogSettings:
    interval: float = 5.0
    stall_seconds: float = 60.0
    max_restarts: int = 5
    budget_seconds: float = 600.0
    backoff: float = 5.0
    max_backoff: float = 120.0
    backlog_timeout: float = 2.0
    stop_grace: float = 2.0


@dataclass(eq=False)
class Loop:
    """A supervised background loop. `component` names it in metrics and logs (fixed at startup)."""

    component: str
    run: Callable[[], Coroutine[Any, Any, None]]
    backlog: Backlog | None = None
    reset: Callable[[], Awaitable[None]] | None = None
    nudge: Callable[[], Awaitable[object]] | None = None
    # At least this long without a turn before the loop counts as wedged (a loop that sleeps longer
    # than the watchdog's `stall_seconds` between turns); None: the watchdog's.
    min_stall: float | None = None
    last_beat: float = field(default_factory=time.monotonic)
    task: asyncio.Task[None] | None = None
    restarts: deque[float] = field(default_factory=deque)
    gave_up: bool = False

    def beat(self) -> None:
        """The loop made a turn: it is not wedged."""
        self.last_beat = time.monotonic()

    def start(self) -> None:
        self.beat()
        self.task = asyncio.create_task(self.run(), name=f"mercato:{self.component}")


class Watchdog:
    """Starts the loops it supervises and restarts the wedged ones; `run()` until cancelled."""

    def __init__(self, settings: WatchdogSettings | None = None) -> None:
        self.settings = settings or WatchdogSettings()
        self.loops: list[Loop] = []
        self.restarting: set[str] = set()

    def supervise(self, loop: Loop) -> Loop:
        self.loops.append(loop)
        loop.start()
        return loop

    @property
    def tasks(self) -> list[asyncio.Task[None]]:
        return [loop.task for loop in self.loops if loop.task is not None]

    @property
    def healthy(self) -> bool:
        """False once a loop has spent its restarts: the process should be replaced."""
        return not any(loop.gave_up for loop in self.loops)

    @property
    def ready(self) -> bool:
        """False while a restart is under way or after giving up."""
        return self.healthy and not self.restarting

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.settings.interval)
            try:
                await self.check()
            except Exception:  # the watchdog itself must outlive anything it looks at
                log.exception("watchdog: a check failed; looking again at the next interval")

    async def check(self) -> list[str]:
        """One look at every loop; returns the components restarted."""
        restarted = []
        for loop in list(self.loops):
            if loop.gave_up or loop.component in self.restarting:
                continue
            limit = max(self.settings.stall_seconds, loop.min_stall or 0.0)
            stalled = time.monotonic() - loop.last_beat
            if loop.task is not None and loop.task.done():
                # A loop that returned or crashed is not running at all: as wedged as one that hangs.
                stalled = max(stalled, limit)
            if stalled < limit:
                continue
            backlog = await self._backlog(loop)
            if backlog is None or backlog <= 0:
                continue
            if await self.restart(loop, backlog=backlog, stalled=stalled):
                restarted.append(loop.component)
        return restarted

    async def _backlog(self, loop: Loop) -> int | None:
        if loop.backlog is None:
            return 1  # no way to ask: a silent loop is presumed to have work
        try:
            async with asyncio.timeout(self.settings.backlog_timeout):
                return await loop.backlog()
        except Exception as exc:  # noqa: BLE001 - an engine down: nothing to judge by, no action
            log.debug("watchdog: cannot read the backlog of %s: %r", loop.component, exc)
            return None

    def _allowed(self, loop: Loop, now: float) -> bool | None:
        """True: restart now; None: wait (backoff); False: the budget is spent."""
        s = self.settings
        while loop.restarts and now - loop.restarts[0] > s.budget_seconds:
            loop.restarts.popleft()
        if len(loop.restarts) >= s.max_restarts:
            return False
        if loop.restarts:
            wait = min(s.max_backoff, s.backoff * 2 ** (len(loop.restarts) - 1))
            if now - loop.restarts[-1] < wait:
                return None
        return True

    async def restart(self, loop: Loop, *, backlog: int, stalled: float) -> bool:
        now = time.monotonic()
        allowed = self._allowed(loop, now)
        if allowed is None:
            return False
        if allowed is False:
            loop.gave_up = True
            record_action(
                "give_up",
                loop.component,
                f"still wedged after {len(loop.restarts)} restarts; the process reports not live",
                backlog=backlog,
                stalled_seconds=round(stalled, 1),
            )
            return False
        loop.restarts.append(now)
        self.restarting.add(loop.component)
        try:
            record_action(
                "restart",
                loop.component,
                f"no progress for {stalled:.0f} s with {backlog} waiting",
                backlog=backlog,
                stalled_seconds=round(stalled, 1),
                restart=len(loop.restarts),
            )
            if loop.task is not None:
                await stop_tasks([loop.task], grace=self.settings.stop_grace)
            if loop.reset is not None:
                await self._bounded(loop.reset(), loop, "reset")
            loop.start()
            if loop.nudge is not None:
                await self._bounded(loop.nudge(), loop, "nudge")
        finally:
            self.restarting.discard(loop.component)
        return True

    async def _bounded(self, step: Awaitable[object], loop: Loop, what: str) -> None:
        try:
            async with asyncio.timeout(max(self.settings.stop_grace, RECANCEL_SECONDS) * 5):
                await step
        except Exception:
            log.exception("watchdog: %s of %s failed", what, loop.component)


class FlapGuard:
    """Readiness with hysteresis: a check that flaps keeps the process out of rotation for a while."""

    def __init__(
        self,
        component: str = "process",
        *,
        max_flips: int = 3,
        window_seconds: float = 60.0,
        hold_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.component = component
        self.max_flips = max_flips
        self.window_seconds = window_seconds
        self.hold_seconds = hold_seconds
        self._clock = clock
        self._last: bool | None = None
        self._flips: deque[float] = deque()
        self._held_since: float | None = None
        self._ready_since: float | None = None

    @property
    def holding(self) -> bool:
        return self._held_since is not None

    def observe(self, ready: bool) -> bool:
        """The raw readiness now; returns the readiness to report."""
        now = self._clock()
        if self._last is not None and ready != self._last:
            self._flips.append(now)
        self._last = ready
        if ready and self._ready_since is None:
            self._ready_since = now
        elif not ready:
            self._ready_since = None
        while self._flips and now - self._flips[0] > self.window_seconds:
            self._flips.popleft()
        if self._held_since is None and len(self._flips) > self.max_flips:
            self._held_since = now
            record_action(
                "hold_not_ready",
                self.component,
                f"readiness changed {len(self._flips)} times in {self.window_seconds:.0f} s; out of "
                f"rotation until ready for {self.hold_seconds:.0f} s in a row",
                flips=len(self._flips),
            )
        if self._held_since is not None:
            steady = self._ready_since is not None and now - self._ready_since >= self.hold_seconds
            if not steady:
                return False
            self._held_since = None
            self._flips.clear()
            record_action("release_hold", self.component, "ready and steady again: back in rotation")
        return ready
