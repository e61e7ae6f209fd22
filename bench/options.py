"""The options of `make bench` (`python -m bench.run`): scenarios, sizes, checkout levels, topologies."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.server import ROOT, SINGLE, TOPOLOGIES
from bench.validate import (
    LISTING,
    LISTING_AVAILABILITY,
    LISTING_MIX,
    LISTING_MIX_AVAILABILITY,
    LISTING_MIX_CACHED,
)

DESCRIPTION = "`make bench`: the storefront listing through GraphQL under wrk, beside an HTTP-only ceiling."
SCENARIOS = (
    "all",
    "listing",
    "listing-availability",
    "listing-mix",
    "listing-mix-cached",
    "listing-mix-availability",
    "mix",  # both mix scenarios in one run, so one section of docs/benchmarks.md holds the pair
    "availability",  # listing and listing-mix, each with and without availability
    "ceiling",
    "checkout",
)
# Scenarios by the server they need: one with the response cache on, one started with it off.
CACHE_ON = (LISTING, LISTING_AVAILABILITY, LISTING_MIX_CACHED)
CACHE_OFF = (LISTING_MIX, LISTING_MIX_AVAILABILITY)
CHECKOUT_LEVELS = "1,8,32,64,128"  # the targets are stated at these concurrencies
MAX_SHOPPERS = 256


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=DESCRIPTION)
    parser.add_argument("--products", type=int, default=200, help="catalog size (default 200)")
    parser.add_argument(
        "--sizes",
        default=None,
        help="comma-separated catalog sizes to measure the listing at (e.g. 200,2000)",
    )
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per scenario")
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up seconds per scenario")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2, help="server processes (mercato and ceiling)")
    parser.add_argument("--scenario", choices=SCENARIOS, default="all")
    parser.add_argument(
        "--retries",
        type=int,
        default=1,
        help="re-measure a run disturbed by other processes up to N times, keep the least disturbed",
    )
    parser.add_argument(
        "--idle-wait",
        type=float,
        default=20.0,
        help="seconds to wait, before each run, for the (shared) machine to go idle (default 20)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="py-spy one worker during an extra run of each listing scenario",
    )
    parser.add_argument(
        "--shoppers", default=CHECKOUT_LEVELS, help=f"checkout concurrency levels (default {CHECKOUT_LEVELS})"
    )
    parser.add_argument(
        "--cost-orders", type=int, default=32, help="sequential orders counted for the cost (0: no cost run)"
    )
    parser.add_argument(
        "--hot",
        default="best",
        help="hot-SKU run (every shopper buys one SKU): 'best' (the best distinct level), levels, or 'none'",
    )
    parser.add_argument(
        "--rush", default="200x20", help="N shoppers at once for U units of one SKU: NxU, or 'none'"
    )
    parser.add_argument(
        "--direct",
        action="store_true",
        help="checkout levels talk to PostgreSQL directly (no statements per order per level)",
    )
    parser.add_argument("--ceiling-seconds", type=float, default=5.0, help="pgbench seconds per level")
    parser.add_argument(
        "--topology",
        default=",".join(TOPOLOGIES),
        help="comma-separated: single (`mercato serve`), distributed (`mercato up`); default both",
    )
    parser.add_argument(
        "--seeder",
        choices=("use-cases", "import"),
        default="use-cases",
        help="seed through the use cases, one product at a time, or the bulk importer (large --sizes)",
    )
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="MERCATO_NAME=VALUE",
        help="a setting for the listing servers (repeatable), e.g. MERCATO_GC_FREEZE=false",
    )
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args(argv)
    pairs = [item.partition("=") for item in args.server_env]
    if any(not sep or not name.startswith("MERCATO_") for name, sep, _ in pairs):
        parser.error("--server-env takes MERCATO_NAME=VALUE")
    args.server_env = {name: value for name, _, value in pairs}
    raw_sizes = args.sizes.split(",") if args.sizes else [str(args.products)]
    try:
        args.sizes = sorted({int(s) for s in raw_sizes if s.strip()})
    except ValueError:
        parser.error("--sizes takes comma-separated integers")
    if not args.sizes or min(args.sizes) < 1:
        parser.error("catalog sizes must be >= 1")
    if args.scenario in ("ceiling", "checkout"):
        args.sizes = args.sizes[:1]
    try:
        args.shoppers = _levels(args.shoppers)
        args.hot = None if args.hot == "best" else [] if args.hot == "none" else _levels(args.hot)
        args.rush = _rush(args.rush)
    except ValueError as exc:
        parser.error(str(exc))
    if not 0 <= args.cost_orders <= 100:
        parser.error("--cost-orders must be 0-100")
    chosen = {t.strip() for t in args.topology.split(",") if t.strip()}
    if not chosen or chosen - set(TOPOLOGIES):
        parser.error(f"--topology takes a comma-separated subset of {', '.join(TOPOLOGIES)}")
    args.topologies = [t for t in TOPOLOGIES if t in chosen]
    if args.profile and SINGLE not in args.topologies:
        parser.error("--profile profiles the single topology: include it in --topology")
    return args


def _levels(text: str) -> list[int]:
    try:
        levels = sorted({int(s) for s in text.split(",") if s.strip()})
    except ValueError:
        raise ValueError(f"concurrency levels are comma-separated integers, not {text!r}") from None
    if not levels or levels[0] < 1 or levels[-1] > MAX_SHOPPERS:
        raise ValueError(f"concurrency levels must be 1-{MAX_SHOPPERS}, not {text!r}")
    return levels


def _rush(text: str) -> tuple[int, int] | None:
    """'200x20' → (200, 20); 'none' → None."""
    if text == "none":
        return None
    shoppers, _, units = text.lower().partition("x")
    if not (shoppers.isdigit() and units.isdigit()):
        raise ValueError(f"--rush takes NxU (e.g. 200x20) or 'none', not {text!r}")
    n, u = int(shoppers), int(units)
    if not 1 <= u < n <= MAX_SHOPPERS:
        raise ValueError(f"--rush needs 1 <= units < shoppers <= {MAX_SHOPPERS}, not {text!r}")
    return n, u


def wanted_of(chosen: str, scenarios: tuple[str, ...]) -> list[str]:
    """Which of one server's `scenarios` the --scenario choice runs."""
    pairs = {
        "mix": (LISTING_MIX, LISTING_MIX_CACHED),
        # The listing with and without availability: cached vs not, and both uncached.
        "availability": (LISTING, LISTING_AVAILABILITY, LISTING_MIX, LISTING_MIX_AVAILABILITY),
    }
    return [s for s in scenarios if chosen in ("all", s) or s in pairs.get(chosen, ())]
