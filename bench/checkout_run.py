"""The checkout scenario end to end: shoppers and stock set up outside the measured windows, the cost
per order counted through a proxy (bench/pgwire.py), throughput and latency at several concurrency
levels (through the same proxy, so each level has its statements and commits per order, unless
`--direct`), a hot-SKU run (every shopper buys one SKU) and a rush (N shoppers at once for U units),
then PostgreSQL's commit ceiling. Everything but the ceiling is measured for each topology
(bench/server.py): the same shoppers, carts and stock."""

from __future__ import annotations

import asyncio
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench import checkout, commits, machine, profile
from bench.checkout_checks import StockCheck, Trouble, TroubleWatch, set_stock, stock_check
from bench.checkout_rush import RushResult, rush
from bench.checkout_wire import run_fast
from bench.environment import BenchEngines, _asyncpg_dsn, wait_until_quiet
from bench.pgwire import CountingProxy, WireCounts
from bench.server import SINGLE, Server, running, topology_server

STOCK = 1_000_000  # units per SKU: every order can confirm
STATS_SETTLE = 11.0  # PostgreSQL backends flush pg_stat_database at least every 10 s when idle
READY_TIMEOUT = 150.0  # `mercato up` starts seven processes on a shared 2-CPU machine
SERVER_ENV = {
    "MERCATO_CHECKOUT_WAIT_SECONDS": "10",  # checkoutComplete answers with the terminal state
    "MERCATO_PAYMENTS_SANDBOX_LATENCY_MS": "0",
    "MERCATO_LOGIN_ATTEMPTS_PER_IP": "10000",  # every shopper signs in from 127.0.0.1
    "MERCATO_CART_CREATE_PER_IP": "1000000",
    "MERCATO_CHECKOUT_PER_CUSTOMER": "1000000",  # a shopper checks out in a loop
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
class HotRun:
    """Every shopper buying the same SKU (stock enough for the whole run), per topology."""

    topology: str
    sku: str
    levels: list[checkout.LevelResult] = field(default_factory=list)
    stock: StockCheck | None = None
    trouble: Trouble | None = None


@dataclass(frozen=True)
class Plan:
    levels: list[int]  # distinct-SKU concurrency levels
    cost_orders: int  # 0: no cost run
    topologies: list[str]
    hot: list[int] | None = None  # hot-SKU levels; None: the best distinct level; []: no hot run
    rush: tuple[int, int] | None = None  # (shoppers, units)
    count_wire: bool = True  # throughput servers talk to PostgreSQL through the counting proxy

    @property
    def pool(self) -> int:
        """Shoppers to register: enough for every run."""
        return max([*self.levels, self.cost_orders, *(self.hot or []), self.rush[0] if self.rush else 0])


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
    hot: list[HotRun] = field(default_factory=list)
    rush: list[RushResult] = field(default_factory=list)
    wire_counted: bool = False  # the levels went through the counting proxy

    def best(self, topology: str) -> checkout.LevelResult | None:
        """The distinct-SKU level with the most confirmed orders/s."""
        mine = [r for t, r in self.levels if t == topology]
        return max(mine, key=lambda r: r.orders_per_s) if mine else None

    def idle_per_s(self, topology: str, counter: str) -> float:
        """The background rate of a wire counter (relays, sweepers) from the cost run's idle window."""
        cost = self.costs.get(topology)
        if cost is None or not cost.window_seconds:
            return 0.0
        return float(getattr(cost.wire_idle, counter)) / cost.window_seconds


def _via(url: str, port: int) -> str:
    parts = urlsplit(url)
    user = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    return urlunsplit((parts.scheme, f"{user}127.0.0.1:{port}", parts.path, parts.query, parts.fragment))


async def _top_up(engines: BenchEngines, skus: list[str]) -> None:
    """Set one stock row of each SKU to STOCK units (bench.breakdown uses it too)."""
    await set_stock(engines, dict.fromkeys(skus, STOCK))


class CheckoutBench:
    def __init__(self, engines: BenchEngines, workers: int, plan: Plan) -> None:
        self.engines = engines
        self.workers = workers
        self.plan = plan
        self.shoppers: list[checkout.Shopper] = []
        self.own: list[str] = []  # each shopper's own SKU (the distinct-SKU runs)
        self.special: dict[tuple[str, str], str] = {}  # ("hot"|"rush", topology) → its SKU
        self.results = CheckoutResults(shoppers=plan.pool, skus=0, wire_counted=plan.count_wire)
        self._proxy: CountingProxy | None = None

    @property
    def proxy(self) -> CountingProxy:
        if self._proxy is None:
            parts = urlsplit(self.engines.server_url)
            self._proxy = CountingProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
            self._proxy.start()
        return self._proxy

    def close(self) -> None:
        if self._proxy is not None:
            self._proxy.stop()
            self._proxy = None

    def _env(self, counted: bool) -> dict[str, str]:
        env = {**self.engines.server_env(), **SERVER_ENV}
        if counted:
            env["MERCATO_DATABASE_URL"] = _via(self.engines.database_url, self.proxy.port)
        return env

    def _quiet(self) -> None:
        quiet, waited = asyncio.run(wait_until_quiet(self.engines, 120))
        if not quiet:
            self.results.notes.append(f"outbox/streams not drained after {waited:.0f} s")

    def _stats(self) -> tuple[WireCounts, tuple[int, int]]:
        dsn = _asyncpg_dsn(self.engines.database_url)
        return self.proxy.snapshot(), asyncio.run(commits.xact_commits(dsn, self.engines.database))

    def _carts(self, server: Server, shoppers: list[checkout.Shopper]) -> None:
        """Quiet consumers first (a late cart-emptying must not land after the refill)."""
        self._quiet()

        async def prepare() -> None:
            probe = checkout.CartProbe(self.engines.redis_url, self.engines.namespace)
            try:
                await checkout.prepare_carts(server.base_url, shoppers, probe)
            finally:
                await probe.close()

        asyncio.run(prepare())

    def setup_and_cost(self) -> None:
        """For each topology, a server talking to PostgreSQL through the counting proxy: shoppers and
        stock are set up (by the first), then K sequential orders (one per shopper, carts already
        filled) and an idle window."""
        if not self.plan.cost_orders:
            return
        for topology in self.plan.topologies:
            server = topology_server(topology, self._env(counted=True), self.workers)
            print(f"bench: checkout cost, {topology} topology: starting it …", flush=True)
            with running(server, "/readyz", timeout=READY_TIMEOUT):
                if not self.shoppers:
                    self._setup(server)
                self._carts(server, self.shoppers[: self.plan.cost_orders])
                time.sleep(STATS_SETTLE)
                self.results.costs[topology] = self._cost(server)

    def _setup(self, server: Server) -> None:
        count, topologies = self.plan.pool, self.plan.topologies
        skus = asyncio.run(checkout.listed_skus(server.base_url, count + 2 * len(topologies)))
        own, extra = skus[:count], skus[count:]
        self.special = {(kind, t): extra.pop(0) for t in topologies for kind in ("hot", "rush")}
        asyncio.run(_top_up(self.engines, own))
        started = time.perf_counter()
        self.shoppers = asyncio.run(checkout.make_shoppers(server.base_url, own))
        self.own = list(own)
        self.results.skus = len(own)
        print(
            f"bench: {len(self.shoppers)} shoppers registered, signed in, one cart each "
            f"({time.perf_counter() - started:.1f} s); {len(own)} SKUs at {STOCK:,} units",
            flush=True,
        )

    def _cost(self, server: Server) -> Cost:
        batch = self.shoppers[: self.plan.cost_orders]
        print(f"bench: checkout cost: {len(batch)} sequential orders, counted on the wire …", flush=True)
        w0, x0 = self._stats()
        result, seconds = asyncio.run(checkout.sequential(server.base_url, batch))
        time.sleep(STATS_SETTLE)
        w1, x1 = self._stats()
        window = seconds + STATS_SETTLE
        print(f"bench: idle baseline over the same {window:.1f} s …", flush=True)
        time.sleep(window)
        w2, x2 = self._stats()
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
        """For each topology, a fresh server: each concurrency level in a closed loop, then the hot
        SKU and the rush (the profile, if asked for, of the single topology only)."""
        plan = self.plan
        for topology in plan.topologies:
            server = topology_server(topology, self._env(plan.count_wire), self.workers)
            print(f"bench: checkout throughput, {topology} topology: starting it …", flush=True)
            with running(server, "/readyz", timeout=READY_TIMEOUT):
                if not self.shoppers:
                    self._setup(server)
                self._point(self.shoppers, None)
                self._carts(server, self.shoppers[: max(plan.levels)])
                for level in plan.levels:
                    result = self._level(server, topology, level, seconds, warmup, idle_wait, "distinct")
                    self.results.levels.append((topology, result))
                if profile_seconds and topology == SINGLE:
                    self._profile(server, max(plan.levels), profile_seconds)
                if plan.hot != []:
                    self._hot(server, topology, seconds, warmup, idle_wait)
                if plan.rush is not None:
                    self._rush(server, topology)

    def _point(self, shoppers: list[checkout.Shopper], sku: str | None) -> None:
        """Point shoppers at one SKU, or (None) back at their own."""
        for i, s in enumerate(shoppers):
            s.sku = sku if sku is not None else self.own[i]

    def _level(
        self,
        server: Server,
        topology: str,
        level: int,
        seconds: float,
        warmup: float,
        idle_wait: float,
        kind: str,
    ) -> checkout.LevelResult:
        _wait_idle(idle_wait)
        label = f"checkout ({topology}, {kind} SKUs)" if kind != "hot" else f"checkout ({topology}, hot SKU)"
        print(f"bench: {label} at {level} shoppers: {warmup:g} s warm-up, {seconds:g} s …", flush=True)
        others = machine.OtherLoad()
        others.start()
        parts = machine.ComponentCpu()
        parts.start()
        wire = self.proxy.snapshot if self.plan.count_wire else None

        async def go() -> checkout.LevelResult:
            probe = checkout.CartProbe(self.engines.redis_url, self.engines.namespace)
            try:
                shoppers = self.shoppers[:level]
                return await checkout.drive(server.base_url, shoppers, warmup, seconds, 50_000, probe, wire)
            finally:
                await probe.close()

        proxy_cpu, started = self.proxy.cpu_seconds() if wire else 0.0, time.perf_counter()
        result = run_fast(go)
        if wire is not None:
            result.proxy_cpu = (self.proxy.cpu_seconds() - proxy_cpu) / (time.perf_counter() - started)
        result.cpu = parts.stop()
        share, top = others.stop()
        if share > 10:
            run = f"{level}-shopper {topology} {kind} run"
            self.results.notes.append(f"other processes used {share:.0f}% of a CPU during the {run} ({top})")
        per = result.per_order("statements")
        cost = (
            f", {per:.1f} statements and {result.per_order('commits') or 0:.1f} COMMITs/order" if per else ""
        )
        print(
            f"bench: {level} shoppers ({topology}, {kind}): {result.orders_per_s:,.1f} confirmed orders/s, "
            f"p50 {result.ms(50):.1f} ms, p99 {result.ms(99):.1f} ms, not confirmed {result.not_confirmed}, "
            f"PENDING answers {result.pending_answers}{cost}",
            flush=True,
        )
        spent = ", ".join(f"{part} {ms:.1f}" for part, ms in result.cpu_ms_per_order().items())
        print(f"bench: CPU ms per confirmed order: {spent}", flush=True)
        return result

    def _hot(self, server: Server, topology: str, seconds: float, warmup: float, idle_wait: float) -> None:
        best = self.results.best(topology)
        levels = self.plan.hot or ([best.concurrency] if best is not None else [])
        if not levels:
            return
        run = HotRun(topology, self.special[("hot", topology)])
        self.results.hot.append(run)
        shoppers = self.shoppers[: max(levels)]
        asyncio.run(set_stock(self.engines, {run.sku: STOCK}, others_to_zero=True))
        self._point(shoppers, run.sku)
        self._carts(server, shoppers)
        watch = TroubleWatch(self.engines, server)
        asyncio.run(watch.begin())
        for level in levels:
            run.levels.append(self._level(server, topology, level, seconds, warmup, idle_wait, "hot"))
        self._quiet()
        run.trouble = asyncio.run(watch.finish())
        run.stock = asyncio.run(stock_check(self.engines, run.sku, STOCK))
        self._point(shoppers, None)
        print(f"bench: hot SKU ({topology}): {run.stock.text()}; {run.trouble.text()}", flush=True)

    def _rush(self, server: Server, topology: str) -> None:
        assert self.plan.rush is not None
        n, units = self.plan.rush
        result = RushResult(topology, n, units, self.special[("rush", topology)])
        shoppers = self.shoppers[:n]
        asyncio.run(set_stock(self.engines, {result.sku: units}, others_to_zero=True))
        self._point(shoppers, result.sku)
        self._carts(server, shoppers)
        watch = TroubleWatch(self.engines, server)
        asyncio.run(watch.begin())
        print(f"bench: rush ({topology}): {n} shoppers at once for {units} units …", flush=True)
        asyncio.run(rush(server.base_url, _asyncpg_dsn(self.engines.database_url), shoppers, result))
        self._quiet()
        result.trouble = asyncio.run(watch.finish())
        result.stock = asyncio.run(stock_check(self.engines, result.sku, units))
        self._point(shoppers, None)
        self.results.rush.append(result)
        print(
            f"bench: rush ({topology}): settled in {result.settle_s:.2f} s (shoppers saw every answer "
            f"after {result.answered_s:.2f} s), {result.pending_first} first answers PENDING, "
            f"{result.confirmed} confirmed ({result.db_confirmed} in the database), carts emptied "
            f"{result.carts_emptied}/{result.confirmed}"
            + (f" in {result.carts_emptied_s:.2f} s" if result.carts_emptied_s is not None else "")
            + f"; {result.stock.text()}",
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
        self._carts(server, self.shoppers[:level])
        recorder = profile.start(exe, workers[0].pid, seconds, raw)
        time.sleep(0.5)

        async def go() -> None:
            probe = checkout.CartProbe(self.engines.redis_url, self.engines.namespace)
            try:
                await checkout.drive(server.base_url, self.shoppers[:level], 0, seconds + 1, 50_000, probe)
            finally:
                await probe.close()

        run_fast(go)
        self.results.profile = profile.finish(recorder, raw)

    def ceiling(self, seconds: float) -> None:
        dsn = _asyncpg_dsn(self.engines.database_url)
        levels = sorted({*self.plan.levels, *(r.concurrency for h in self.results.hot for r in h.levels)})
        self.results.pg_settings = asyncio.run(commits.settings(dsn))
        self.results.ceiling = commits.measure(dsn, self.engines.embedded, levels, seconds)


def _wait_idle(limit: float) -> None:
    deadline = time.monotonic() + limit
    busy, _ = machine.busy()
    while busy > 15 and time.monotonic() < deadline:
        busy, _ = machine.busy()
