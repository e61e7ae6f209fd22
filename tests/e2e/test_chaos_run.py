"""`make chaos`'s short form: the seven processes of `mercato up` under shoppers and staff, with a
fixed seed's faults (two SIGKILLs, restarts of the run's private NATS and PostgreSQL, a cut and a
delay at the proxy, a jump of every service's clock past the reservation TTL, a payment provider that
fails, loses answers and lags), then healed: every scheduled fault applied, every order terminal
within the bound and the invariant checker finds nothing."""

from __future__ import annotations

from bench.chaos.options import Options
from bench.chaos.report import summary
from bench.chaos.run import run_chaos
from rich.console import Console

from mercato.platform.engines import EngineUrls

SHORT = Options(
    seed=11,
    budget=25.0,
    orders=300,
    shoppers=4,
    skus=6,
    stock=8,  # few units: some orders are refused for stock, staff restock
    kills=2,
    outages=("nats", "postgres"),
    outage_seconds=3.0,
    cuts=1,
    delays=1,
    clock_jumps=1,
)


async def test_a_short_fault_run_leaves_every_order_terminal_and_no_violation(
    engine_urls: EngineUrls,
) -> None:
    outcome = await run_chaos(engine_urls.database, engine_urls.nats, engine_urls.redis, SHORT)
    summary(outcome, Console(width=160))  # shown by pytest when the test fails

    kinds = outcome.faults
    assert outcome.applied == len(outcome.schedule) == 7
    assert sum(n for what, n in kinds.items() if what.startswith("kill ")) == 2
    assert sum(n for what, n in kinds.items() if what.startswith("cut ")) == 1
    assert kinds["outage nats (stopped, restarted)"] == 1
    assert kinds["outage postgres (stopped, restarted)"] == 1
    assert kinds["clock jump +150 s (every service)"] == 1
    assert outcome.heal_failures == []
    assert outcome.tally.checkouts["placed"] > 0
    assert outcome.terminal_seconds is not None, f"{outcome.in_flight_left} orders still in flight"
    assert outcome.report is not None
    assert outcome.report.violations == []
    assert outcome.ok
