"""One fault run: the distributed topology (the `mercato up` launcher and supervisor) on a database
and namespace of its own, every engine and some service links behind the chaos proxy, shoppers and
staff for a budget while the seeded schedule injects faults; then everything healed, the orders
waited for (bounded) and the invariant checker run (`mercato verify`'s checks)."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx

from bench.chaos.engines import private_engine
from bench.chaos.faults import Injector
from bench.chaos.load import Load, Tally, catalog_items, sign_in, sign_up
from bench.chaos.options import Options
from bench.chaos.proxy import ProxyProcess
from bench.chaos.schedule import SERVICE_LINKS, Fault, draw
from bench.checkout import listed_skus
from bench.checkout_checks import set_stock
from bench.environment import BenchEngines, _asyncpg_dsn, cleanup, prepare, seed
from bench.server import free_port_block
from mercato.app.components import CONTEXTS, Engines, customers_component, redis_client
from mercato.app.invariants import SETTLED, Limits, Report, verify_when_quiet
from mercato.app.launcher import GATEWAY, Launcher, Ports
from mercato.customers.bootstrap import create_admin
from mercato.platform.config import Settings
from mercato.platform.db import Database

ADMIN_PASSWORD = "a long enough chaos admin password"
# An order is in flight while not settled or while its saga still awaits a deadline (invariants.py).
IN_FLIGHT = (
    "SELECT count(*) FROM orders.orders o LEFT JOIN orders.sagas s ON s.order_id = o.id "
    "WHERE NOT (o.status = ANY($1::text[])) OR s.deadline IS NOT NULL"
)


@dataclass
class Outcome:
    options: Options
    schedule: list[Fault]
    tally: Tally = field(default_factory=Tally)
    faults: Counter[str] = field(default_factory=Counter)  # what was done, by kind and target
    fault_log: list[str] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)  # orders in the database, by status
    reservations: Counter[str] = field(default_factory=Counter)  # stock reservations, by status
    settling: tuple[float, float, float] = (0.0, 0.0, 0.0)  # placement → terminal: median, p99, max (s)
    load_seconds: float = 0.0
    recovery_seconds: float = 0.0  # from the last fault's end to every service serving again
    terminal_seconds: float | None = None  # from recovery to every order terminal; None: not within bound
    in_flight_left: int = 0
    applied: int = 0  # scheduled faults applied
    heal_failures: list[str] = field(default_factory=list)
    report: Report | None = None
    log_dir: Path | None = None

    @property
    def every_fault_applied(self) -> bool:
        return self.applied == len(self.schedule) and not self.heal_failures

    @property
    def ok(self) -> bool:
        checked = self.report is not None and self.report.ok
        return checked and self.terminal_seconds is not None and self.every_fault_applied


def _via(url: str, address: str) -> str:
    """`url` with its host:port replaced by `address` (credentials kept)."""
    parts = urlsplit(url)
    user = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    return urlunsplit((parts.scheme, user + address, parts.path, parts.query, parts.fragment))


def _address(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname or '127.0.0.1'}:{parts.port}"


def _port_layout() -> dict[str, Ports]:
    base = free_port_block(1 + 2 * len(CONTEXTS))
    ports = {name: Ports(base + 1 + i, base + 1 + len(CONTEXTS) + i) for i, name in enumerate(CONTEXTS)}
    ports[GATEWAY] = Ports(base)
    return ports


@dataclass
class ChaosLauncher(Launcher):
    """The `mercato up` launcher whose services reach some contexts through the chaos proxy."""

    proxied: dict[str, str] = field(default_factory=dict)  # context -> proxy address

    def environment(self, name: str) -> dict[str, str]:
        env = super().environment(name)
        for context, address in self.proxied.items():
            env[f"MERCATO_{context.upper()}_ADDRESS"] = address
        return env


def service_settings(
    engines: BenchEngines, options: Options, proxy: ProxyProcess, data_dir: Path, clock_file: Path | None
) -> Settings:
    """What every service runs with: engines through the proxy, no rate limits (every shopper comes
    from 127.0.0.1), the sandbox's injected faults, short provider timeouts, and the clock offset
    file when clock jumps are scheduled (without, the services read the wall clock untouched)."""
    direct = engines.settings()
    return direct.model_copy(
        update={
            "database_url": _via(engines.database_url, proxy.address("postgres")),
            "nats_url": _via(engines.nats_url, proxy.address("nats")),
            "redis_url": _via(engines.redis_url, proxy.address("redis")),
            "data_dir": data_dir,
            "checkout_wait_seconds": 5.0,
            "login_attempts_per_ip": 1_000_000,
            "checkout_per_ip": 1_000_000,
            "access_token_ttl_seconds": 86_400,
            "reservation_ttl_seconds": options.reservation_ttl_seconds,
            "payments_sandbox_latency_ms": options.provider_latency_ms,
            "payments_sandbox_jitter_ms": options.provider_jitter_ms,
            "payments_sandbox_error_rate": options.provider_error_rate,
            "payments_sandbox_timeout_rate": options.provider_timeout_rate,
            "payments_provider_timeout_seconds": options.provider_timeout_seconds,
            "payments_lease_seconds": options.payments_lease_seconds,
            "clock_offset_file": clock_file,
        }
    )


async def _supervise(launcher: Launcher, until: asyncio.Event) -> None:
    """What `mercato up`'s loop does: restart (with backoff) what died."""
    while not until.is_set():
        launcher.supervise()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(0.5):
                await until.wait()


