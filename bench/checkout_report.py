"""The checkout scenario's part of the results: a terminal table and markdown for docs/benchmarks.md."""

from __future__ import annotations

from bench.checkout_run import CheckoutResults, Cost
from bench.load import _percentile

TARGET_ORDERS = 300.0
TARGET_STATEMENTS = 40.0
TARGET_COMMITS = 10.0


def table(results: CheckoutResults) -> str:
    header = (
        f"{'topology':<12} {'shoppers':>8} {'orders/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'confirmed':>9} {'not conf.':>9}"
    )
    lines = [header, "-" * len(header)]
    for topology, r in results.levels:
        lines.append(
            f"{topology:<12} {r.concurrency:>8} {r.orders_per_s:>9,.1f} {r.ms(50):>8.1f} {r.ms(99):>8.1f} "
            f"{r.confirmed:>9,} {r.not_confirmed:>9,}"
        )
    for row in results.ceiling:
        lines.append(
            f"commit ceiling at {row.concurrency} connections: {row.commits_per_s:,.0f}/s ({row.tool})"
        )
    for topology, cost in results.costs.items():
        lines += [f"cost per order ({topology}): {text}" for text in _cost_summary(cost)]
    return "\n".join(lines)


def _per(value: int, orders: int) -> float:
    return value / orders if orders else 0.0


def _cost_summary(cost: Cost) -> list[str]:
    k = cost.confirmed or cost.orders
    w, i = cost.wire, cost.wire_idle
    pairs = [
        ("SQL statements", w.statements, i.statements),
        ("COMMITs", w.commits, i.commits),
        ("xact_commit", cost.xact[0], cost.xact_idle[0]),
    ]
    return [f"{n} {_per(raw, k):.1f} raw, {_per(raw - idle, k):.1f} net of idle" for n, raw, idle in pairs]


def _batch_text(topology: str, cost: Cost) -> str:
    p50 = _percentile(sorted(cost.latencies_ms), 50)
    return (
        f"{topology}: {cost.orders} orders ({cost.confirmed} confirmed) in {cost.batch_seconds:.1f} s, "
        f"submit → terminal p50 {p50:.0f} ms, window {cost.window_seconds:.1f} s"
    )


def _cost_lines(costs: dict[str, Cost]) -> list[str]:
    def row(topology: str, k: int, name: str, raw: int, idle: int, note: str) -> str:
        return (
            f"| {name} | {topology} | {raw:,} | {idle:,} | {_per(raw, k):.1f} | {_per(raw - idle, k):.1f} "
            f"| {note} |"
        )

    any_cost = next(iter(costs.values()))
    rows: list[str] = []
    verdicts: list[str] = []
    for topology, cost in costs.items():
        k = cost.confirmed or cost.orders
        w, i = cost.wire, cost.wire_idle
        rows += [
            row(topology, k, "SQL statements", w.statements, i.statements, "Execute + other simple queries"),
            row(topology, k, "BEGIN", w.begins, i.begins, "transactions opened"),
            row(topology, k, "COMMIT", w.commits, i.commits, "explicit commits on the wire"),
            row(topology, k, "ROLLBACK", w.rollbacks, i.rollbacks, "read-only work ended by rollback"),
            row(
                topology,
                k,
                "xact_commit",
                *_pair(cost.xact, cost.xact_idle, 0),
                "pg_stat_database, the run's database",
            ),
            row(topology, k, "xact_rollback", *_pair(cost.xact, cost.xact_idle, 1), "pg_stat_database"),
        ]
        statements, commits_ = _per(w.statements - i.statements, k), _per(w.commits - i.commits, k)
        verdicts.append(
            f"{topology}: statements {statements:.1f} → "
            f"{'meets' if statements <= TARGET_STATEMENTS else 'misses'}; COMMITs {commits_:.1f} → "
            f"{'meets' if commits_ <= TARGET_COMMITS else 'misses'}"
        )
    return [
        f"**Cost per order**: {any_cost.orders} orders placed one after the other, each by another "
        "shopper whose cart was already filled, so the window holds checkouts only; the window runs on "
        f"{any_cost.window_seconds - any_cost.batch_seconds:.0f} s after the last order (PostgreSQL "
        "backends report to `pg_stat_database` up to 10 s late). An idle window of the same length right "
        "after it (relay polling, consumer and sweeper housekeeping) is the baseline. Counted for every "
        "process of the topology (both workers of `mercato serve`; the six context processes of "
        "`mercato up`, the gateway has no database connection): on the wire by a proxy between the "
        "server and PostgreSQL (`bench/pgwire.py`; statements = Execute messages + simple queries other "
        "than BEGIN/COMMIT/ROLLBACK), and on PostgreSQL's side (`pg_stat_database.xact_commit`: every "
        "committed transaction, read-only ones included). Includes the server-side polling of "
        "`checkoutComplete` while it waits for the terminal state. "
        + "; ".join(_batch_text(t, c) for t, c in costs.items())
        + ".",
        "",
        "| counter | topology | window with orders | idle window | per order, raw | per order, net of idle "
        "| what |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- |",
        *rows,
        "",
        f"Against the target (≤ {TARGET_STATEMENTS:.0f} statements, ≤ {TARGET_COMMITS:.0f} commits per "
        f"order, net of idle): {'; '.join(verdicts)}.",
    ]


