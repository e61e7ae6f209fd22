"""`make chaos ARGS="--seed 7 --budget 300 --orders 2000"`: a fault run against the engines named by
MERCATO_DATABASE_URL / MERCATO_NATS_URL / MERCATO_REDIS_URL (a database and namespace of its own; NATS
and Redis private by default). Exit code 1 on any violation or an order not terminal in time."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from rich.console import Console

from bench.chaos.report import summary
from bench.chaos.run import Options, run_chaos
from bench.chaos.schedule import ENGINES


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
    parser.add_argument("--budget", type=float, default=defaults.budget, help="seconds of load")
    parser.add_argument("--orders", type=int, default=defaults.orders, help="checkouts at most")
    parser.add_argument("--shoppers", type=int, default=defaults.shoppers)
    parser.add_argument("--skus", type=int, default=defaults.skus, help="SKUs the shoppers buy")
    parser.add_argument("--stock", type=int, default=defaults.stock, help="units of each SKU at the start")
    parser.add_argument("--kills", type=int, default=None, help="SIGKILLs (default: one per 30 s, ≥ 2)")
    parser.add_argument("--cuts", type=int, default=None, help="link cuts (default: one per 40 s, ≥ 1)")
    parser.add_argument("--delays", type=int, default=None, help="link delays (default: one per 40 s, ≥ 1)")
    parser.add_argument(
        "--stalls", type=int, default=defaults.stalls, help="silent links: held open, nothing forwarded"
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
        help="engines the run starts itself (nats,redis)",
    )
    args = parser.parse_args(argv)
    if "postgres" in args.private:
        parser.error("--private: only nats and redis (PostgreSQL outages are cuts at the proxy)")
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
        outages=args.outages,
        outage_seconds=args.outage_seconds,
        reservation_ttl_seconds=args.reservation_ttl,
        private=args.private,
    )


def main(argv: list[str] | None = None) -> int:
    options = parse(sys.argv[1:] if argv is None else argv)
    urls = [
        os.environ.get(name, "") for name in ("MERCATO_DATABASE_URL", "MERCATO_NATS_URL", "MERCATO_REDIS_URL")
    ]
    if not all(urls):
        print("chaos: set MERCATO_DATABASE_URL, MERCATO_NATS_URL and MERCATO_REDIS_URL", file=sys.stderr)
        return 2
    console = Console(width=160)
    outcome = asyncio.run(run_chaos(*urls, options, say=lambda line: console.print(line, highlight=False)))
    summary(outcome, console)
    return 0 if outcome.ok else 1


if __name__ == "__main__":
    sys.exit(main())
