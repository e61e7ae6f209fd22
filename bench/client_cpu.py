"""The checkout driver's load client against another tree's, side by side: CPU ms per confirmed order.

    .venv/bin/python -m bench.client_cpu --baseline /path/to/other/tree [--shoppers 32,128]
        [--rounds 2] [--seconds 8] [--warmup 3]

One `mercato serve --workers 2` (single topology, as `make bench`'s checkout scenario), one pool of
shoppers; then, per round and level, a window of the other tree's driver (its `bench/checkout.py`,
loaded under another module name, on asyncio's own event loop as it was run) and a window of this
tree's, in alternating order, each exactly as `bench.checkout_run` runs a level (carts prepared, the
same closed loop, the same CPU accounting by process group). The machine is shared: only the ratios of
windows run in the same minutes mean much.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import sys
from collections.abc import Coroutine, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from bench import checkout_run
from bench.checkout_run import CheckoutBench, Plan
from bench.environment import URL_VARS, BenchEngines, cleanup, configured_urls, prepare, seed
from bench.load import _percentile
from bench.server import SINGLE, running, topology_server

PRODUCTS = 200  # the catalog `make bench`'s checkout scenario seeds


def _baseline_module(tree: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_baseline_checkout", tree / "bench" / "checkout.py")
    if spec is None or spec.loader is None:
        raise SystemExit(f"client_cpu: no bench/checkout.py under {tree}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _plain_run(main: Any) -> Any:
    coroutine: Coroutine[Any, Any, Any] = main()
    return asyncio.run(coroutine)


@contextlib.contextmanager
def _driver(module: ModuleType | None) -> Iterator[None]:
    """`checkout_run` levels driven by `module` (None: this tree's) for the block."""
    if module is None:
        yield
        return
    own = {name: getattr(checkout_run, name) for name in ("checkout", "run_fast")}
    setattr(checkout_run, "checkout", module)  # noqa: B010 - swapped for the block, restored below
    setattr(checkout_run, "run_fast", _plain_run)  # noqa: B010
    try:
        yield
    finally:
        for name, value in own.items():
            setattr(checkout_run, name, value)


def measure(
    engines: BenchEngines, baseline: ModuleType, levels: list[int], rounds: int, seconds: float, warmup: float
) -> list[str]:
    plan = Plan(levels, 0, [SINGLE], hot=[], rush=None, count_wire=False)
    bench = CheckoutBench(engines, 2, plan)
    rows: list[tuple[int, int, str, float, float, float, str]] = []
    others: list[str] = []
    server = topology_server(SINGLE, bench._env(counted=False), 2)
    with running(server, "/readyz", timeout=checkout_run.READY_TIMEOUT):
        bench._setup(server)
        for round_ in range(rounds):
            for level in levels:
                order = [("baseline", baseline), ("this", None)]
                for name, module in order if (round_ + levels.index(level)) % 2 == 0 else order[::-1]:
                    with _driver(module):
                        bench._carts(server, bench.shoppers[:level])
                        result = bench._level(server, SINGLE, level, seconds, warmup, 5.0, "distinct")
                    client = result.cpu_ms_per_order().get("load client", float("nan"))
                    mercato = result.cpu_ms_per_order().get("Mercato", float("nan"))
                    lags = sorted(result.cart_lags)
                    lag = (
                        f"{1000 * _percentile(lags, 50):.0f} / {1000 * _percentile(lags, 99):.0f}"
                        if lags
                        else "-"
                    )
                    rows.append((round_, level, name, client, mercato, result.orders_per_s, lag))
                    if result.not_confirmed:
                        missed = {k: v for k, v in result.outcomes.items() if k != "CONFIRMED"}
                        others.append(f"round {round_}, {level} shoppers, {name}: not confirmed {missed}")
    lines = [
        "round | shoppers | client | load client CPU ms/order | Mercato CPU ms/order | orders/s "
        "| cart emptied p50 / p99 ms"
    ]
    lines += [f"{r} | {lv} | {n} | {c:.2f} | {m:.1f} | {o:.1f} | {lag}" for r, lv, n, c, m, o, lag in rows]
    for level in levels:
        pairs = [
            (
                next(x[3] for x in rows if x[:3] == (r, level, "this")),
                next(x[3] for x in rows if x[:3] == (r, level, "baseline")),
            )
            for r in range(rounds)
        ]
        ratios = ", ".join(f"{this / base:.2f}" for this, base in pairs if base)
        lines.append(f"{level} shoppers: load client this/baseline per round: {ratios}")
    return lines + others


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.client_cpu", description=__doc__.split("\n")[0])
    parser.add_argument("--baseline", type=Path, required=True, help="the other tree (its bench/checkout.py)")
    parser.add_argument("--shoppers", default="32,128", help="levels (default 32,128)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    args = parser.parse_args(argv)
    urls = configured_urls()
    if urls is None:
        parser.error("set MERCATO_DATABASE_URL, MERCATO_NATS_URL and MERCATO_REDIS_URL")
    baseline = _baseline_module(args.baseline)
    levels = [int(x) for x in args.shoppers.split(",")]
    database, nats, redis = (urls[name] for name in URL_VARS)
    engines = BenchEngines(database, nats, redis, embedded=False)
    try:
        asyncio.run(prepare(engines))
        asyncio.run(seed(engines, PRODUCTS))
        lines = measure(engines, baseline, levels, args.rounds, args.seconds, args.warmup)
        print("\n".join(lines), flush=True)
    finally:
        asyncio.run(cleanup(engines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
