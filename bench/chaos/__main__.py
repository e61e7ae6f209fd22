"""`make chaos ARGS="--seed 7 --budget 300 --orders 2000"`: a fault run on engines of its own
(PostgreSQL, NATS and Redis started for the run, so that it may restart them), or on the machine's
named by MERCATO_DATABASE_URL / MERCATO_NATS_URL / MERCATO_REDIS_URL for those left out of --private (a
database and namespace of its own; their outages are cuts at the proxy). Exit code 1 on any
violation, an order not terminal in time, or a scheduled fault not applied."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from rich.console import Console

from bench.chaos.options import Options
from bench.chaos.report import summary
from bench.chaos.run import run_chaos
from bench.chaos.schedule import ENGINES

URL_VARIABLES = {"postgres": "MERCATO_DATABASE_URL", "nats": "MERCATO_NATS_URL", "redis": "MERCATO_REDIS_URL"}


def _engines(value: str) -> tuple[str, ...]:
    names = tuple(n for n in value.split(",") if n and n != "none")
    unknown = set(names) - set(ENGINES)
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown engine(s): {', '.join(sorted(unknown))}")
    return names


def parse(argv: list[str]) -> Options:
    defaults = Options()
    parser = argparse.ArgumentParser(prog="make chaos", description=__doc__)
    parser.add_argument(
        "--seed", type=int, default=defaults.seed, help="the schedule (and the load's choices)"
    )
    parser.add_argument("--budget", type=float, default=defaults.budget, help="seconds of load at most")
    parser.add_argument(
        "--orders",
        type=int,
        default=defaults.orders,
        help="checkouts to submit at least: the load stops once they are and every fault was applied and "
        "healed, or at the budget",
    )
    parser.add_argument("--shoppers", type=int, default=defaults.shoppers)
    parser.add_argument("--skus", type=int, default=defaults.skus, help="SKUs the shoppers buy")
    parser.add_argument("--stock", type=int, default=defaults.stock, help="units of each SKU at the start")
    parser.add_argument("--kills", type=int, default=None, help="SIGKILLs (default: one per 30 s, ≥ 2)")
    parser.add_argument("--cuts", type=int, default=None, help="link cuts (default: one per 40 s, ≥ 1)")
    parser.add_argument("--delays", type=int, default=None, help="link delays (default: one per 40 s, ≥ 1)")
    parser.add_argument(
        "--stalls", type=int, default=defaults.stalls, help="silent links: held open, nothing forwarded"
    )
    parser.add_argument(
        "--clock-jumps",
        type=int,
        default=defaults.clock_jumps,
        help="jumps of every service's clock forward past the reservation TTL (TTL + 30 s each)",
    )
    parser.add_argument("--outages", type=_engines, default=defaults.outages, help="engines, one outage each")
    parser.add_argument("--outage-seconds", type=float, default=defaults.outage_seconds)
    parser.add_argument(
        "--reservation-ttl",
        type=int,
        default=defaults.reservation_ttl_seconds,
        help="seconds a reservation holds",
    )
    parser.add_argument(
        "--private",
        type=_engines,
        default=defaults.private,
        help="engines the run starts (and restarts) itself: postgres,nats,redis (default) or fewer; "
        "'none' uses the machine's three (their outages are cuts at the proxy)",
    )
    args = parser.parse_args(argv)
    return Options(
        seed=args.seed,
        budget=args.budget,
        orders=args.orders,
        shoppers=args.shoppers,
        skus=args.skus,
        stock=args.stock,
        kills=args.kills,
        cuts=args.cuts,
        delays=args.delays,
        stalls=args.stalls,
        clock_jumps=args.clock_jumps,
        outages=args.outages,
        outage_seconds=args.outage_seconds,
        reservation_ttl_seconds=args.reservation_ttl,
        private=args.private,
    )


def main(argv: list[str] | None = None) -> int:
    options = parse(sys.argv[1:] if argv is None else argv)
    urls = {engine: os.environ.get(name, "") for engine, name in URL_VARIABLES.items()}
    missing = [URL_VARIABLES[e] for e, url in urls.items() if not url and e not in options.private]
    if missing:
        print(f"chaos: set {', '.join(missing)} (or make that engine --private)", file=sys.stderr)
        return 2
    console = Console(width=160)
    outcome = asyncio.run(
        run_chaos(*urls.values(), options, say=lambda line: console.print(line, highlight=False))
    )
    summary(outcome, console)
    return 0 if outcome.ok else 1


if __name__ == "__main__":
    sys.exit(main())
