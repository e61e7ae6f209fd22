"""What `bench.breakdown` records (statements grouped into transactions, each with its code path) and
the tables it prints: per order net of idle, by code path, the top statements, and the wire cross-check.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from bench.pgwire import WireCounts

_WS = re.compile(r"\s+")
_PARAM = re.compile(r"\$\d+(::[A-Za-z_\[\]]+(\([0-9, ]+\))?)?|%\(\w+\)s|(?<![:\w]):\w+")
_NUM = re.compile(r"(?<![\w$])\d+(\.\d+)?\b")
_STR = re.compile(r"'(?:[^']|'')*'")
_LIST = re.compile(r"\((\s*\?\s*,)+\s*\?\s*\)")
_VALUES_REP = re.compile(r"(VALUES\s*\([^()]*\))(\s*,\s*\([^()]*\))+", re.I)
SQL_CHARS = 160  # a normalized statement is kept up to this length (they differ within it)
COUNTERS = ("statements", "transactions", "commits", "rollbacks")


def normalize(sql: str) -> str:
    """The statement with its literals, parameters, IN-lists and repeated VALUES rows folded, so that
    executions of the same code with other data count as one statement."""
    s = _WS.sub(" ", sql).strip()
    s = _STR.sub("?", s)
    s = _PARAM.sub("?", s)
    s = _NUM.sub("?", s)
    s = _LIST.sub("(?...)", s)
    return _VALUES_REP.sub(r"\1, ...", s)[:SQL_CHARS]


@dataclass
class Stmt:
    site: str  # call site: entry point -> … -> innermost frames under src/mercato
    sql: str  # normalized
    n: int  # Execute messages it costs (executemany: one per parameter set)


@dataclass
class Tx:
    group: str  # code path: "graphql <operation>", "consumer <schema>.<subscription>", "relay <schema>", …
    site: str
    stmts: list[Stmt] = field(default_factory=list)
    outcome: str = "open"

    @property
    def kind(self) -> str:
        """The group, refined: a relay transaction that marked nothing published is an empty poll."""
        if not self.group.startswith("relay "):
            return self.group
        published = any(s.sql.startswith("UPDATE") for s in self.stmts)
        return self.group + (" (published)" if published else " (empty poll)")


@dataclass
class Window:
    """What one window recorded."""

    txs: list[Tx]
    wire: WireCounts
    connects: int = 0  # pool connections opened (their setup is wire traffic engine events miss)
    introspections: int = 0  # asyncpg type introspections
    introspection_executes: int = 0  # their Executes on the wire (statements the engine events miss)


@dataclass
class Summary:
    by_kind: dict[str, Counter[str]]
    stmts: Counter[tuple[str, str, str]]  # (sql, kind, site) -> executions
    total: Counter[str]


def summarize(txs: list[Tx]) -> Summary:
    by_kind: dict[str, Counter[str]] = defaultdict(Counter)
    stmts: Counter[tuple[str, str, str]] = Counter()
    total: Counter[str] = Counter()
    for tx in txs:
        n = sum(s.n for s in tx.stmts)
        for counter in (by_kind[tx.kind], total):
            counter["statements"] += n
            counter[tx.outcome + "s"] += 1
            if tx.outcome != "autocommit":  # BEGIN … COMMIT/ROLLBACK; a lone statement has neither
                counter["transactions"] += 1
        for s in tx.stmts:
            stmts[(s.sql, tx.kind, s.site)] += s.n
    return Summary(by_kind, stmts, total)


@dataclass
class Breakdown:
    orders: int
    outcomes: dict[str, int]
    p50_ms: float
    orders_seconds: float
    window_seconds: float
    busy: Window
    idle: Window
    engines: str
    top: int = 30

    def per_order(self, busy: int, idle: int) -> float:
        return (busy - idle) / self.orders


def _f(x: float) -> str:
    return f"{x:.2f}"


def _cell(text: str) -> str:
    return text.replace("|", "/")


def _matches(b: Breakdown, statements: bool, busy: int, idle: int) -> str:
    """Whether the wire saw what the engine events saw; (busy, idle) are the wire's surplus. asyncpg's
    type introspections are statements only the wire sees."""
    if (busy, idle) == (0, 0):
        return "yes"
    if statements and (busy, idle) == (b.busy.introspection_executes, b.idle.introspection_executes):
        return f"yes, with {busy:,} / {idle:,} introspection statements"
    return f"no ({busy:+,} / {idle:+,})"


def totals_table(b: Breakdown) -> list[str]:
    x, y = summarize(b.busy.txs).total, summarize(b.idle.txs).total
    wo, wi = b.busy.wire, b.idle.wire
    rows = [
        ("SQL statements", x["statements"], y["statements"], wo.statements, wi.statements),
        ("BEGIN (transactions)", x["transactions"], y["transactions"], wo.begins, wi.begins),
        ("COMMIT", x["commits"], y["commits"], wo.commits, wi.commits),
        ("ROLLBACK", x["rollbacks"], y["rollbacks"], wo.rollbacks, wi.rollbacks),
    ]
    out = [
        "| counter | order window | idle window | per order, raw | per order, net of idle "
        "| wire: order / idle window | wire: per order, net | engine events = wire |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, ex, ey, wx, wy in rows:
        same = _matches(b, name == "SQL statements", wx - ex, wy - ey)
        out.append(
            f"| {name} | {ex:,} | {ey:,} | {_f(ex / b.orders)} | **{_f(b.per_order(ex, ey))}** "
            f"| {wx:,} / {wy:,} | {_f(b.per_order(wx, wy))} | {same} |"
        )
    # Statements sent outside any transaction (`platform.sql`'s lone reads and marks): among the
    # statements above, with no BEGIN and no COMMIT/ROLLBACK of their own; PostgreSQL commits each.
    ex, ey = x["autocommits"], y["autocommits"]
    out.append(
        f"| of which alone (no BEGIN/COMMIT) | {ex:,} | {ey:,} | {_f(ex / b.orders)} "
        f"| **{_f(b.per_order(ex, ey))}** | | | |"
    )
    return out


def summary_line(b: Breakdown) -> str:
    """The per-order figures net of idle, from the engine events, in one line."""
    t = summarize(b.busy.txs).total
    i = summarize(b.idle.txs).total
    figures = ", ".join(
        f"{_f(b.per_order(t[c], i[c]))} {label}"
        for c, label in zip(COUNTERS, ("statements", "BEGIN", "COMMIT", "ROLLBACK"), strict=True)
    )
    alone = _f(b.per_order(t["autocommits"], i["autocommits"]))
    return f"per order, net of idle ({b.orders} orders): {figures} ({alone} statements alone)"


def kinds_table(b: Breakdown) -> list[str]:
    x, y = summarize(b.busy.txs).by_kind, summarize(b.idle.txs).by_kind
    kinds = sorted(
        set(x) | set(y),
        key=lambda k: (-(x[k]["statements"] - y[k]["statements"]), k),
    )
    out = [
        "| code path | statements | transactions | commits | rollbacks | statements: order / idle window |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    sums: Counter[str] = Counter()
    for k in kinds:
        cells = []
        for c in COUNTERS:
            sums[c] += x[k][c] - y[k][c]
            cells.append(_f(b.per_order(x[k][c], y[k][c])))
        out.append(f"| {k} | {' | '.join(cells)} | {x[k]['statements']:,} / {y[k]['statements']:,} |")
    total = " | ".join(f"**{_f(sums[c] / b.orders)}**" for c in COUNTERS)
    out.append(f"| **total** | {total} | |")
    return out


def top_table(b: Breakdown, width: int = 120) -> list[str]:
    net: Counter[tuple[str, str, str]] = Counter(summarize(b.busy.txs).stmts)
    net.subtract(summarize(b.idle.txs).stmts)
    out = [
        "| # | per order | code path | call site | statement (normalized) |",
        "| ---: | ---: | --- | --- | --- |",
    ]
    for i, ((sql, kind, site), count) in enumerate(net.most_common(b.top), 1):
        out.append(f"| {i} | {_f(count / b.orders)} | {kind} | `{_cell(site)}` | `{_cell(sql[:width])}` |")
    return out


def _intro(b: Breakdown) -> str:
    outcomes = ", ".join(f"{k} {v}" for k, v in sorted(b.outcomes.items()))
    return (
        f"{b.orders} orders placed one after the other ({outcomes}), submit → terminal p50 "
        f"{b.p50_ms:.0f} ms; order window {b.window_seconds:.1f} s (orders {b.orders_seconds:.1f} s, then "
        f"until relays and consumers are quiet), then an idle window of the same length. Single-process "
        f"topology in process (one `Runtime`, GraphQL over httpx's ASGI transport, "
        f"`checkout_wait_seconds=10`, sandbox payments 0 ms, the `checkoutComplete` query of "
        f"`bench/checkout.py`); engines: {b.engines}. Counted by SQLAlchemy engine events (per code path) "
        f"and on the wire by `bench/pgwire.py`'s proxy between the runtime and PostgreSQL."
    )


def _wire_note(b: Breakdown) -> str:
    return (
        f"Pool connections opened: order window {b.busy.connects}, idle window {b.idle.connects}; "
        f"asyncpg type introspections: order window {b.busy.introspections} "
        f"({b.busy.introspection_executes} statements), idle window {b.idle.introspections} "
        f"({b.idle.introspection_executes} statements); both are wire traffic the engine events miss."
    )


def text(b: Breakdown) -> str:
    """The tables for a terminal."""
    parts = [
        _intro(b),
        "",
        "Per order:",
        *totals_table(b),
        "",
        _wire_note(b),
        "",
        "By code path (per order, net of idle):",
        *kinds_table(b),
        "",
        f"Top {b.top} normalized statements (per order, net of idle):",
        *top_table(b, width=100),
        "",
        summary_line(b),
    ]
    return "\n".join(parts)


def markdown(b: Breakdown, command: str) -> str:
    parts = [
        "# Checkout: SQL statements and transactions by code path",
        "",
        f"Generated by `{command}`. {_intro(b)}",
        "",
        "## Per order",
        "",
        "Net of idle = (order window - idle window) / orders. The wire columns are the cross-check.",
        "",
        *totals_table(b),
        "",
        _wire_note(b),
        "",
        "## By code path (per order, net of idle)",
        "",
        "A transaction belongs to the code path that sent its first statement. Relay transactions are "
        "split into those that published something (claim + mark) and empty polls.",
        "",
        *kinds_table(b),
        "",
        f"## Top {b.top} normalized statements (per order, net of idle)",
        "",
        *top_table(b),
        "",
    ]
    return "\n".join(parts)
