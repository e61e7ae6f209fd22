"""The checkout scenario's part of the results: a terminal table and markdown for docs/benchmarks.md."""

from __future__ import annotations

from bench import checkout_targets
from bench.checkout import LevelResult
from bench.checkout_run import CheckoutResults, Cost, HotRun
from bench.checkout_rush import RushResult
from bench.checkout_targets import TARGET_COMMITS, TARGET_STATEMENTS, hot_share
from bench.commits import CeilingRow
from bench.load import _percentile


def _num(value: float | None, fmt: str = ".1f") -> str:
    return "-" if value is None else format(value, fmt)


def _ceiling_of(results: CheckoutResults, shoppers: int) -> CeilingRow | None:
    return next((c for c in results.ceiling if c.concurrency == shoppers), None)


def _ratio(r: LevelResult, c: CeilingRow | None) -> str:
    if c is None or not c.commits_per_s:
        return "-"
    share = 100 * r.orders_per_s / c.commits_per_s
    return f"{share:.2f}%" if share < 10 else f"{share:.0f}%"


def _per_order(results: CheckoutResults, topology: str, r: LevelResult, counter: str) -> float | None:
    return r.per_order(counter, results.idle_per_s(topology, counter))


def table(results: CheckoutResults) -> str:
    header = (
        f"{'topology':<12} {'SKUs':<8} {'shoppers':>8} {'orders/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'not conf.':>9} {'PENDING':>7} {'stmt/ord':>8} {'COMMIT/ord':>10} {'ceiling/s':>9} {'÷ceiling':>8}"
    )
    lines = [header, "-" * len(header)]
    rows = [(t, "distinct", r) for t, r in results.levels]
    rows += [(h.topology, "hot", r) for h in results.hot for r in h.levels]
    for topology, kind, r in rows:
        c = _ceiling_of(results, r.concurrency)
        lines.append(
            f"{topology:<12} {kind:<8} {r.concurrency:>8} {r.orders_per_s:>9,.1f} {r.ms(50):>8.1f} "
            f"{r.ms(99):>8.1f} {r.not_confirmed:>9,} {r.pending_answers:>7,} "
            f"{_num(_per_order(results, topology, r, 'statements')):>8} "
            f"{_num(_per_order(results, topology, r, 'commits')):>10} "
            f"{_num(c.commits_per_s if c else None, ',.0f'):>9} {_ratio(r, c):>8}"
        )
    for h in results.hot:
        if h.stock is not None and h.trouble is not None:
            lines.append(f"hot SKU ({h.topology}): {h.stock.text()}; {h.trouble.text()}")
    for rush in results.rush:
        lines.append(f"rush ({rush.topology}): {_rush_text(rush)}")
    for topology, cost in results.costs.items():
        lines += [f"cost per order ({topology}): {text}" for text in _cost_summary(cost)]
    lines += ["", checkout_targets.table(checkout_targets.verdicts(results))]
    return "\n".join(lines)


def _rush_text(r: RushResult) -> str:
    emptied = f" in {r.carts_emptied_s:.2f} s" if r.carts_emptied_s is not None else ""
    return (
        f"{r.shoppers} shoppers x {r.units} units of {r.sku}: settled in {r.settle_s:.2f} s (every "
        f"shopper had its answer after {r.answered_s:.2f} s), {r.pending_first} first answers PENDING, "
        f"{r.confirmed} confirmed ({r.db_confirmed} in the orders table), buyers' carts emptied "
        f"{r.carts_emptied}/{r.confirmed}{emptied}, others' carts kept {r.others_kept}/{r.not_confirmed}"
    )


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


def _levels_markdown(results: CheckoutResults) -> list[str]:
    out = [
        "| topology | shoppers | confirmed orders/s | p50 ms | p90 ms | p99 ms | max ms | confirmed "
        "| not confirmed | answered PENDING | statements / order | COMMITs / order | cart emptied p99 ms "
        "| commit ceiling /s (same concurrency) | orders/s ÷ ceiling |",
        "| --- |" + " ---: |" * 14,
    ]
    levels = sorted(results.levels, key=lambda tr: tr[1].concurrency)  # topologies side by side
    for topology, r in levels:
        c = _ceiling_of(results, r.concurrency)
        c_text = "-" if c is None else f"{c.commits_per_s:,.0f} ({c.tool}"
        if c is not None:
            c_text += f", {c.connections} connections)" if c.capped else ")"
        lags = sorted(r.cart_lags)
        lag = f"{1000 * _percentile(lags, 99):.0f}" if lags else "-"
        lag += f" ({r.carts_left_full} left full)" if r.carts_left_full else ""
        out.append(
            f"| {topology} | {r.concurrency} | {r.orders_per_s:,.1f} | {r.ms(50):.1f} | {r.ms(90):.1f} | "
            f"{r.ms(99):.1f} | {r.ms(100):.1f} | {r.confirmed:,} | {r.not_confirmed:,} | "
            f"{r.pending_answers:,} | {_num(_per_order(results, topology, r, 'statements'))} | "
            f"{_num(_per_order(results, topology, r, 'commits'))} | {lag} | {c_text} | {_ratio(r, c)} |"
        )
    return out


