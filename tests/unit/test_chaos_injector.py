"""How a fault run applies its schedule and when its load stops (bench/chaos/faults.py, load.py, run.py),
on stand-ins for the launcher and the proxy: every fault is counted as applied once applied, a heal
ends the fault, a clock jump moves the offset the services follow, faults due after the load ended
are skipped and fail the run, and the load goes on past `--orders` until every fault is healed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import cast

import pytest
from bench.chaos import faults
from bench.chaos.engines import PrivatePostgres
from bench.chaos.faults import Injector
from bench.chaos.load import Load
from bench.chaos.options import Options
from bench.chaos.proxy import ProxyProcess
from bench.chaos.run import Outcome
from bench.chaos.schedule import CLOCK_TARGET, Fault

from mercato.app.launcher import Launcher
from mercato.platform.clock import WallClock


class Proxy:
    """What the injector asks of the proxy, recorded."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.ports = {"redis": 1}
        self.on_cut: Callable[[], None] = lambda: None

    def cut(self, link: str) -> None:
        self.calls.append(("cut", link))
        self.on_cut()

    def heal(self, link: str) -> None:
        self.calls.append(("heal", link))


class Services:
    """What the injector asks of the launcher: kills, and whether the killed one serves again."""

    def __init__(self) -> None:
        self.killed: list[str] = []
        self.serving = asyncio.Event()

    def kill(self, name: str) -> None:
        self.killed.append(name)

    async def wait_serving(self, names: list[str], *, within: float) -> None:
        await self.serving.wait()


def injector(services: Services, proxy: Proxy, clock_file: Path | None = None) -> Injector:
    return Injector(cast(Launcher, services), cast(ProxyProcess, proxy), {}, clock_file)


async def test_every_fault_is_applied_and_healed_and_a_clock_jump_moves_what_the_services_follow(
    tmp_path: Path,
) -> None:
    clock_file = tmp_path / "clock-offset"
    services, proxy = Services(), Proxy()
    chaos = injector(services, proxy, clock_file)
    schedule = [
        Fault(0.0, "kill", "orders"),
        Fault(0.0, "cut", "redis", seconds=0.05),
        Fault(0.0, "clock", CLOCK_TARGET, value=150.0),
        Fault(0.0, "clock", CLOCK_TARGET, value=150.0),
    ]

    await chaos.play(schedule, time.monotonic(), asyncio.Event())

    assert chaos.applied == 4
    assert services.killed == ["orders"]
    assert WallClock(clock_file).offset == timedelta(seconds=300)
    assert not chaos.settled  # the orders service does not serve again yet; the cut may still hold
    services.serving.set()
    await chaos.heal_all()
    assert chaos.settled
    assert proxy.calls[:2] == [("cut", "redis"), ("heal", "redis")]
    assert chaos.heal_failures == []
    assert dict(chaos.done) == {
        "kill orders": 1,
        "cut redis (connections cut)": 1,
        "clock jump +150 s (every service)": 2,
    }


async def test_faults_due_after_the_load_ended_are_skipped_and_the_run_fails() -> None:
    services, proxy = Services(), Proxy()
    ended = asyncio.Event()
    proxy.on_cut = ended.set  # the budget runs out right after the first fault
    chaos = injector(services, proxy)
    schedule = [Fault(0.0, "cut", "redis", seconds=0.01), Fault(3600.0, "cut", "redis", seconds=0.01)]

    await chaos.play(schedule, time.monotonic(), ended)

    await chaos.heal_all()

    assert chaos.applied == 1
    assert chaos.log[-1].startswith("skipped (load ended):")
    outcome = Outcome(Options(), schedule, applied=chaos.applied)
    assert not outcome.every_fault_applied
    assert not outcome.ok


def test_the_load_goes_on_past_its_orders_until_every_fault_is_healed_and_stops_at_the_budget() -> None:
    load = Load("http://unused", [], "", [], seed=1, min_orders=3)
    healed = False
    load.finished = lambda: healed
    later = time.monotonic() + 3600

    load.tally.checkouts["placed"] = 2
    assert load._going(later)  # orders still short
    load.tally.checkouts["placed"] = 3
    assert load._going(later)  # orders reached, a fault not healed yet
    healed = True
    assert not load._going(later)  # both: done
    healed = False
    assert not load._going(time.monotonic() - 1)  # the budget bounds it all


class Flaky:
    """A private engine whose first start after its outage fails (a loaded machine)."""

    name = "postgres"

    def __init__(self) -> None:
        self.running = True
        self.failures_left = 1

    def stop(self) -> None:
        self.running = False

    def start(self) -> None:
        if self.failures_left:
            self.failures_left -= 1
            raise RuntimeError("embedded postgres failed to start")
        self.running = True


async def test_an_engine_that_fails_to_start_after_its_outage_is_tried_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(faults, "RESTART_PAUSE_SECONDS", 0.0)
    engine = Flaky()
    private = cast(dict[str, PrivatePostgres], {"postgres": engine})
    chaos = Injector(cast(Launcher, Services()), cast(ProxyProcess, Proxy()), private)

    await chaos.play([Fault(0.0, "outage", "postgres", seconds=0.01)], time.monotonic(), asyncio.Event())
    await chaos.heal_all()

    assert engine.running
    assert chaos.heal_failures == []
    assert dict(chaos.done) == {"outage postgres (stopped, restarted)": 1}
    assert [line for line in chaos.log if line.startswith("restart")] == [
        "restart 1 of postgres failed: embedded postgres failed to start"
    ]
