"""CPU seconds of the Mercato process per confirmed order, single-process topology, in this process.

    .venv/bin/python -m bench.order_cpu [--orders 200] [--concurrency 32] [--profile STACKS.txt]

Runs the single-process topology in this process (one `Runtime`, the GraphQL app over httpx's ASGI
transport, as `bench.breakdown` does but without its per-statement attribution, which costs CPU of its
own) in a database and namespace of its own (`bench.environment`). Signs in one shopper per order with
one cart each (outside the measurement), places a few unrecorded orders (pools and type caches warm),
measures the process's idle CPU rate, then places N orders, C at a time, and waits until the relays and
consumers are quiet. The figure is this process's user + system CPU (`getrusage`) over the orders and
the drain, minus the idle rate over the same time, divided by the confirmed orders: everything Mercato
spends on an order (request, saga consumers, relays) plus the driver's own httpx client side, which is
the same for every commit compared. PostgreSQL's CPU per order is reported beside it: the user + system
CPU (/proc) of the backends connected to the run's database, over the same window net of their idle
rate (a backend that ends inside the window takes its CPU with it; the pool keeps them). NATS and
Redis are not counted.

The machine is shared: compare two commits as a ratio of runs made side by side, alternating.
`--profile` samples this process with py-spy (200 Hz, raw collapsed stacks) during the orders.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx

import mercato
from bench.checkout import ADDRESS, CHECKOUT, ORDER, SKUS, TERMINAL, Shopper, _one_shopper, gql
from bench.checkout_run import _top_up
from bench.environment import (
    URL_VARS,
    BenchEngines,
    cleanup,
    configured_urls,
    prepare,
    seed,
    wait_until_quiet,
)
from bench.listing_db import _backends, _cpu_of
from mercato.app.runtime import Runtime
from mercato.customers.adapters.passwords import Argon2Passwords
from mercato.gateway.app import create_app, settle_heap

WARMUP_ORDERS = 10
DISTINCT_SKUS = 40  # shoppers share SKUs round-robin (stock is topped up high): no hot row
IDLE_SECONDS = 3.0
QUIET_LIMIT = 120.0


def _cheap_passwords() -> None:
    """Shoppers sign up and in before the measurement; argon2's default cost (64 MiB, t=3) per
    password made that most of a run's time. The orders themselves hash no password."""
    defaults = Argon2Passwords.__init__.__kwdefaults__
    assert defaults is not None
    defaults.update(time_cost=1, memory_cost=8, parallelism=1)


async def _pg_cpu(engines: BenchEngines) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend connected to the run's database now."""
    return _cpu_of(await _backends(engines))


