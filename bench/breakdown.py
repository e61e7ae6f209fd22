"""Where the checkout's SQL statements and transactions come from, per order and code path.

    .venv/bin/python -m bench.breakdown [--orders 20] [--top 30] [--output PATH]

Runs the single-process topology in this process (one `Runtime`, the GraphQL app over httpx's ASGI
transport) in a database and namespace of its own (`bench.environment`: MERCATO_*_URL when set,
embedded engines otherwise), places N orders one after the other, waits until the relays and
consumers are quiet, then measures an idle window of the same length. Every statement is attributed to
its code path by SQLAlchemy engine events and the Python stack that sent it (a GraphQL operation, an
event consumer, an outbox relay or a sweeper); the same traffic is counted on the wire by
`bench/pgwire.py`'s proxy as a cross-check. Prints the tables, or writes them as markdown with --output.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import contextvars
import secrets
import shlex
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import greenlet  # type: ignore[import-untyped]
import httpx
from asyncpg.connection import Connection
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

import mercato
from bench import breakdown_report as report
from bench.checkout import ADDRESS, CHECKOUT, ORDER, SKUS, TERMINAL, Shopper, _one_shopper, gql
from bench.checkout_run import _top_up, _via
from bench.environment import (
    URL_VARS,
    BenchEngines,
    _asyncpg_dsn,
    cleanup,
    configured_urls,
    prepare,
    seed,
    start_embedded,
    stop_embedded,
)
from bench.pgwire import CountingProxy, WireCounts
from mercato.app.runtime import Runtime
from mercato.gateway.app import create_app
from mercato.platform.sql import ALONE

SRC = str(Path(mercato.__file__).parent) + "/"
WARMUP_ORDERS = 5  # unrecorded: pooled connections open and (mostly) know the checkout's types
MAX_ORDERS = 100 - WARMUP_ORDERS  # one listed product per shopper, from one page of the listing
QUIET_SECONDS = 2.0  # no consumer, request or publishing relay sent SQL for this long
QUIET_LIMIT = 120.0
# Frames that only pass a connection along; dropped from call sites to keep them readable.
PLUMBING = (
    "platform/unit_of_work.py",
    "platform/db.py",
    "platform/telemetry.py",
    "gateway/app.py",
    "gateway/response_cache.py",
)

# The GraphQL operation the driver is running. Background tasks (relays, consumers, sweepers) were
# created before it is ever set, so they never see it.
PHASE: contextvars.ContextVar[str | None] = contextvars.ContextVar("breakdown_phase", default=None)


def _rel(filename: str) -> str:
    return filename[len(SRC) :] if filename.startswith(SRC) else filename


def _where(frame: FrameType) -> str:
    return f"{_rel(frame.f_code.co_filename)}:{frame.f_code.co_name}"


def _anchor(frame: FrameType) -> str | None:
    """The code path a frame of the platform's background machinery stands for, if it is one."""
    rel, name, local = _rel(frame.f_code.co_filename), frame.f_code.co_name, frame.f_locals
    if rel == "platform/inbox.py" and name in ("handle", "_failed") and "self" in local:
        return f"consumer {local['self'].schema}.{local['self'].subscription.name}"
    if (
        rel == "platform/outbox.py"
        and name in ("publish_pending", "mark_published", "prune")
        and "self" in local
    ):
        return f"relay {local['self']._schema}"
    if rel == "app/host.py" and name == "loop" and "sweeper" in local:
        return f"sweeper {local['sweeper'].name}"
    return None


