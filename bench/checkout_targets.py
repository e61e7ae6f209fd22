"""The checkout's targets (issue 8, "Checkout at scale") next to what a run measured: PASS, MISS, or n/a
when the run did not measure it (a topology, a level or a run left out)."""

from __future__ import annotations

from dataclasses import dataclass

from bench.checkout import LevelResult
from bench.checkout_run import CheckoutResults, Cost
from bench.server import DISTRIBUTED, SINGLE

TARGET_ORDERS = 150.0  # confirmed orders/s, single topology, best concurrency
LONG_TERM_ORDERS = 300.0
KEEP_AT = 128  # shoppers: no collapse under load
KEEP_SHARE = 0.90  # of the best throughput
P99_AT = 8  # shoppers
P99_MS = 250.0
DISTRIBUTED_SHARE = 0.75  # of the single topology's best
HOT_SHARE = 0.50  # hot SKU vs distinct SKUs at the same concurrency
RUSH_SECONDS = 3.0
TARGET_STATEMENTS = 30.0  # per confirmed order, net of idle, every service
TARGET_COMMITS = 10.0


@dataclass(frozen=True)
class Verdict:
    target: str
    measured: str
    passed: bool | None  # None: not measured

    @property
    def status(self) -> str:
        return "n/a" if self.passed is None else ("PASS" if self.passed else "MISS")


def _level(results: CheckoutResults, topology: str, shoppers: int) -> LevelResult | None:
    return next((r for t, r in results.levels if t == topology and r.concurrency == shoppers), None)


def _throughput(results: CheckoutResults) -> list[Verdict]:
    target = (
        f"≥ {TARGET_ORDERS:.0f} confirmed orders/s, single, best concurrency "
        f"(long term {LONG_TERM_ORDERS:.0f})"
    )
    best = results.best(SINGLE)
    if best is None:
        return [Verdict(target, "single topology not measured", None)]
    measured = f"{best.orders_per_s:,.1f}/s at {best.concurrency} shoppers"
    return [Verdict(target, measured, best.orders_per_s >= TARGET_ORDERS)]


def _no_collapse(results: CheckoutResults) -> list[Verdict]:
    out = []
    for topology in (SINGLE, DISTRIBUTED):
        best, loaded = results.best(topology), _level(results, topology, KEEP_AT)
        if best is None:
            continue
        target = f"{KEEP_AT} shoppers ≥ {100 * KEEP_SHARE:.0f}% of the best ({topology})"
        if loaded is None or not best.orders_per_s:
            out.append(Verdict(target, f"no {KEEP_AT}-shopper level", None))
            continue
        share = loaded.orders_per_s / best.orders_per_s
        measured = f"{loaded.orders_per_s:,.1f} vs {best.orders_per_s:,.1f}/s = {100 * share:.0f}%"
        out.append(Verdict(target, measured, share >= KEEP_SHARE))
    return out


def _p99(results: CheckoutResults) -> list[Verdict]:
    target = f"p99 submit → terminal < {P99_MS:.0f} ms at {P99_AT} shoppers (single)"
    level = _level(results, SINGLE, P99_AT)
    if level is None or not level.latencies:
        return [Verdict(target, f"no {P99_AT}-shopper single level", None)]
    return [Verdict(target, f"{level.ms(99):,.1f} ms", level.ms(99) < P99_MS)]


def _distributed(results: CheckoutResults) -> list[Verdict]:
    target = f"distributed ≥ {100 * DISTRIBUTED_SHARE:.0f}% of single (best vs best)"
    single, distributed = results.best(SINGLE), results.best(DISTRIBUTED)
    if single is None or distributed is None or not single.orders_per_s:
        return [Verdict(target, "needs both topologies", None)]
    share = distributed.orders_per_s / single.orders_per_s
    measured = f"{distributed.orders_per_s:,.1f} vs {single.orders_per_s:,.1f}/s = {100 * share:.0f}%"
    return [Verdict(target, measured, share >= DISTRIBUTED_SHARE)]


def hot_share(results: CheckoutResults, topology: str, hot: LevelResult) -> float | None:
    distinct = _level(results, topology, hot.concurrency)
    if distinct is None or not distinct.orders_per_s:
        return None
    return hot.orders_per_s / distinct.orders_per_s


