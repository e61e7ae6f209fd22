"""The watchdog's decisions, on loops that are plain coroutines (no engine): which loops it restarts,
how often, and what it reports. The engines' own faults are in tests/integration/test_self_healing.py."""

from __future__ import annotations

import asyncio
import logging

import pytest

from mercato.platform.business_metrics import self_heal_actions
from mercato.platform.watchdog import FlapGuard, Loop, Watchdog, WatchdogSettings

FAST = WatchdogSettings(interval=0.01, stall_seconds=0.05, backoff=0.0, stop_grace=0.5)


def actions(action: str, component: str) -> float:
    return self_heal_actions.labels(action, component)._value.get()


class Wedged:
    """A loop that beats once, then waits for ever on an event nobody sets; the run after the
    first one turns normally."""

    def __init__(self) -> None:
        self.runs = 0
        self.never = asyncio.Event()
        self.loop: Loop | None = None

    async def run(self) -> None:
        self.runs += 1
        assert self.loop is not None
        if self.runs == 1:
            await self.never.wait()
        while True:
            self.loop.beat()
            await asyncio.sleep(0.005)


def supervised(watchdog: Watchdog, component: str, backlog: int) -> Wedged:
    wedged = Wedged()

    async def waiting() -> int:
        return backlog

    wedged.loop = watchdog.supervise(Loop(component, wedged.run, backlog=waiting))
    return wedged


async def test_a_wedged_loop_with_work_waiting_is_restarted_once_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    watchdog = Watchdog(FAST)
    wedged = supervised(watchdog, "unit.relay", backlog=3)
    before = actions("restart", "unit.relay")
    caplog.set_level(logging.WARNING, "mercato.platform.watchdog")
    await asyncio.sleep(0.1)

    assert await watchdog.check() == ["unit.relay"]

    await asyncio.sleep(0.01)  # the new run's first turn
    assert wedged.runs == 2
    assert actions("restart", "unit.relay") == before + 1
    lines = [r for r in caplog.records if r.getMessage().startswith("self-heal: restart unit.relay")]
    assert len(lines) == 1
    await asyncio.sleep(0.1)
    assert await watchdog.check() == []  # the new run beats: nothing more to do
    await _stop(watchdog)


async def test_a_quiet_loop_with_nothing_waiting_is_left_alone() -> None:
    watchdog = Watchdog(FAST)
    wedged = supervised(watchdog, "unit.idle", backlog=0)
    await asyncio.sleep(0.1)

    assert await watchdog.check() == []

    assert wedged.runs == 1
    assert watchdog.ready
    await _stop(watchdog)


async def test_restarts_are_bounded_then_the_watchdog_gives_up_and_the_process_is_not_live() -> None:
    watchdog = Watchdog(WatchdogSettings(interval=0.01, stall_seconds=0.01, max_restarts=2, backoff=0.0))
    never = asyncio.Event()

    async def always_wedged() -> None:
        await never.wait()

    async def waiting() -> int:
        return 1

    watchdog.supervise(Loop("unit.stuck", always_wedged, backlog=waiting))
    before = actions("give_up", "unit.stuck")

    for _ in range(4):
        await asyncio.sleep(0.03)
        await watchdog.check()

    assert len(watchdog.loops[0].restarts) == 2
    assert actions("give_up", "unit.stuck") == before + 1
    assert not watchdog.healthy
    assert not watchdog.ready
    await _stop(watchdog)


async def test_backoff_spaces_the_restarts_of_one_loop() -> None:
    watchdog = Watchdog(WatchdogSettings(interval=0.01, stall_seconds=0.01, backoff=60.0))
    never = asyncio.Event()

    async def always_wedged() -> None:
        await never.wait()

    async def waiting() -> int:
        return 1

    watchdog.supervise(Loop("unit.backoff", always_wedged, backlog=waiting))
    await asyncio.sleep(0.03)
    assert await watchdog.check() == ["unit.backoff"]
    await asyncio.sleep(0.03)

    assert await watchdog.check() == []  # stalled again, but within the backoff

    assert len(watchdog.loops[0].restarts) == 1
    await _stop(watchdog)


async def test_a_loop_whose_backlog_cannot_be_read_is_not_restarted() -> None:
    watchdog = Watchdog(FAST)
    never = asyncio.Event()

    async def wedged() -> None:
        await never.wait()

    async def unreadable() -> int:
        raise ConnectionError("database down")

    watchdog.supervise(Loop("unit.blind", wedged, backlog=unreadable))
    await asyncio.sleep(0.1)

    assert await watchdog.check() == []
    await _stop(watchdog)


async def test_a_restart_resets_then_nudges_and_readiness_is_false_meanwhile() -> None:
    watchdog = Watchdog(FAST)
    seen: list[tuple[str, bool]] = []
    wedged = Wedged()

    async def reset() -> None:
        seen.append(("reset", watchdog.ready))

    async def nudge() -> int:
        seen.append(("nudge", watchdog.ready))
        return 7

    async def waiting() -> int:
        return 1

    wedged.loop = watchdog.supervise(Loop("unit.sweeper", wedged.run, waiting, reset, nudge))
    await asyncio.sleep(0.1)

    await watchdog.check()

    assert seen == [("reset", False), ("nudge", False)]
    assert watchdog.ready
    await _stop(watchdog)


def test_flapping_readiness_is_held_until_steady_then_released() -> None:
    now = [0.0]
    guard = FlapGuard("unit", max_flips=3, window_seconds=60, hold_seconds=30, clock=lambda: now[0])
    held = actions("hold_not_ready", "unit")

    reported = []
    for ready in (True, False, True, False, True):  # four changes within a minute
        now[0] += 5
        reported.append(guard.observe(ready))

    assert reported == [True, False, True, False, False]
    assert actions("hold_not_ready", "unit") == held + 1
    now[0] += 20
    assert guard.observe(True) is False  # ready for 20 s only
    now[0] += 15
    assert guard.observe(True) is True  # 35 s in a row: back in rotation
    assert not guard.holding


def test_readiness_that_changes_rarely_is_reported_as_is() -> None:
    now = [0.0]
    guard = FlapGuard("unit.rare", max_flips=3, window_seconds=60, clock=lambda: now[0])

    reported = []
    for ready in (True, False, True, False, True):
        now[0] += 40  # one change every 40 s: never four within a minute
        reported.append(guard.observe(ready))

    assert reported == [True, False, True, False, True]


async def _stop(watchdog: Watchdog) -> None:
    for task in watchdog.tasks:
        task.cancel()
    await asyncio.gather(*watchdog.tasks, return_exceptions=True)