class Collector:
    """SQLAlchemy engine events → transactions with their statements, inside the current window."""

    def __init__(self) -> None:
        self.recording = False
        self.txs: list[report.Tx] = []  # finished transactions that sent at least one statement
        self.open: dict[int, report.Tx] = {}
        self.connects = 0
        self.introspections = 0
        self.introspection_executes = 0
        self.last_busy = time.monotonic()  # last statement of a consumer, a request or a publishing relay

    def attach(self, engine: AsyncEngine) -> None:
        sync = engine.sync_engine
        event.listen(sync, "begin", self.on_begin)
        event.listen(sync, "before_cursor_execute", self.on_statement)
        event.listen(sync, "commit", self.on_commit)
        event.listen(sync, "rollback", self.on_rollback)
        event.listen(sync.pool, "connect", self.on_connect)

    def take(self, wire: WireCounts) -> report.Window:
        """This window (with its wire counts); starts the next one."""
        found = report.Window(self.txs, wire, self.connects, self.introspections, self.introspection_executes)
        self.txs, self.connects, self.introspections, self.introspection_executes = [], 0, 0, 0
        return found

    @staticmethod
    def attribute() -> tuple[str, str]:
        """(code path, call site) of the statement being sent. SQLAlchemy's async layer runs the sync
        engine in a child greenlet; the caller's coroutine frames hang off its parent greenlet."""
        current = greenlet.getcurrent()
        parent = current.parent
        frame: FrameType | None = (
            parent.gr_frame if parent is not None and parent.gr_frame else sys._getframe()
        )
        ours: list[FrameType] = []  # frames under src/mercato, innermost first
        while frame is not None:
            if frame.f_code.co_filename.startswith(SRC):
                ours.append(frame)
            frame = frame.f_back
        group, anchor = "other", len(ours)
        for i, f in enumerate(ours):
            found = _anchor(f)
            if found is not None:
                group, anchor = found, i
                break
        phase = PHASE.get()
        if group == "other" and phase is not None:
            group = f"graphql {phase}"
        inner = [w for w in map(_where, ours[:anchor]) if not w.startswith(PLUMBING)]
        chain = list(reversed(inner))  # entry point first
        if len(chain) > 5:
            chain = [chain[0], "…", *chain[-3:]]
        if not chain and anchor < len(ours):
            chain = [_where(ours[anchor])]
        return group, " -> ".join(chain) if chain else "?"

    def on_connect(self, *_: Any) -> None:
        if self.recording:
            self.connects += 1

    def on_begin(self, conn: Any) -> None:
        self.open.pop(id(conn), None)
        if self.recording:
            group, site = self.attribute()
            self.open[id(conn)] = report.Tx(group, site)

    def on_statement(
        self, conn: Any, _cursor: Any, statement: str, params: Any, _context: Any, many: bool
    ) -> None:
        group, site = self.attribute()
        if group.startswith(("consumer", "graphql")) or (
            group.startswith("relay") and statement.lstrip().upper().startswith("UPDATE")
        ):
            self.last_busy = time.monotonic()
        if not self.recording:
            return
        n = len(params) if many and isinstance(params, (list, tuple)) else 1
        if _context is ALONE:
            # A statement sent outside any transaction (`mercato.platform.sql`: alone or solo): no
            # BEGIN and no COMMIT on the wire, a transaction of its own all the same.
            lone = report.Tx(group, site, [report.Stmt(site, report.normalize(statement), n)], "autocommit")
            self.txs.append(lone)
            return
        tx = self.open.setdefault(id(conn), report.Tx(group, site))
        if not tx.stmts:  # a transaction belongs to whoever sent its first statement
            tx.group, tx.site = group, site
        tx.stmts.append(report.Stmt(site, report.normalize(statement), n))

    def _end(self, conn: Any, outcome: str) -> None:
        tx = self.open.pop(id(conn), None)
        if tx is not None and tx.stmts:  # asyncpg begins lazily: no statement, nothing on the wire
            tx.outcome = outcome
            self.txs.append(tx)

    def on_commit(self, conn: Any) -> None:
        self._end(conn, "commit")

    def on_rollback(self, conn: Any) -> None:
        self._end(conn, "rollback")


@contextlib.contextmanager
def counting_introspections(col: Collector) -> Iterator[None]:
    """asyncpg introspects a type the first time a connection meets one it does not know: one to three
    Executes on the wire (with JIT on, it turns JIT off and back around the query) that SQLAlchemy's
    events never see. Count the calls and their Executes (the flag is per task, so concurrent
    connections do not mix), so that the wire cross-check can account for them."""
    introspect, execute = Connection._introspect_types, Connection._Connection__execute
    inside: contextvars.ContextVar[bool] = contextvars.ContextVar("breakdown_introspecting", default=False)

    async def introspecting(self: Any, *args: Any, **kwargs: Any) -> Any:
        if col.recording:
            col.introspections += 1
        reset = inside.set(True)
        try:
            return await introspect(self, *args, **kwargs)
        finally:
            inside.reset(reset)

    async def executing(self: Any, *args: Any, **kwargs: Any) -> Any:
        if col.recording and inside.get():
            col.introspection_executes += 1
        return await execute(self, *args, **kwargs)

    Connection._introspect_types = introspecting
    Connection._Connection__execute = executing
    try:
        yield
    finally:
        Connection._introspect_types = introspect
        Connection._Connection__execute = execute