async def _wait_terminal(database_url: str, within: float) -> tuple[float | None, int]:
    """Seconds until no order is in flight (None if some still are after `within`), and how many."""
    conn = await asyncpg.connect(_asyncpg_dsn(database_url))
    started = time.monotonic()
    try:
        while True:
            left = int(await conn.fetchval(IN_FLIGHT, list(SETTLED)))
            if left == 0:
                return time.monotonic() - started, 0
            if time.monotonic() - started > within:
                return None, left
            await asyncio.sleep(0.5)
    finally:
        await conn.close()


# Seconds from an order's placement to its last status change (its terminal one, once settled).
SETTLING = (
    "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY s), percentile_cont(0.99) WITHIN GROUP (ORDER BY s), "
    "max(s) FROM (SELECT extract(epoch FROM max(h.at) - o.created_at)::float8 AS s FROM orders.orders o "
    "JOIN orders.status_history h ON h.order_id = o.id GROUP BY o.id, o.created_at) t"
)


async def _orders(database_url: str) -> tuple[Counter[str], Counter[str], tuple[float, float, float]]:
    """Orders by status (REJECTED by reason), reservations by status (EXPIRED: released by the
    expiry sweeper), and placement → terminal: (median, p99, max) seconds."""
    conn = await asyncpg.connect(_asyncpg_dsn(database_url))
    try:
        rows = await conn.fetch("SELECT status, reason, count(*) AS n FROM orders.orders GROUP BY 1, 2")
        held = await conn.fetch("SELECT status, count(*) AS n FROM inventory.reservations GROUP BY 1")
        settling = await conn.fetchrow(SETTLING)
    finally:
        await conn.close()
    statuses: Counter[str] = Counter()
    for row in rows:
        statuses[row["status"] + (f" ({row['reason']})" if row["reason"] else "")] += int(row["n"])
    reservations = Counter({str(row["status"]): int(row["n"]) for row in held})
    return statuses, reservations, (settling[0] or 0.0, settling[1] or 0.0, settling[2] or 0.0)


async def _check(engines: BenchEngines) -> Report:
    db = Database(engines.database_url, pool_size=1, application_name="chaos-verify")
    redis = redis_client(engines.redis_url)
    try:
        return await verify_when_quiet(db, redis, engines.namespace, limits=Limits(), within=30.0)
    finally:
        await redis.aclose()
        await db.dispose()


async def _staff_token(engines: BenchEngines, base_url: str) -> str:
    email = f"chaos-admin-{secrets.token_hex(3)}@example.com"
    built = Engines(engines.settings())
    try:
        await create_admin(customers_component(built).service, email, ADMIN_PASSWORD)
    finally:
        await built.close()
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        return await sign_in(http, {"email": email, "password": ADMIN_PASSWORD})


