"""The checkout scenario end to end: shoppers and stock set up outside the measured windows, the cost
per order counted through a proxy (bench/pgwire.py), throughput and latency at several concurrency
levels against a server talking to PostgreSQL directly, then PostgreSQL's commit ceiling. The cost and
the throughput are measured for each topology (bench/server.py): the same shoppers, carts and stock."""

from __future__ import annotations

import asyncio
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from bench import checkout, commits, machine, profile
from bench.environment import BenchEngines, _asyncpg_dsn, wait_until_quiet
from bench.pgwire import CountingProxy, WireCounts
from bench.server import SINGLE, Server, running, topology_server
from bench.validate import BadResponse

STOCK = 1_000_000  # units per SKU: every order can confirm
STATS_SETTLE = 11.0  # PostgreSQL backends flush pg_stat_database at least every 10 s when idle
READY_TIMEOUT = 150.0  # `mercato up` starts seven processes on a shared 2-CPU machine
SERVER_ENV = {
    "MERCATO_CHECKOUT_WAIT_SECONDS": "10",  # checkoutComplete answers with the terminal state
    "MERCATO_PAYMENTS_SANDBOX_LATENCY_MS": "0",
    "MERCATO_LOGIN_ATTEMPTS_PER_IP": "10000",  # every shopper signs in from 127.0.0.1
}


@dataclass
class Cost:
    orders: int
    confirmed: int
    batch_seconds: float
    window_seconds: float  # batch + settle; the idle baseline spans the same time
    wire: WireCounts  # during the window with K orders
    wire_idle: WireCounts  # during an idle window of the same length
    xact: tuple[int, int]  # (commits, rollbacks) from pg_stat_database, window with orders
    xact_idle: tuple[int, int]
    latencies_ms: list[float] = field(default_factory=list)


@dataclass
class CheckoutResults:
    shoppers: int
    skus: int
    levels: list[tuple[str, checkout.LevelResult]] = field(default_factory=list)  # (topology, level)
    costs: dict[str, Cost] = field(default_factory=dict)  # by topology
    ceiling: list[commits.CeilingRow] = field(default_factory=list)
    pg_settings: str = ""
    notes: list[str] = field(default_factory=list)
    profile: profile.Profile | None = None


def _via(url: str, port: int) -> str:
    parts = urlsplit(url)
    user = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    return urlunsplit((parts.scheme, f"{user}127.0.0.1:{port}", parts.path, parts.query, parts.fragment))


async def _top_up(engines: BenchEngines, skus: list[str]) -> None:
    """Set one stock row of each SKU to STOCK units, through the inventory service."""
    from mercato.app.runtime import Runtime
    from mercato.inventory import AdjustmentReason, AdjustStock

    conn = await asyncpg.connect(_asyncpg_dsn(engines.database_url))
    try:
        rows = await conn.fetch(
            "SELECT DISTINCT ON (sku) sku, warehouse_id FROM inventory.stock WHERE sku = ANY($1::text[]) "
            "ORDER BY sku, warehouse_id",
            skus,
        )
    finally:
        await conn.close()
    if len(rows) < len(skus):
        raise BadResponse(f"checkout: only {len(rows)} of {len(skus)} SKUs have a stock row")
    runtime = Runtime(engines.settings())
    try:
        for row in rows:
            cmd = AdjustStock(
                sku=row["sku"],
                warehouse_id=row["warehouse_id"],
                reason=AdjustmentReason.COUNTED.name,
                actor="bench",
                set_on_hand=STOCK,
                note="checkout benchmark",
            )
            await runtime.inventory.handle(cmd)
    finally:
        await runtime.stop()