async def _quiet(runtime: Runtime, direct: asyncpg.Connection, col: Collector) -> None:
    """Wait until no consumer has lag, no outbox holds unpublished rows and no request, consumer or
    publishing relay has sent SQL for QUIET_SECONDS. `direct` bypasses the proxy and the engine, so
    these checks are not counted."""
    schemas = sorted({c.outbox.schema for c in runtime.components if c.outbox is not None})
    deadline = time.monotonic() + QUIET_LIMIT
    while time.monotonic() < deadline:
        lag = sum([await c.pending() for c in runtime.consumers])
        unpublished = 0
        for schema in schemas:
            unpublished += int(
                await direct.fetchval(f"SELECT count(*) FROM {schema}.outbox WHERE published_at IS NULL")
            )
        if lag == 0 and unpublished == 0 and time.monotonic() - col.last_busy >= QUIET_SECONDS:
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"breakdown: relays and consumers still busy after {QUIET_LIMIT:.0f} s")


async def _shoppers(http: httpx.AsyncClient, engines: BenchEngines, n: int) -> list[Shopper]:
    """One customer per listed product, each with a cart holding one unit of its own SKU, stock of
    every SKU set high enough that each order confirms (as in the checkout scenario)."""
    data = await gql(http, SKUS, {"n": n})
    skus = [e["node"]["variants"][0]["sku"] for e in data["products"]["edges"] if e["node"]["variants"]]
    if len(skus) < n:
        raise RuntimeError(f"breakdown: needs {n} listed products with variants, found {len(skus)}")
    await _top_up(engines, skus[:n])
    tag = secrets.token_hex(3)
    return [await _one_shopper(http, tag, i, sku) for i, sku in enumerate(skus[:n])]


async def _request(
    http: httpx.AsyncClient, phase: str, query: str, variables: dict[str, Any], token: str
) -> Any:
    reset = PHASE.set(phase)
    try:
        return await gql(http, query, variables, token)
    finally:
        PHASE.reset(reset)


async def _order(http: httpx.AsyncClient, shopper: Shopper) -> str:
    """Check out, poll `order(id)` if the answer was not terminal; the terminal status."""
    variables = {"c": shopper.cart, "a": ADDRESS, "k": secrets.token_hex(8)}
    data = await _request(http, "checkoutComplete", CHECKOUT, variables, shopper.token)
    order = data["checkoutComplete"]["order"]
    while order["status"] not in TERMINAL:
        await asyncio.sleep(0.02)
        data = await _request(http, "order (client poll)", ORDER, {"id": order["id"]}, shopper.token)
        order = data["order"]
    return str(order["status"])