def _pg_spent(before: dict[int, float], after: dict[int, float]) -> float:
    """What the backends spent between two readings (one that connected meanwhile: all of its CPU)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _shoppers(http: httpx.AsyncClient, engines: BenchEngines, n: int) -> list[Shopper]:
    data = await gql(http, SKUS, {"n": DISTINCT_SKUS})
    skus = [e["node"]["variants"][0]["sku"] for e in data["products"]["edges"] if e["node"]["variants"]]
    await _top_up(engines, skus)
    tag = secrets.token_hex(3)
    sem = asyncio.Semaphore(16)

    async def one(i: int) -> Shopper:
        async with sem:
            return await _one_shopper(http, tag, i, skus[i % len(skus)])

    return list(await asyncio.gather(*(one(i) for i in range(n))))


async def _order(http: httpx.AsyncClient, shopper: Shopper) -> str:
    """Check out, poll `order(id)` if the answer was not terminal; the terminal status. (As
    `bench.breakdown` does; kept here so that this bench runs against older commits' code too.)"""
    variables = {"c": shopper.cart, "a": ADDRESS, "k": secrets.token_hex(8)}
    order = (await gql(http, CHECKOUT, variables, shopper.token))["checkoutComplete"]["order"]
    while order["status"] not in TERMINAL:
        await asyncio.sleep(0.02)
        order = (await gql(http, ORDER, {"id": order["id"]}, shopper.token))["order"]
    return str(order["status"])


def _py_spy(path: Path) -> subprocess.Popen[bytes]:
    exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    command = [exe, "record", "-f", "raw", "-r", "200", "-o", str(path), "--pid", str(os.getpid())]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def measure(
    engines: BenchEngines, orders: int, concurrency: int, profile: Path | None, pool_size: int | None
) -> str:
    _cheap_passwords()
    await seed(engines, DISTINCT_SKUS * 5 // 4 + 5)  # about 10% of demo products are unpublished
    settings = engines.settings().model_copy(
        update={
            "checkout_wait_seconds": 10.0,
            "payments_sandbox_latency_ms": 0,
            "login_attempts_per_ip": 1_000_000,  # every shopper signs in from one address
            "cart_create_per_ip": 1_000_000,
            "checkout_per_customer": 1_000_000,
        }
        | ({"db_pool_size": pool_size} if pool_size else {})
    )
    runtime = Runtime(settings)
    started = False
    try:
        await runtime.start()
        started = True
        transport = httpx.ASGITransport(app=create_app(settings, runtime))
        settle_heap(settings)  # what the app's lifespan does (httpx's transport runs no lifespan)
        async with httpx.AsyncClient(transport=transport, base_url="http://cpu.test", timeout=60) as http:
            shoppers = await _shoppers(http, engines, orders + WARMUP_ORDERS)
            await asyncio.gather(*(_order(http, s) for s in shoppers[:WARMUP_ORDERS]))
            shoppers = shoppers[WARMUP_ORDERS:]
            await wait_until_quiet(engines, QUIET_LIMIT)
            cpu0, pg0, t0 = _cpu(), await _pg_cpu(engines), time.monotonic()
            await asyncio.sleep(IDLE_SECONDS)
            pg_idle_rate = _pg_spent(pg0, await _pg_cpu(engines)) / (time.monotonic() - t0)
            idle_rate = (_cpu() - cpu0) / (time.monotonic() - t0)
            spy = _py_spy(profile) if profile is not None else None
            slots = asyncio.Semaphore(concurrency)
            outcomes: Counter[str] = Counter()

            async def one(shopper: Shopper) -> None:
                async with slots:
                    outcomes[await _order(http, shopper)] += 1

            pg0 = await _pg_cpu(engines)
            cpu0, t0 = _cpu(), time.monotonic()
            await asyncio.gather(*(one(s) for s in shoppers))
            placed = time.monotonic() - t0
            quiet, _ = await wait_until_quiet(engines, QUIET_LIMIT)
            cpu, seconds = _cpu() - cpu0, time.monotonic() - t0
            pg = _pg_spent(pg0, await _pg_cpu(engines))
            if spy is not None:
                spy.send_signal(signal.SIGINT)
                spy.wait(30)
    finally:
        if started:
            await runtime.stop()
        else:
            await runtime.engines.close()
    confirmed = outcomes.get("CONFIRMED", 0)
    net = cpu - idle_rate * seconds
    per_order = 1000 * net / confirmed if confirmed else float("nan")
    pg_per_order = 1000 * (pg - pg_idle_rate * seconds) / confirmed if confirmed else float("nan")
    return (
        f"order_cpu: {confirmed}/{orders} confirmed ({dict(outcomes)}), concurrency {concurrency}, "
        f"{orders / placed:.1f} orders/s, window {seconds:.1f} s (quiet: {quiet}); CPU {cpu:.2f} s, idle "
        f"{idle_rate:.3f} cores; **{per_order:.1f} CPU ms per confirmed order** ({mercato.__file__}, "
        f"pool {settings.db_pool_size}); PostgreSQL {pg:.2f} s, idle {pg_idle_rate:.3f} cores: "
        f"**{pg_per_order:.1f} PostgreSQL CPU ms per confirmed order**"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.order_cpu", description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=200, help="recorded orders (default 200)")
    parser.add_argument("--concurrency", type=int, default=32, help="orders in flight (default 32)")
    parser.add_argument("--profile", type=Path, help="py-spy raw stacks of the orders to this file")
    parser.add_argument("--pool-size", type=int, help="db_pool_size of the process (default: the setting's)")
    args = parser.parse_args(argv)
    urls = configured_urls()
    if urls is None:
        parser.error("set MERCATO_DATABASE_URL, MERCATO_NATS_URL and MERCATO_REDIS_URL")
    database, nats, redis = (urls[name] for name in URL_VARS)
    engines = BenchEngines(database, nats, redis, embedded=False)
    try:
        asyncio.run(prepare(engines))
        print(
            asyncio.run(measure(engines, args.orders, args.concurrency, args.profile, args.pool_size)),
            flush=True,
        )
    finally:
        try:
            asyncio.run(cleanup(engines))
        except Exception as exc:  # noqa: BLE001 - report, never mask the run's own error
            print(f"order_cpu: cleanup of {engines.database} / {engines.namespace} failed: {exc!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