def _cpu_markdown(results: CheckoutResults) -> list[str]:
    """Where a confirmed order's CPU goes, per level: what bounds the rate on a 2-CPU machine."""
    levels = [(t, r) for t, r in sorted(results.levels, key=lambda tr: tr[1].concurrency) if r.cpu]
    if not levels:
        return []
    parts = sorted({p for _, r in levels for p in r.cpu})
    out = [
        "",
        "CPU per confirmed order (ms, from the processes' CPU time over the level at its steady rate; "
        "cores in use in brackets; the machine has 2):",
        "",
        "| topology | shoppers | " + " | ".join(parts) + " | all |",
        "| --- | ---: |" + " ---: |" * (len(parts) + 1),
    ]
    for topology, r in levels:
        ms = r.cpu_ms_per_order()
        cells = [f"{ms.get(p, 0.0):.1f} ({r.cpu.get(p, 0.0):.2f})" for p in parts]
        total = f"{sum(ms.values()):.1f} ({sum(r.cpu.values()):.2f})"
        out.append(f"| {topology} | {r.concurrency} | " + " | ".join(cells) + f" | {total} |")
    return out


def _outcomes(results: CheckoutResults) -> list[str]:
    runs = [(t, "", r) for t, r in results.levels] + [
        (h.topology, ", hot", r) for h in results.hot for r in h.levels
    ]
    others = sorted({k for _, _, r in runs for k in r.outcomes if k != "CONFIRMED"})
    if not others:
        return []
    return [
        "",
        "Not confirmed: "
        + "; ".join(
            f"{k} ({t}{hot}): {r.outcomes[k]} at {r.concurrency} shoppers"
            for k in others
            for t, hot, r in runs
            if r.outcomes[k]
        ),
    ]