def _hot(results: CheckoutResults) -> list[Verdict]:
    out = []
    for run in results.hot:
        shares = [(r, hot_share(results, run.topology, r)) for r in run.levels]
        known = [(r, s) for r, s in shares if s is not None]
        target = f"hot SKU ≥ {100 * HOT_SHARE:.0f}% of distinct SKUs, same shoppers ({run.topology})"
        measured = "; ".join(f"{100 * s:.0f}% at {r.concurrency} shoppers" for r, s in known)
        out.append(
            Verdict(
                target,
                measured or "no distinct level to compare",
                all(s >= HOT_SHARE for _, s in known) if known else None,
            )
        )
        if run.stock is not None:
            stock = run.stock
            text = f"{stock.confirmed_units:,} sold of {stock.stock:,}; lowest row {stock.min_on_hand:,}"
            text += "" if stock.consistent else " (books disagree: see the hot-SKU table)"
            out.append(
                Verdict(
                    f"hot SKU: no oversell, stock never negative ({run.topology})", text, not stock.oversold
                )
            )
        if run.trouble is not None:
            out.append(
                Verdict(
                    f"hot SKU: no deadlock, no consumer retry ({run.topology})",
                    run.trouble.text(),
                    run.trouble.clean,
                )
            )
    return out


def _rush(results: CheckoutResults) -> list[Verdict]:
    out = []
    for r in results.rush:
        name = f"{r.shoppers} shoppers at once on {r.units} units ({r.topology})"
        out.append(
            Verdict(
                f"rush settles < {RUSH_SECONDS:.0f} s: {name}",
                f"{r.settle_s:.2f} s",
                r.settle_s < RUSH_SECONDS,
            )
        )
        exact = r.confirmed == r.db_confirmed == r.units
        measured = f"{r.confirmed} confirmed answers, {r.db_confirmed} in the orders table"
        out.append(Verdict(f"rush: exactly {r.units} CONFIRMED ({r.topology})", measured, exact))
        emptied = f"{r.carts_emptied}/{r.confirmed}" + (
            f" within {r.carts_emptied_s:.2f} s" if r.carts_emptied_s is not None else ""
        )
        out.append(
            Verdict(
                f"rush: every confirmed buyer's cart empty ({r.topology})",
                emptied,
                r.carts_emptied == r.confirmed > 0,
            )
        )
    return out


def _net(cost: Cost, counter: str) -> float:
    k = cost.confirmed or cost.orders
    return (getattr(cost.wire, counter) - getattr(cost.wire_idle, counter)) / k if k else 0.0


def _cost(results: CheckoutResults) -> list[Verdict]:
    out = []
    for topology, cost in results.costs.items():
        statements, commits = _net(cost, "statements"), _net(cost, "commits")
        out.append(
            Verdict(
                f"≤ {TARGET_STATEMENTS:.0f} statements per order, net ({topology})",
                f"{statements:.1f}",
                statements <= TARGET_STATEMENTS,
            )
        )
        out.append(
            Verdict(
                f"≤ {TARGET_COMMITS:.0f} COMMITs per order, net ({topology})",
                f"{commits:.1f}",
                commits <= TARGET_COMMITS,
            )
        )
    return out


def verdicts(results: CheckoutResults) -> list[Verdict]:
    return [
        *_throughput(results),
        *_no_collapse(results),
        *_p99(results),
        *_distributed(results),
        *_hot(results),
        *_rush(results),
        *_cost(results),
    ]


def table(found: list[Verdict]) -> str:
    width = max((len(v.target) for v in found), default=10)
    lines = [f"{'target':<{width}}  {'status':<6}  measured", "-" * (width + 30)]
    lines += [f"{v.target:<{width}}  {v.status:<6}  {v.measured}" for v in found]
    return "\n".join(lines)


def markdown(found: list[Verdict]) -> list[str]:
    return [
        "| target | status | measured |",
        "| --- | --- | --- |",
        *(f"| {v.target} | **{v.status}** | {v.measured} |" for v in found),
    ]