def _pair(window: tuple[int, int], idle: tuple[int, int], index: int) -> tuple[int, int]:
    return window[index], idle[index]


def markdown(results: CheckoutResults) -> list[str]:
    out = [
        "### Checkout",
        "",
        f"{results.shoppers} customers registered and signed in through the API before any window, one "
        f"cart each holding 1 unit of its own SKU ({results.skus} distinct SKUs, each with a stock row "
        "set to 1,000,000 units, so every order can confirm and no two shoppers lock the same stock "
        "row). Server: `MERCATO_CHECKOUT_WAIT_SECONDS=10` (checkoutComplete answers with the terminal "
        "state; `order(id)` is polled if it ever answers PENDING), sandbox payments with 0 ms latency, "
        "`tok_success`. Closed loop per shopper (asyncio + httpx): checkout → terminal, then one "
        "`cartLinesAdd` to refill a cart a confirmed order emptied (inside the window, outside the "
        "latency). Orders/s = confirmed orders submitted in the measured window / its length.",
        f"Settings of the PostgreSQL server: {results.pg_settings}.",
        *(f"- Note: {n}" for n in results.notes),
        "",
        "| topology | shoppers | confirmed orders/s | p50 ms | p90 ms | p99 ms | max ms | confirmed "
        "| not confirmed | answered PENDING | commit ceiling /s (same concurrency) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    ceiling = {row.concurrency: row for row in results.ceiling}
    levels = sorted(results.levels, key=lambda tr: tr[1].concurrency)  # topologies side by side
    for topology, r in levels:
        c = ceiling.get(r.concurrency)
        c_text = f"{c.commits_per_s:,.0f} ({c.tool})" if c else "-"
        out.append(
            f"| {topology} | {r.concurrency} | {r.orders_per_s:,.1f} | {r.ms(50):.1f} | {r.ms(90):.1f} | "
            f"{r.ms(99):.1f} | {r.ms(100):.1f} | {r.confirmed:,} | {r.not_confirmed:,} | "
            f"{r.pending_answers:,} | {c_text} |"
        )
    others = sorted({k for _, r in results.levels for k in r.outcomes if k != "CONFIRMED"})
    if others:
        out += [
            "",
            "Not confirmed: "
            + "; ".join(
                f"{k} ({t}): {r.outcomes[k]} at {r.concurrency} shoppers"
                for k in others
                for t, r in results.levels
                if r.outcomes[k]
            ),
        ]
    best = {t: max(r.orders_per_s for tt, r in results.levels if tt == t) for t, _ in results.levels}
    out += [
        "",
        "Commit ceiling: pgbench (or an asyncpg loop without it), one `INSERT` of one row per "
        "transaction into a table of the run's database, same concurrency, with the server stopped.",
        "",
        f"**Target** ≥ {TARGET_ORDERS:.0f} confirmed orders/s: best measured "
        + (
            "; ".join(
                f"{b:,.1f}/s ({t}) → {'meets' if b >= TARGET_ORDERS else 'misses'}" for t, b in best.items()
            )
            or "none"
        )
        + ".",
    ]
    if results.costs:
        out += ["", *_cost_lines(results.costs)]
    return out
