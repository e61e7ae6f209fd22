"""The fault schedule: drawn from a seed before the run starts, so `--seed N` replays the same faults
at the same moments against the same targets (what the system does in between still depends on
timing: the schedule is replayed, the interleaving is not).

Kinds:
- `kill`: SIGKILL of one service process (the launcher's supervisor restarts it, with its backoff);
- `outage`: an engine down for `seconds` (a private engine stopped and started again; a shared one,
  which the harness must never restart, cut at the proxy instead);
- `cut`: a link's connections aborted and new ones refused for `seconds`;
- `stall`: a link silent for `seconds` (connections kept and accepted, nothing forwarded: a partition
  or a frozen engine, which only the clients' own timeouts notice);
- `delay`: `value` seconds added to every chunk through a link for `seconds`;
- `clock`: the clock of every service jumps `value` seconds forward (past the reservation TTL) and
  stays there, as the hosts' clocks would after an NTP step (platform/clock.py).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from mercato.app.launcher import SERVICES

ENGINES = ("postgres", "nats", "redis")
# Links between services the proxy sits on: the callers of these contexts reach them through it.
SERVICE_LINKS = ("catalog", "orders", "payments")
LINKS = (*ENGINES, *SERVICE_LINKS)
FAULT_KINDS = ("kill", "outage", "cut", "delay", "stall", "clock")
CLOCK_TARGET = "services"  # a clock jump moves every service's clock at once


@dataclass(frozen=True)
class Fault:
    at: float  # seconds after the load started
    kind: str
    target: str
    seconds: float = 0.0  # how long it lasts (0: instantaneous, a kill)
    value: float = 0.0  # a delay's seconds per chunk

    @property
    def ends(self) -> float:
        return self.at + self.seconds

    def describe(self) -> str:
        extra = {"delay": f" {self.value * 1000:.0f} ms", "clock": f" +{self.value:.0f} s"}.get(self.kind, "")
        lasting = f" for {self.seconds:.1f} s" if self.seconds else ""
        return f"t+{self.at:6.1f} s  {self.kind:<6} {self.target}{extra}{lasting}"


@dataclass(frozen=True)
class Plan:
    budget: float  # seconds of load
    kills: int
    outages: tuple[str, ...]  # engines, one outage each
    outage_seconds: float
    cuts: int
    delays: int
    stalls: int = 0
    clock_jumps: int = 0
    clock_jump_seconds: float = 0.0  # how far each jump moves the services' clock forward


def draw(plan: Plan, seed: int) -> list[Fault]:
    """The faults of `plan`, at moments in the first 85 % of the budget (the rest of the load runs
    on a healed system), never two at once on one target."""
    rng = random.Random(seed)
    start, end = 0.1 * plan.budget, 0.85 * plan.budget
    faults = [Fault(rng.uniform(start, end), "kill", rng.choice(SERVICES)) for _ in range(plan.kills)]
    faults += [Fault(rng.uniform(start, end), "outage", e, plan.outage_seconds) for e in plan.outages]
    faults += [
        Fault(rng.uniform(start, end), "cut", rng.choice(LINKS), round(rng.uniform(0.5, 3.0), 1))
        for _ in range(plan.cuts)
    ]
    faults += [
        Fault(
            rng.uniform(start, end),
            "delay",
            rng.choice(LINKS),
            round(rng.uniform(2.0, 8.0), 1),
            round(rng.uniform(0.02, 0.25), 3),
        )
        for _ in range(plan.delays)
    ]
    # Drawn last, so that a plan without stalls keeps the schedule its seed drew before they existed.
    faults += [
        Fault(rng.uniform(start, end), "stall", rng.choice(LINKS), round(rng.uniform(0.5, 4.0), 1))
        for _ in range(plan.stalls)
    ]
    # Last again, for the same reason.
    faults += [
        Fault(rng.uniform(start, end), "clock", CLOCK_TARGET, value=plan.clock_jump_seconds)
        for _ in range(plan.clock_jumps)
    ]
    return _apart(sorted(faults, key=lambda f: (f.at, f.kind, f.target)))


def _apart(faults: list[Fault]) -> list[Fault]:
    """Moves a fault on a link (or engine) still under another one to a second after that one ends:
    the heal of the first must not end the second early. Instantaneous faults (kills, clock jumps)
    hold nothing."""
    busy_until: dict[str, float] = {}
    placed: list[Fault] = []
    for fault in faults:
        if fault.seconds:
            free = busy_until.get(fault.target, 0.0)
            if fault.at < free:
                fault = Fault(free + 1.0, fault.kind, fault.target, fault.seconds, fault.value)
            busy_until[fault.target] = fault.ends
        placed.append(fault)
    return sorted(placed, key=lambda f: (f.at, f.kind, f.target))
