"""`python -m tests.simulation.run 0-999` (or `make simulate SEEDS=0-999`): run seeds of the
deterministic simulation, print a summary and, for every failing seed, `seed=N`, its violations and
the command that replays it; `--seed N --trace` replays one seed and prints every step.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from collections import Counter
from collections.abc import Iterable

from mercato.app.invariants import Report
from tests.simulation.checks import check
from tests.simulation.faults import Stats
from tests.simulation.simulation import Simulation

REPLAY = "make simulate SEED={seed} TRACE=1"


async def run_seed(seed: int, **options: object) -> tuple[Simulation, Report]:
    sim = Simulation(seed, **options)  # type: ignore[arg-type]
    await sim.run()
    return sim, check(sim)


def parse_seeds(text: str) -> list[int]:
    seeds: list[int] = []
    for part in text.split(","):
        first, _, last = part.partition("-")
        seeds += range(int(first), int(last or first) + 1)
    return seeds


def failure_text(seed: int, report: Report) -> str:
    lines = [f"seed={seed} FAILED ({len(report.violations)} violations); replay: {REPLAY.format(seed=seed)}"]
    lines += [f"  {v.check}: {v.subject}: {v.detail}" for v in report.violations[:20]]
    return "\n".join(lines)


def summary(seeds: int, seconds: float, totals: Stats, failed: list[int]) -> str:
    crashes = sum(totals.crashes.values())
    lines = [
        f"{seeds} seeds in {seconds:.1f} s: {len(failed)} failed{' ' + str(failed[:20]) if failed else ''}",
        f"  {totals.orders} orders: " + ", ".join(f"{k} {v}" for k, v in sorted(totals.statuses.items())),
        f"  {totals.steps} steps, {totals.deliveries} deliveries, {totals.dropped} dropped, "
        f"{totals.duplicated} duplicated, {totals.provider_faults} provider faults (the circuit breaker "
        f"opened {totals.breaker_opened} times), {crashes} crashes at {len(totals.crashes)} crash points",
    ]
    lines += [f"    {n:6d}  {point}" for point, n in sorted(totals.crashes.items())]
    return "\n".join(lines)


def add(totals: Stats, sim: Simulation) -> None:
    s = sim.stats
    totals.steps += s.steps
    totals.deliveries += s.deliveries
    totals.dropped += s.dropped
    totals.duplicated += s.duplicated
    totals.provider_faults += s.provider_faults
    totals.parked += s.parked
    totals.breaker_opened += sim.world.breaker_opened
    totals.crashes.update(s.crashes)
    rows = sim.world.dbs["orders"].tables["orders"].values()
    totals.orders += len(rows)
    totals.statuses.update(Counter(row.order.status.value for row in rows))


async def run_seeds(seeds: Iterable[int], out: list[str] | None = None) -> tuple[list[int], Stats]:
    totals = Stats()
    failed: list[int] = []
    for seed in seeds:
        sim, report = await run_seed(seed)
        add(totals, sim)
        if not report.ok:
            failed.append(seed)
            if out is not None:
                out.append(failure_text(seed, report))
    return failed, totals


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("seeds", nargs="?", default="0-999", help="e.g. 0-999 or 3,17,40-45")
    parser.add_argument("--seed", type=int, help="replay one seed")
    parser.add_argument("--trace", action="store_true", help="print every step of --seed")
    args = parser.parse_args(argv)
    logging.disable(logging.CRITICAL)  # the participants log refusals; the trace says what happened
    if args.seed is not None:
        sim, report = asyncio.run(run_seed(args.seed))
        if args.trace:
            print("\n".join(sim.trace))
        outcome = "ok" if report.ok else failure_text(args.seed, report)
        print(f"seed={args.seed}: {sim.stats.steps} steps, {outcome}")
        return 0 if report.ok else 1
    seeds = parse_seeds(args.seeds)
    started = time.perf_counter()
    out: list[str] = []
    failed, totals = asyncio.run(run_seeds(seeds, out))
    for text in out:
        print(text)
    print(summary(len(seeds), time.perf_counter() - started, totals, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