async def run_chaos(
    database_server_url: str,
    nats_url: str,
    redis_url: str,
    options: Options,
    say: Callable[[str], None] = print,
) -> Outcome:
    """The whole run against the given engines (`database_server_url`: any database of the server;
    the run creates its own). Private engines replace the shared ones named in `options.private`."""
    outcome = Outcome(options, draw(options.plan(), options.seed))
    began = time.monotonic()

    def note(line: str) -> None:
        say(f"[{time.monotonic() - began:5.0f} s] {line}")

    private = {name: private_engine(name) for name in options.private}
    data_dir = Path(tempfile.mkdtemp(prefix="mercato-chaos-"))
    clock_file = data_dir / "clock-offset" if options.clock_jumps else None
    outcome.log_dir = data_dir / "logs"
    proxy: ProxyProcess | None = None
    launcher: ChaosLauncher | None = None
    engines: BenchEngines | None = None
    supervised, supervisor = asyncio.Event(), None
    try:
        for engine in private.values():
            await asyncio.to_thread(engine.start)
        engines = BenchEngines(
            private["postgres"].url if "postgres" in private else database_server_url,
            private["nats"].url if "nats" in private else nats_url,
            private["redis"].url if "redis" in private else redis_url,
            embedded=False,
            namespace=f"chaos{secrets.token_hex(4)}",
        )
        await prepare(engines)
        summary, _ = await seed(engines, options.skus)
        note(f"chaos: database {engines.database}, namespace {engines.namespace}; {summary}")
        ports = _port_layout()
        upstreams = {
            "postgres": _address(engines.server_url),
            "nats": _address(engines.nats_url),
            "redis": _address(engines.redis_url),
            **{context: f"127.0.0.1:{ports[context].grpc}" for context in SERVICE_LINKS},
        }
        proxy = ProxyProcess(upstreams)
        settings = service_settings(engines, options, proxy, data_dir, clock_file)
        launcher = ChaosLauncher(
            settings, ports, log_dir=data_dir / "logs", proxied={c: proxy.address(c) for c in SERVICE_LINKS}
        )
        launcher.start()
        await launcher.wait_serving(within=180)
        note("chaos: every service serving")
        base_url = f"http://127.0.0.1:{ports[GATEWAY].http}"
        skus = await listed_skus(base_url, options.skus)
        await set_stock(engines, dict.fromkeys(skus, options.stock), others_to_zero=True)
        staff = await _staff_token(engines, base_url)
        shoppers = await sign_up(base_url, options.shoppers)
        items = await catalog_items(base_url, staff, skus)
        scheduled = len(outcome.schedule)
        note(f"chaos: {len(private)} private engine(s), {scheduled} faults scheduled (seed {options.seed}):")
        for fault in outcome.schedule:
            say(f"  {fault.describe()}")

        injector = Injector(launcher, proxy, private, clock_file)
        load = Load(base_url, shoppers, staff, items, options.seed, options.orders)
        supervisor = asyncio.ensure_future(_supervise(launcher, supervised))
        started = time.monotonic()
        stop_at = started + options.budget
        ended = asyncio.Event()
        playing = asyncio.ensure_future(injector.play(outcome.schedule, started, ended))
        try:
            # Until --orders were submitted and every fault applied and healed, or the budget ran out.
            outcome.tally = await load.run(stop_at, lambda: injector.settled)
        finally:
            outcome.load_seconds = time.monotonic() - started
            ended.set()
            await playing
        outcome.applied = injector.applied
        note(
            f"chaos: load done after {outcome.load_seconds:.0f} s, {injector.applied} of {scheduled} "
            "scheduled faults applied; healing"
        )
        await injector.heal_all()
        await launcher.wait_serving(within=180)
        recovered = time.monotonic()
        outcome.recovery_seconds = recovered - injector.last_heal
        outcome.faults, outcome.fault_log = injector.done, injector.log
        outcome.heal_failures = injector.heal_failures
        outcome.terminal_seconds, outcome.in_flight_left = await _wait_terminal(
            engines.database_url, options.terminal_within
        )
        terminal = outcome.terminal_seconds
        when = f"after {terminal:.1f} s" if terminal is not None else "NOT in time"
        note(f"chaos: serving again; every order terminal {when}")
        outcome.report = await _check(engines)
        outcome.statuses, outcome.reservations, outcome.settling = await _orders(engines.database_url)
    finally:
        supervised.set()
        if supervisor is not None:
            await supervisor
        if launcher is not None:
            await launcher.stop()
        if proxy is not None:
            proxy.stop()
        if engines is not None:
            with contextlib.suppress(Exception):
                await cleanup(engines)
        for engine in private.values():
            engine.remove(keep_logs_in=None if outcome.ok else data_dir / "logs")
    if outcome.ok:  # a failed run keeps the services' logs for whoever looks into it
        shutil.rmtree(data_dir, ignore_errors=True)
        outcome.log_dir = None
    return outcome
