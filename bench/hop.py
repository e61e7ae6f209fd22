"""What the gRPC hop costs, from one run: the distributed topology against the single one, scenario by
scenario (a paragraph of docs/benchmarks.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bench.checkout_run import CheckoutResults, Cost
from bench.load import _percentile
from bench.server import DISTRIBUTED, SINGLE

if TYPE_CHECKING:  # bench.report imports this module
    from bench.report import Row


def _change(distributed: float, single: float) -> str:
    return f"{100 * (distributed / single - 1):+.0f}%" if single else "n/a"


def _ms(distributed: float, single: float) -> str:
    return f"{distributed:,.1f} vs {single:,.1f} ms"


def _listing_lines(rows: list[Row]) -> list[str]:
    by_key = {(r.scenario, r.products, r.topology): r for r in rows}
    out = []
    for scenario, products in dict.fromkeys((r.scenario, r.products) for r in rows if r.topology == SINGLE):
        single, distributed = (by_key.get((scenario, products, t)) for t in (SINGLE, DISTRIBUTED))
        if single is None or distributed is None:
            continue
        s, d = single.result, distributed.result
        cached = single.cache == distributed.cache == "hit"
        out.append(
            f"- {scenario} at {products:,} products"
            + (" (both from the response cache: no context called)" if cached else "")
            + f": {d.rps:,.0f} vs {s.rps:,.0f} req/s ({_change(d.rps, s.rps)}), "
            f"p50 {_ms(d.p50_ms, s.p50_ms)}, p99 {_ms(d.p99_ms, s.p99_ms)}"
        )
    return out


def _net(cost: Cost, counter: str) -> float:
    k = cost.confirmed or cost.orders
    return (getattr(cost.wire, counter) - getattr(cost.wire_idle, counter)) / k if k else 0.0


def _p50(cost: Cost) -> float:
    return _percentile(sorted(cost.latencies_ms), 50)


def _checkout_lines(results: CheckoutResults) -> list[str]:
    levels = {(topology, r.concurrency): r for topology, r in results.levels}
    single_cost, distributed_cost = results.costs.get(SINGLE), results.costs.get(DISTRIBUTED)
    out = []
    if single_cost is not None and distributed_cost is not None:
        out.append(
            f"- checkout one order at a time (the cost run: {distributed_cost.orders} orders, no "
            "concurrency, database traffic through the counting proxy): submit → terminal p50 "
            f"{_ms(_p50(distributed_cost), _p50(single_cost))}, "
            f"the batch in {distributed_cost.batch_seconds:.1f} vs {single_cost.batch_seconds:.1f} s"
        )
    for concurrency in sorted({r.concurrency for _, r in results.levels}):
        single, distributed = levels.get((SINGLE, concurrency)), levels.get((DISTRIBUTED, concurrency))
        if single is None or distributed is None:
            continue
        d_rate, s_rate = distributed.orders_per_s, single.orders_per_s
        out.append(
            f"- checkout at {concurrency} shoppers: {d_rate:,.1f} vs {s_rate:,.1f} confirmed orders/s "
            f"({_change(d_rate, s_rate)}), p50 {_ms(distributed.ms(50), single.ms(50))}, "
            f"p99 {_ms(distributed.ms(99), single.ms(99))}"
        )
    if single_cost is not None and distributed_cost is not None:
        out.append(
            f"- per order, net of idle: {_net(distributed_cost, 'statements'):.1f} vs "
            f"{_net(single_cost, 'statements'):.1f} SQL statements, "
            f"{_net(distributed_cost, 'commits'):.1f} vs {_net(single_cost, 'commits'):.1f} COMMITs "
            "(on the wire between the services and PostgreSQL)"
        )
    return out


def paragraph(rows: list[Row], checkout: CheckoutResults | None, disturbed: bool) -> str:
    """Markdown, or "" when the run did not measure both topologies."""
    lines = _listing_lines(rows) + (_checkout_lines(checkout) if checkout is not None else [])
    if not lines:
        return ""
    intro = (
        "Distributed vs single, from this run (the change is distributed relative to single). The "
        "cached listing never reaches a context, so its gap is the gateway's shape (one asyncio process "
        "instead of two uvloop workers) beside six context processes on the same CPUs, not the hop; "
        "listing-availability (inventory over gRPC for every page) and checkout (cart, customers and "
        "orders over gRPC; the saga goes over NATS in both topologies) carry the hop. Each line compares "
        "one measured window of each topology, one after the other on a shared machine; a window can "
        "move by tens of percent from one run to the next, so read small differences as noise."
    )
    if disturbed:
        intro += " Some runs were disturbed by other work on the machine (see the notes above)."
    return "\n".join([intro, "", *lines])