async def measure(engines: BenchEngines, orders: int, top: int, concurrency: int = 1) -> report.Breakdown:
    print(f"breakdown: seeding the catalog in {engines.database} / {engines.namespace} …", flush=True)
    await seed(engines, (orders + WARMUP_ORDERS) * 5 // 4 + 5)  # about 10% of demo products are unpublished
    server = urlsplit(engines.server_url)
    proxy = CountingProxy(server.hostname or "127.0.0.1", server.port or 5432)
    proxy.start()
    settings = engines.settings().model_copy(
        update={
            "database_url": _via(engines.database_url, proxy.port),
            "checkout_wait_seconds": 10.0,
            "payments_sandbox_latency_ms": 0,
            "login_attempts_per_ip": 1_000_000,  # every shopper signs in from one address
            "cart_create_per_ip": 1_000_000,
            "checkout_per_customer": 1_000_000,  # a shopper checks out in a loop
        }
    )
    col = Collector()
    runtime = Runtime(settings)
    col.attach(runtime.db.engine)
    direct = await asyncpg.connect(_asyncpg_dsn(engines.database_url))
    started = False
    try:
        with counting_introspections(col):
            await runtime.start()
            started = True
            transport = httpx.ASGITransport(app=create_app(settings, runtime))
            base = "http://breakdown.test"
            async with httpx.AsyncClient(transport=transport, base_url=base, timeout=60) as http:
                shoppers = await _shoppers(http, engines, orders + WARMUP_ORDERS)
                # Unrecorded orders first: pool connections and asyncpg's type introspection (wire
                # traffic the engine events miss) mostly happen before the window.
                for shopper in shoppers[:WARMUP_ORDERS]:
                    await _order(http, shopper)
                shoppers = shoppers[WARMUP_ORDERS:]
                await _quiet(runtime, direct, col)
                print(f"breakdown: {orders} orders, {concurrency} at a time …", flush=True)
                before = proxy.snapshot()
                col.recording = True
                t0 = time.monotonic()
                latencies: list[float] = []
                outcomes: Counter[str] = Counter()
                slots = asyncio.Semaphore(concurrency)

                async def one(shopper: Shopper) -> None:
                    async with slots:
                        submitted = time.monotonic()
                        outcomes[await _order(http, shopper)] += 1
                        latencies.append(time.monotonic() - submitted)

                await asyncio.gather(*(one(shopper) for shopper in shoppers))
                orders_seconds = time.monotonic() - t0
                await _quiet(runtime, direct, col)
                window = time.monotonic() - t0
                col.recording = False
                middle = proxy.snapshot()
                busy = col.take(middle.minus(before))
                print(f"breakdown: idle window of {window:.1f} s …", flush=True)
                col.recording = True
                await asyncio.sleep(window)
                col.recording = False
                idle = col.take(proxy.snapshot().minus(middle))
    finally:
        if started:
            await runtime.stop()
        else:
            await runtime.engines.close()
        await direct.close()
        proxy.stop()
    latencies.sort()
    return report.Breakdown(
        orders=orders,
        outcomes=dict(outcomes),
        p50_ms=1000 * latencies[len(latencies) // 2],
        orders_seconds=orders_seconds,
        window_seconds=window,
        busy=busy,
        idle=idle,
        engines=_engines_text(engines),
        top=top,
    )


def _engines_text(engines: BenchEngines) -> str:
    versions = ", ".join(f"{name} {version}" for name, version in engines.versions.items())
    return f"{engines.label} ({versions})"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.breakdown", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--orders", type=int, default=20, help=f"orders to place (1-{MAX_ORDERS}; default 20)"
    )
    parser.add_argument("--top", type=int, default=30, help="normalized statements to list (default 30)")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=1,
        help="orders in flight at once (default 1: one after the other); each shopper orders once",
    )
    parser.add_argument("--output", type=Path, help="write the tables as markdown to this file")
    args = parser.parse_args(argv)
    if not 1 <= args.orders <= MAX_ORDERS:
        parser.error(f"--orders must be between 1 and {MAX_ORDERS}")
    if args.concurrency < 1:
        parser.error("--concurrency must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    urls = configured_urls()
    embedded = None
    if urls is None:
        print("breakdown: MERCATO_*_URL unset; starting embedded engines in a throwaway directory …")
        embedded, engines = start_embedded()
    else:
        database, nats, redis = (urls[name] for name in URL_VARS)
        engines = BenchEngines(database, nats, redis, embedded=False)
    try:
        try:
            asyncio.run(prepare(engines))
            result = asyncio.run(measure(engines, args.orders, args.top, args.concurrency))
        finally:
            try:
                asyncio.run(cleanup(engines))
            except Exception as exc:  # noqa: BLE001 - report, never mask the run's own error
                print(f"breakdown: cleanup of {engines.database} / {engines.namespace} failed: {exc!r}")
    finally:
        if embedded is not None:
            stop_embedded(embedded)
    if args.output is None:
        print()
        print(report.text(result))
        return 0
    command = " ".join(["python -m bench.breakdown", *map(shlex.quote, argv or sys.argv[1:])])
    args.output.write_text(report.markdown(result, command))
    print(report.summary_line(result))
    print(f"breakdown: wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
