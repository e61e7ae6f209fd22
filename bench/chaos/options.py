"""What one fault run is asked to do (`make chaos`'s flags), the fault plan drawn from it, and the
command line that replays it."""

from __future__ import annotations

from dataclasses import dataclass

from bench.chaos.schedule import ENGINES, Plan

# A clock jump moves the services' clock this far past the reservation TTL: every reservation held at
# that moment has expired, and every saga step's deadline (30 s) has passed too.
CLOCK_JUMP_PAST_TTL_SECONDS = 30


@dataclass(frozen=True)
class Options:
    seed: int = 1
    budget: float = 120.0  # seconds of load at most
    # Checkouts to submit at least: the load goes on until they are, and until every scheduled fault
    # was applied and healed (bounded by the budget).
    orders: int = 2000
    shoppers: int = 8
    skus: int = 12
    stock: int = 30  # units of each SKU at the start (staff add more, orders take them)
    kills: int | None = None  # default: one per 30 s of budget, at least 2
    outages: tuple[str, ...] = ENGINES
    outage_seconds: float = 8.0
    cuts: int | None = None  # default: one per 40 s, at least 1
    delays: int | None = None  # default: one per 40 s, at least 1
    stalls: int = 0  # silent links (connections held, nothing forwarded) of 0.5-4 s
    # Jumps of every service's clock past the reservation TTL (platform/clock.py).
    clock_jumps: int = 1
    # Engines the run starts (and restarts) itself; the others are the machine's, whose outages are
    # cuts at the proxy.
    private: tuple[str, ...] = ENGINES
    terminal_within: float = 60.0  # every order terminal this long after recovery, or the run fails
    provider_error_rate: float = 0.03
    provider_timeout_rate: float = 0.02
    provider_latency_ms: int = 20
    provider_jitter_ms: int = 150
    provider_timeout_seconds: float = 2.0
    # A crashed provider call blocks its retry this long (the default keeps 3x the 10 s timeout).
    payments_lease_seconds: float = 10.0
    # Short, so that an outage can outlive a reservation (the saga's compensation) and a clock jump
    # past it stays small.
    reservation_ttl_seconds: int = 120

    @property
    def clock_jump_seconds(self) -> int:
        return self.reservation_ttl_seconds + CLOCK_JUMP_PAST_TTL_SECONDS

    def plan(self) -> Plan:
        return Plan(
            budget=self.budget,
            kills=self.kills if self.kills is not None else max(2, int(self.budget // 30)),
            outages=self.outages,
            outage_seconds=self.outage_seconds,
            cuts=self.cuts if self.cuts is not None else max(1, int(self.budget // 40)),
            delays=self.delays if self.delays is not None else max(1, int(self.budget // 40)),
            stalls=self.stalls,
            clock_jumps=self.clock_jumps,
            clock_jump_seconds=self.clock_jump_seconds,
        )

    def command(self) -> str:
        """The command line that replays this run's schedule."""
        args = [f"--seed {self.seed}", f"--budget {self.budget:g}", f"--orders {self.orders}"]
        defaults = Options()
        flags = {"outage_seconds": "outage-seconds", "reservation_ttl_seconds": "reservation-ttl"}
        for name in (
            "shoppers",
            "skus",
            "stock",
            "kills",
            "cuts",
            "delays",
            "stalls",
            "clock_jumps",
            "outage_seconds",
            "reservation_ttl_seconds",
        ):
            if getattr(self, name) != getattr(defaults, name):
                args.append(f"--{flags.get(name, name.replace('_', '-'))} {getattr(self, name)}")
        if self.outages != defaults.outages:
            args.append(f"--outages {','.join(self.outages) or 'none'}")
        if self.private != defaults.private:
            args.append(f"--private {','.join(self.private) or 'none'}")
        return 'make chaos ARGS="' + " ".join(args) + '"'
