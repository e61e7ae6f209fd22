#!/usr/bin/env python3
# ruff: noqa: T201 - a command-line tool: it reports on stdout
"""Measure each process of the distributed topology: RSS and CPU idle and under a burst through the
gateway (deploy/helm/mercato/README.md, "Sizing", records the results and the command).

    .venv/bin/python deploy/scripts/sizing.py \\
        --database-url postgresql://postgres@127.0.0.1:5432/postgres \\
        --nats-url nats://127.0.0.1:4222 --redis-url redis://127.0.0.1:6379/0

It creates a database of its own next to the one named (`sizing_<random>`), migrates and seeds it,
runs `mercato serve <context>` for every context and `mercato serve gateway` under a NATS/Redis
namespace of its own (`sizing<random>`), measures, then stops what it started (by pid), drops the
database, deletes the namespace's JetStream streams and Redis keys. Nobody else's data is touched.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[2]
MERCATO = str(ROOT / ".venv" / "bin" / "mercato")
CONTEXTS = ("catalog", "inventory", "cart", "customers", "payments", "orders")
GATEWAY_UPSTREAMS = ("catalog", "inventory", "cart", "customers", "orders")
LISTING = (
    "query($after: String) { products(first: 20, after: $after) { edges { node { name"
    " variants { sku price { amount currency } quantityAvailable } } } pageInfo { endCursor } } }"
)
CART_CREATE = "mutation { cartCreate { cart { id } errors { code } } }"
CART_ADD = (
    "mutation($c: ID!, $s: String!) { cartLinesAdd(cartId: $c, lines: [{sku: $s, quantity: 1}])"
    " { cart { itemCount total { amount } } errors { code } } }"
)
SIGN_IN = (
    'mutation($e: String!) { tokenCreate(input: {email: $e, password: "not-the-password-1"})'
    " { accessToken errors { code } } }"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Service:
    name: str
    args: list[str]
    env: dict[str, str]
    http: int
    grpc: int | None = None
    proc: subprocess.Popen[bytes] | None = None
    samples: list[float] = field(default_factory=list)

    def tree(self) -> list[psutil.Process]:
        assert self.proc is not None
        p = psutil.Process(self.proc.pid)
        return [p, *p.children(recursive=True)]

    def rss_mib(self) -> float:
        return sum(p.memory_info().rss for p in self.tree()) / 2**20

    def cpu_seconds(self) -> float:
        total = 0.0
        for p in self.tree():
            t = p.cpu_times()
            total += t.user + t.system
        return total


def database_url(base: str, name: str) -> str:
    head, _, _ = base.rpartition("/")
    return f"{head}/{name}"


async def admin_sql(url: str, statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def run(args: list[str], env: dict[str, str]) -> None:
    subprocess.run([MERCATO, *args], env=env, check=True, stdout=subprocess.DEVNULL)


async def wait_ready(client: httpx.AsyncClient, svc: Service, limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        assert svc.proc is not None
        if svc.proc.poll() is not None:
            raise RuntimeError(f"{svc.name} exited with {svc.proc.returncode}")
        try:
            r = await client.get(f"http://127.0.0.1:{svc.http}/readyz", timeout=2)
            body = r.json()
            upstreams = body.get("upstreams", {})
            if r.status_code == 200 and all(v == "SERVING" for v in upstreams.values()):
                return
        except (httpx.HTTPError, ValueError):
            pass
        await asyncio.sleep(0.5)
    raise RuntimeError(f"{svc.name} not ready after {limit}s")


async def window(
    services: list[Service], seconds: float, work: Callable[[], Any] | None = None
) -> dict[str, Any]:
    """CPU (cores, averaged over the window) and peak RSS of each service while `work` runs (or idle)."""
    cpu0 = {s.name: s.cpu_seconds() for s in services}
    peak = {s.name: s.rss_mib() for s in services}
    start = time.monotonic()
    stop = asyncio.Event()

    async def sample() -> None:
        while not stop.is_set():
            for s in services:
                peak[s.name] = max(peak[s.name], s.rss_mib())
            await asyncio.sleep(0.2)

    sampler = asyncio.create_task(sample())
    result = await work() if work is not None else await asyncio.sleep(seconds)
    stop.set()
    await sampler
    elapsed = time.monotonic() - start
    return {
        "seconds": round(elapsed, 1),
        "result": result,
        "cpu_cores": {s.name: round((s.cpu_seconds() - cpu0[s.name]) / elapsed, 3) for s in services},
        "peak_rss_mib": {s.name: round(peak[s.name], 1) for s in services},
        "rss_mib": {s.name: round(s.rss_mib(), 1) for s in services},
    }


async def gql(client: httpx.AsyncClient, url: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    r = await client.post(url, json={"query": query, "variables": variables}, timeout=30)
    body = r.json()
    if body.get("errors"):
        raise RuntimeError(f"GraphQL errors: {body['errors']}")
    return dict(body["data"])


async def burst(
    client: httpx.AsyncClient, url: str, n: int, concurrency: int, one: Callable[[int], Any]
) -> dict[str, Any]:
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)

    async def worker() -> None:
        while not queue.empty():
            i = queue.get_nowait()
            t = time.monotonic()
            await one(i)
            latencies.append(time.monotonic() - t)

    start = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.monotonic() - start
    latencies.sort()
    return {
        "requests": n,
        "concurrency": concurrency,
        "per_second": round(n / elapsed, 1),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000),
    }


async def measure(opts: argparse.Namespace, env: dict[str, str], services: list[Service]) -> dict[str, Any]:
    gateway = services[-1]
    url = f"http://127.0.0.1:{gateway.http}/graphql"
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=64)) as client:
        for svc in services:
            # Popen returns at once (no waiting on the loop); the processes are what we measure.
            svc.proc = subprocess.Popen(  # noqa: ASYNC220
                [MERCATO, *svc.args],
                env={**env, **svc.env},
                stdout=subprocess.DEVNULL,
                stderr=open(Path(opts.log_dir) / f"{svc.name}.log", "w"),  # noqa: SIM115, ASYNC230
            )
            if svc.name == "catalog":
                await wait_ready(client, svc)  # the cart needs it
        for svc in services:
            await wait_ready(client, svc)
        out: dict[str, Any] = {"ready_rss_mib": {s.name: round(s.rss_mib(), 1) for s in services}}
        await asyncio.sleep(opts.settle)
        out["idle"] = await window(services, opts.idle)

        skus: list[str] = []
        cursors: list[str | None] = [None]
        for _ in range(10):
            page = (await gql(client, url, LISTING, {"after": cursors[-1]}))["products"]
            skus += [
                v["sku"] for e in page["edges"] for v in e["node"]["variants"] if v["quantityAvailable"] > 0
            ]
            cursors.append(page["pageInfo"]["endCursor"])
        pages = [c for c in cursors if c is not None] or [None]

        async def listing(i: int) -> None:
            await gql(client, url, LISTING, {"after": pages[i % len(pages)]})

        async def cart(i: int) -> None:
            created = (await gql(client, url, CART_CREATE, {}))["cartCreate"]["cart"]["id"]
            for k in range(3):
                await gql(client, url, CART_ADD, {"c": created, "s": skus[(i * 3 + k) % len(skus)]})

        async def sign_in(i: int) -> None:
            await gql(client, url, SIGN_IN, {"e": f"nobody{i}@sizing.example"})

        n, c = opts.requests, opts.concurrency
        out["listings"] = await window(services, 0, lambda: burst(client, url, n, c, listing))
        out["carts"] = await window(services, 0, lambda: burst(client, url, n // 4, c, cart))
        out["sign_ins"] = await window(services, 0, lambda: burst(client, url, 16, 8, sign_in))
        await asyncio.sleep(5)
        out["after"] = {s.name: round(s.rss_mib(), 1) for s in services}
    return out


def stop(services: list[Service]) -> None:
    for svc in services:
        if svc.proc is not None and svc.proc.poll() is None:
            svc.proc.terminate()
    for svc in services:
        if svc.proc is not None:
            try:
                svc.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                svc.proc.kill()
                svc.proc.wait()


async def cleanup_engines(nats_url: str, redis_url: str, namespace: str) -> None:
    import nats
    from redis.asyncio import Redis

    nc = await nats.connect(nats_url)
    try:
        js = nc.jsm()
        for info in await js.streams_info():
            if info.config.name and info.config.name.lower().startswith(namespace):
                await js.delete_stream(info.config.name)
    finally:
        await nc.close()
    redis = Redis.from_url(redis_url)
    try:
        async for key in redis.scan_iter(match=f"{namespace}*"):
            await redis.delete(key)
    finally:
        await redis.aclose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--nats-url", required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--products", type=int, default=200)
    parser.add_argument("--settle", type=float, default=10)
    parser.add_argument("--idle", type=float, default=20)
    parser.add_argument("--requests", type=int, default=1500)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--log-dir", default=tempfile.gettempdir())
    parser.add_argument(
        "--topology",
        choices=["distributed", "single"],
        default="distributed",
        help="single: one `mercato serve`",
    )
    opts = parser.parse_args()

    tag = secrets.token_hex(4)
    namespace, dbname = f"sizing{tag}", f"sizing_{tag}"
    db_url = database_url(opts.database_url, dbname)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MERCATO_")},
        "MERCATO_DATABASE_URL": db_url,
        "MERCATO_NATS_URL": opts.nats_url,
        "MERCATO_REDIS_URL": opts.redis_url,
        "MERCATO_NAMESPACE": namespace,
        "MERCATO_AUTH_SECRET": secrets.token_urlsafe(40),
        "MERCATO_DATA_DIR": str(Path(tempfile.gettempdir()) / namespace),
        "MERCATO_LOG_LEVEL": "WARNING",
    }
    ports = {name: (free_port(), free_port()) for name in CONTEXTS}
    services = [
        Service(
            name,
            ["serve", name],
            {
                "MERCATO_GRPC_HOST": "127.0.0.1",
                "MERCATO_GRPC_PORT": str(grpc),
                "MERCATO_HTTP_PORT": str(http),
                **({"MERCATO_CATALOG_ADDRESS": f"127.0.0.1:{ports['catalog'][1]}"} if name == "cart" else {}),
            },
            http,
            grpc,
        )
        for name, (http, grpc) in ports.items()
    ]
    gateway_port = free_port()
    addresses = {f"MERCATO_{c.upper()}_ADDRESS": f"127.0.0.1:{ports[c][1]}" for c in GATEWAY_UPSTREAMS}
    services.append(
        Service(
            "gateway",
            ["serve", "gateway", "--port", str(gateway_port), "--workers", "1"],
            addresses,
            gateway_port,
        )
    )
    if opts.topology == "single":
        services = [
            Service("all", ["serve", "all", "--port", str(gateway_port), "--workers", "1"], {}, gateway_port)
        ]
    asyncio.run(admin_sql(opts.database_url, f'CREATE DATABASE "{dbname}"'))
    try:
        run(["migrate"], env)
        run(["seed", "--products", str(opts.products)], env)
        result = asyncio.run(measure(opts, env, services))
        result["setup"] = {"products": opts.products, "database": dbname, "namespace": namespace}
        print(json.dumps(result, indent=2))
    finally:
        stop(services)
        asyncio.run(admin_sql(opts.database_url, f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
        asyncio.run(cleanup_engines(opts.nats_url, opts.redis_url, namespace))
    return 0


if __name__ == "__main__":
    sys.exit(main())