class CheckoutBench:
    def __init__(
        self,
        engines: BenchEngines,
        workers: int,
        levels: list[int],
        cost_orders: int,
        topologies: list[str],
    ) -> None:
        self.engines = engines
        self.workers = workers
        self.levels = levels
        self.cost_orders = cost_orders
        self.topologies = topologies
        self.shoppers: list[checkout.Shopper] = []
        self.results = CheckoutResults(shoppers=max(max(levels), cost_orders), skus=0)

    def _env(self, database_url: str | None = None) -> dict[str, str]:
        env = {**self.engines.server_env(), **SERVER_ENV}
        if database_url is not None:
            env["MERCATO_DATABASE_URL"] = database_url
        return env

    def _quiet(self) -> None:
        quiet, waited = asyncio.run(wait_until_quiet(self.engines, 120))
        if not quiet:
            self.results.notes.append(f"outbox/streams not drained after {waited:.0f} s")

    def _stats(self, proxy: CountingProxy) -> tuple[WireCounts, tuple[int, int]]:
        dsn = _asyncpg_dsn(self.engines.database_url)
        return proxy.snapshot(), asyncio.run(commits.xact_commits(dsn, self.engines.database))

    def setup_and_cost(self) -> None:
        """For each topology, a server talking to PostgreSQL through the counting proxy: shoppers and
        stock are set up (by the first), then K sequential orders (one per shopper, carts already
        filled) and an idle window."""
        parts = urlsplit(self.engines.server_url)
        proxy = CountingProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
        proxy.start()
        try:
            for topology in self.topologies:
                env = self._env(_via(self.engines.database_url, proxy.port))
                server = topology_server(topology, env, self.workers)
                print(f"bench: checkout cost, {topology} topology: starting it …", flush=True)
                with running(server, "/readyz", timeout=READY_TIMEOUT):
                    if self.shoppers:  # the previous topology's cost run emptied those carts
                        asyncio.run(checkout.refill(server.base_url, self.shoppers))
                    else:
                        self._setup(server)
                    self._quiet()
                    time.sleep(STATS_SETTLE)
                    self.results.costs[topology] = self._cost(server, proxy)
        finally:
            proxy.stop()

    def _setup(self, server: Server) -> None:
        count = self.results.shoppers
        skus = asyncio.run(checkout.listed_skus(server.base_url, count))
        asyncio.run(_top_up(self.engines, skus))
        started = time.perf_counter()
        self.shoppers = asyncio.run(checkout.make_shoppers(server.base_url, skus))
        self.results.skus = len(skus)
        print(
            f"bench: {len(self.shoppers)} shoppers registered, signed in, one cart each "
            f"({time.perf_counter() - started:.1f} s); {len(skus)} SKUs at {STOCK:,} units",
            flush=True,
        )

    def _cost(self, server: Server, proxy: CountingProxy) -> Cost:
        batch = self.shoppers[: self.cost_orders]
        print(f"bench: checkout cost: {len(batch)} sequential orders, counted on the wire …", flush=True)
        w0, x0 = self._stats(proxy)
        result, seconds = asyncio.run(checkout.sequential(server.base_url, batch))
        time.sleep(STATS_SETTLE)
        w1, x1 = self._stats(proxy)
        window = seconds + STATS_SETTLE
        print(f"bench: idle baseline over the same {window:.1f} s …", flush=True)
        time.sleep(window)
        w2, x2 = self._stats(proxy)
        return Cost(
            orders=len(batch),
            confirmed=result.confirmed,
            batch_seconds=seconds,
            window_seconds=window,
            wire=w1.minus(w0),
            wire_idle=w2.minus(w1),
            xact=(x1[0] - x0[0], x1[1] - x0[1]),
            xact_idle=(x2[0] - x1[0], x2[1] - x1[1]),
            latencies_ms=[1000 * s for s in result.latencies],
        )

    def throughput(self, seconds: float, warmup: float, idle_wait: float, profile_seconds: int) -> None:
        """For each topology, a fresh server talking to PostgreSQL directly: each concurrency level
        in a closed loop (the profile, if asked for, of the single topology only)."""
        for topology in self.topologies:
            server = topology_server(topology, self._env(), self.workers)
            print(f"bench: checkout throughput, {topology} topology: starting it …", flush=True)
            with running(server, "/readyz", timeout=READY_TIMEOUT):
                asyncio.run(checkout.refill(server.base_url, self.shoppers))
                self._quiet()
                for level in self.levels:
                    self._level(server, topology, level, seconds, warmup, idle_wait)
                if profile_seconds and topology == SINGLE:
                    self._profile(server, max(self.levels), profile_seconds)

    def _level(
        self, server: Server, topology: str, level: int, seconds: float, warmup: float, idle_wait: float
    ) -> None:
        _wait_idle(idle_wait)
        print(
            f"bench: checkout ({topology}) at {level} shoppers: {warmup:g} s warm-up, {seconds:g} s …",
            flush=True,
        )
        others = machine.OtherLoad()
        others.start()
        result = asyncio.run(
            checkout.drive(server.base_url, self.shoppers[:level], warmup, seconds, max_orders=50_000)
        )
        share, top = others.stop()
        if share > 10:
            run = f"{level}-shopper {topology} run"
            self.results.notes.append(f"other processes used {share:.0f}% of a CPU during the {run} ({top})")
        self.results.levels.append((topology, result))
        print(
            f"bench: {level} shoppers ({topology}): {result.orders_per_s:,.1f} confirmed orders/s, "
            f"p50 {result.ms(50):.1f} ms, p99 {result.ms(99):.1f} ms, not confirmed {result.not_confirmed}",
            flush=True,
        )

    def _profile(self, server: Server, level: int, seconds: int) -> None:
        exe, workers = profile.py_spy(), server.workers()
        if exe is None or not workers:
            print("bench: no py-spy or no worker to profile; skipping the checkout profile")
            return
        raw = Path(tempfile.mkdtemp(prefix="bench-profile-")) / "checkout.collapsed.txt"
        print(
            f"bench: profiling worker {workers[0].pid} for {seconds} s at {level} shoppers → {raw}",
            flush=True,
        )
        recorder = profile.start(exe, workers[0].pid, seconds, raw)
        time.sleep(0.5)
        asyncio.run(checkout.drive(server.base_url, self.shoppers[:level], 0, seconds + 1, max_orders=50_000))
        self.results.profile = profile.finish(recorder, raw)

    def ceiling(self, seconds: float) -> None:
        dsn = _asyncpg_dsn(self.engines.database_url)
        self.results.pg_settings = asyncio.run(commits.settings(dsn))
        self.results.ceiling = commits.measure(dsn, self.engines.embedded, self.levels, seconds)


def _wait_idle(limit: float) -> None:
    deadline = time.monotonic() + limit
    busy, _ = machine.busy()
    while busy > 15 and time.monotonic() < deadline:
        busy, _ = machine.busy()