def _hot_markdown(results: CheckoutResults, runs: list[HotRun]) -> list[str]:
    out = [
        "**Hot SKU**: the same shoppers, every cart holding 1 unit of one SKU whose stock was set to "
        "1,000,000 units (its other warehouse rows to 0), at the best distinct-SKU concurrency unless "
        "`--hot` names levels. Afterwards, from the run's database: units in CONFIRMED orders' lines, "
        "units of COMMITTED reservations, and the SKU's stock rows (oversold: more sold than the stock, "
        "or a negative row); deadlocks from `pg_stat_database.deadlocks` (a backend that went idle may "
        "report up to 10 s late), `deadlock detected` and consumer retries (`failed (try N)`, "
        "`failed; retrying`, `parking`) in every server process's log, and new dead letters.",
        "",
        "| topology | shoppers | hot orders/s | distinct orders/s | hot ÷ distinct | p50 ms | p99 ms "
        "| not confirmed | statements / order | COMMITs / order |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for run in runs:
        for r in run.levels:
            distinct = next(
                (d for t, d in results.levels if t == run.topology and d.concurrency == r.concurrency), None
            )
            share = hot_share(results, run.topology, r)
            out.append(
                f"| {run.topology} | {r.concurrency} | {r.orders_per_s:,.1f} | "
                f"{_num(distinct.orders_per_s if distinct else None)} | "
                f"{'-' if share is None else f'{100 * share:.0f}%'} | {r.ms(50):.1f} | {r.ms(99):.1f} | "
                f"{r.not_confirmed:,} | {_num(_per_order(results, run.topology, r, 'statements'))} | "
                f"{_num(_per_order(results, run.topology, r, 'commits'))} |"
            )
    out.append("")
    for run in runs:
        if run.stock is not None:
            verdict = "oversold" if run.stock.oversold else "not oversold"
            books = "books agree" if run.stock.consistent else "books DISAGREE"
            out.append(f"- {run.topology}: {run.stock.text()}: {verdict}, {books}.")
        if run.trouble is not None:
            samples = "; ".join(f"`{x}`" for x in run.trouble.samples)
            out.append(
                f"- {run.topology}: {run.trouble.text()}" + (f" (e.g. {samples})" if samples else "") + "."
            )
    return out


def _rush_markdown(runs: list[RushResult]) -> list[str]:
    out = [
        "**Rush**: N shoppers (the same pool, each cart holding 1 unit of one SKU whose stock was set "
        "to U units) send `checkoutComplete` at the same moment. *Settled*: until every order was "
        "CONFIRMED/REJECTED, by the time the orders' status history records (read once, after the "
        "rush); *answered*: until every shopper had seen its order terminal (`order(id)` polled every "
        "50 ms after a PENDING answer). Then every "
        "confirmed buyer's `cart { lines }` is polled through the API until empty (up to 5 s), and every "
        "other shopper's cart is read once (it must still hold the SKU).",
        "",
        "| topology | shoppers x units | settled s | answered s | first answer p50 / max ms "
        "| first answers PENDING | confirmed (answers / table) | not confirmed | buyers' carts empty "
        "| others' carts kept | stock after | deadlocks, retries |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | --- | --- |",
    ]
    for r in runs:
        emptied = f"{r.carts_emptied}/{r.confirmed}"
        emptied += f" in {r.carts_emptied_s:.2f} s" if r.carts_emptied_s is not None else ""
        stock = "-" if r.stock is None else f"{r.stock.on_hand} on hand, {r.stock.reserved} reserved"
        if r.stock is not None and r.stock.oversold:
            stock += ", OVERSOLD"
        trouble = (
            "-"
            if r.trouble is None
            else (
                f"{r.trouble.deadlocks + r.trouble.log_deadlocks}, "
                f"{r.trouble.log_retries + r.trouble.dead_letters}"
            )
        )
        out.append(
            f"| {r.topology} | {r.shoppers} x {r.units} | {_num(r.settled_s, '.2f')} | {r.answered_s:.2f} | "
            f"{r.first_ms(50):,.0f} / {r.first_ms(100):,.0f} | {r.pending_first} | "
            f"{r.confirmed} / {r.db_confirmed} | {r.not_confirmed} | {emptied} | "
            f"{r.others_kept}/{r.not_confirmed} | {stock} | {trouble} |"
        )
    rejected = sorted({k for r in runs for k in r.outcomes if k != "CONFIRMED"})
    if rejected:
        out += [
            "",
            "Not confirmed: "
            + "; ".join(
                f"{k} ({r.topology}): {r.outcomes[k]}" for k in rejected for r in runs if r.outcomes[k]
            ),
        ]
    return out


def markdown(results: CheckoutResults) -> list[str]:
    counted = (
        "Statements and COMMITs per order: every server process's traffic to PostgreSQL during the "
        "window, counted by the proxy (`bench/pgwire.py`, a process of its own on the path of every "
        "level), over the confirmed orders of the window, less the idle rate of the cost run's idle "
        "window when there was one."
        if results.wire_counted
        else "The levels ran with `--direct` (no proxy on the path): no statements per order per level."
    )
    proxied = [r.proxy_cpu for _, r in results.levels if r.proxy_cpu is not None]
    if proxied:
        counted += (
            f" The proxy used {100 * min(proxied):.0f}-{100 * max(proxied):.0f}% of one CPU during the "
            "levels (taken from the same 2 CPUs as the servers)."
        )
    out = [
        "### Checkout",
        "",
        f"{results.shoppers} customers registered and signed in through the API before any window, one "
        f"cart each holding 1 unit of its own SKU ({results.skus} distinct SKUs, each with a stock row "
        "set to 1,000,000 units, so every order can confirm and no two shoppers lock the same stock "
        "row). Server: `MERCATO_CHECKOUT_WAIT_SECONDS=10` (checkoutComplete answers with the terminal "
        "state; `order(id)` is polled every 20 ms if it answers PENDING), sandbox payments with 0 ms "
        "latency, `tok_success`. Closed loop per shopper (asyncio on uvloop, one keep-alive connection "
        "per shopper, httptools + orjson: `bench/checkout_wire.py`): checkout → terminal; after a "
        "confirmed order, wait until the cart is empty (every waiting cart read from the cart's Redis "
        "store by one script every 10 ms, up to 5 s: *cart emptied*) and refill it with one `cartLinesAdd` "
        "(inside the window, outside the latency). Orders/s = confirmed orders submitted in the "
        "measured window / its length. " + counted,
        f"Settings of the PostgreSQL server: {results.pg_settings}.",
        *(f"- Note: {n}" for n in results.notes),
        "",
        *_levels_markdown(results),
        *_outcomes(results),
        *_cpu_markdown(results),
        "",
        "Commit ceiling: pgbench (or an asyncpg loop without it), one `INSERT` of one row per "
        "transaction into a table of the run's database, same concurrency (fewer connections when the "
        "server's `max_connections` leaves fewer free), with the Mercato servers stopped. Orders/s ÷ "
        "ceiling: how much of PostgreSQL's commit rate one confirmed order per second stands for.",
    ]
    if results.hot:
        out += ["", *_hot_markdown(results, results.hot)]
    if results.rush:
        out += ["", *_rush_markdown(results.rush)]
    out += [
        "",
        "**Targets** (issue 8, on the 2-core machine):",
        "",
        *checkout_targets.markdown(checkout_targets.verdicts(results)),
    ]
    if results.costs:
        out += ["", *_cost_lines(results.costs)]
    return out
