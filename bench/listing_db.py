"""The uncached storefront listing mix through the whole gateway app in process, against a seeded
database: requests/s per worker, the worker's and PostgreSQL's CPU per request, statements per page,
for this code and (`--baseline REV`) an earlier commit, side by side in one run.

    python -m bench.listing_db [--products 200] [--seconds 20] [--baseline main] [--concurrency 8]
        [--profile DIR] [--profile-seconds 15]

`bench/graphql_exec.py` measures GraphQL execution alone, on a catalog in memory; this measures what
`bench.run --scenario listing-mix` serves (the app of `mercato serve` with `MERCATO_CACHE_ENABLED=false`:
ASGI middleware, GraphQL, the catalog's queries, SQLAlchemy, asyncpg, PostgreSQL), without uvicorn's
HTTP and without wrk, so that one worker can be measured and profiled on a shared machine. Each code
runs in a worker process of its own (its own pool of `--concurrency` connections); the run alternates
between them in slices of `--slice` seconds, so a change in the machine's load slows them alike:
compare the ratios. PostgreSQL's CPU per request is read from /proc for the backends connected to the
run's database (only the worker whose slice runs is busy), so it needs PostgreSQL on this machine.
Every worker first answers the whole mix once and reports the digest of its responses: the run stops
if two disagree. Needs MERCATO_DATABASE_URL / MERCATO_NATS_URL / MERCATO_REDIS_URL (a database and a
namespace of its own, removed at the end, as `bench.run` does).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
import orjson

from bench.environment import BenchEngines, _asyncpg_dsn, cleanup, configured_urls, prepare, seed
from bench.graphql_exec import _baseline_src
from bench.slices import SliceWorker

ROOT = Path(__file__).resolve().parents[1]
_TICK = os.sysconf("SC_CLK_TCK")


# ---- the worker: the app on a Runtime, driven through ASGI ----------------------------------------


class _Driver:
    def __init__(self, app: Any, bodies: list[bytes]) -> None:
        self.app = app
        self.bodies = bodies

    async def request(self, body: bytes) -> tuple[int, bytes]:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/graphql",
            "raw_path": b"/graphql",
            "query_string": b"",
            "root_path": "",
            "headers": [
                (b"host", b"bench"),
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
            "client": ("127.0.0.1", 50000),
            "server": ("bench", 80),
            "state": {},
        }
        sent = False
        status = 0
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return status, b"".join(chunks)

    async def run_for(self, seconds: float, concurrency: int, start_index: int) -> tuple[int, int]:
        deadline = time.perf_counter() + seconds
        done = 0
        index = start_index

        async def client() -> None:
            nonlocal done, index
            while time.perf_counter() < deadline:
                body = self.bodies[index % len(self.bodies)]
                index += 1
                status, _ = await self.request(body)
                if status != 200:
                    raise RuntimeError(f"HTTP {status}")
                done += 1

        await asyncio.gather(*(client() for _ in range(concurrency)))
        return done, index


async def _worker(concurrency: int) -> None:
    from bench.storefront_data import listing_mix
    from mercato.app.runtime import Runtime
    from mercato.gateway.app import create_app, settle_heap
    from mercato.platform.config import Settings

    settings = Settings()
    assert not settings.cache_enabled, "the listing mix is measured uncached"
    runtime = Runtime(settings)
    await runtime.start(background=False)
    app = create_app(settings, runtime)
    driver = _Driver(app, [orjson.dumps({"query": q}) for q in listing_mix()])
    digest = hashlib.sha256()
    statements = 0
    for body in driver.bodies:
        with runtime.db.count_statements() as counted:
            status, answer = await driver.request(body)
        statements += counted.count
        decoded = orjson.loads(answer)
        if status != 200 or decoded.get("errors") or not decoded["data"]["products"]["edges"]:
            raise RuntimeError(f"bad answer to {body[:120]!r}: {status} {answer[:300]!r}")
        digest.update(orjson.dumps(decoded["data"]))
    settle_heap(settings)
    print(f"ready {digest.hexdigest()[:16]} {statements / len(driver.bodies):.2f}", flush=True)
    index = 0
    for line in iter(sys.stdin.readline, ""):
        seconds = float(line)
        cpu = time.process_time()
        start = time.perf_counter()
        done, index = await driver.run_for(seconds, concurrency, index)
        elapsed = time.perf_counter() - start
        print(f"{done} {elapsed:.6f} {time.process_time() - cpu:.6f}", flush=True)
    await runtime.stop()


# ---- the run -------------------------------------------------------------------------------------


class Worker(SliceWorker):
    def __init__(self, label: str, src: Path, env: dict[str, str], concurrency: int) -> None:
        argv = [sys.executable, "-m", "bench.listing_db", "--worker", "--concurrency", str(concurrency)]
        super().__init__(label, argv, src, env)
        self.digest, self.statements = self.ready[1], float(self.ready[2])
        self.cpu = 0.0
        self.pg_cpu = 0.0

    def slice(self, seconds: float, backends: list[int]) -> None:
        before = _cpu_of(backends)
        figures = self.run_slice(seconds)
        after = _cpu_of(backends)
        self.pg_cpu += sum(after[p] - before[p] for p in after if p in before)
        self.cpu += float(figures[2])


def _cpu_of(pids: list[int]) -> dict[int, float]:
    """CPU seconds (user + system) of each process still running."""
    found: dict[int, float] = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[pid] = (int(fields[11]) + int(fields[12])) / _TICK
    return found


async def _backends(engines: BenchEngines) -> list[int]:
    conn = await asyncpg.connect(_asyncpg_dsn(engines.database_url))
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await conn.close()
    return [r["pid"] for r in rows]


def _profile(workers: list[Worker], out: Path, seconds: int, backends: list[int]) -> None:
    from bench import flamegraph, profile

    exe = profile.py_spy()
    if exe is None:
        print("bench: py-spy is not installed; no profile", file=sys.stderr)
        return
    out.mkdir(parents=True, exist_ok=True)
    for w in workers:
        raw = out / f"listing-db-{w.label}.collapsed.txt"
        proc = profile.start(exe, w.proc.pid, seconds, raw)
        time.sleep(0.5)
        w.slice(seconds - 1, backends)
        found = profile.finish(proc, raw)
        if found is None:
            continue
        title = f"uncached listing mix through the app in process, {w.label}"
        (out / f"listing-db-{w.label}.svg").write_text(
            flamegraph.render(flamegraph.parse(raw.read_text()), title)
        )
        profile.print_summary(w.label, found)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--products", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds per worker")
    parser.add_argument("--slice", type=float, default=1.0)
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight per worker")
    parser.add_argument("--baseline", default=None, help="a commit to measure as `before` (e.g. main)")
    parser.add_argument(
        "--profile", type=Path, default=None, help="then py-spy each worker: DIR/listing-db-*"
    )
    parser.add_argument("--profile-seconds", type=int, default=15)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        asyncio.run(_worker(args.concurrency))
        return 0
    urls = configured_urls()
    if urls is None:
        print("bench: set MERCATO_DATABASE_URL, MERCATO_NATS_URL and MERCATO_REDIS_URL", file=sys.stderr)
        return 2
    engines = BenchEngines(
        urls["MERCATO_DATABASE_URL"], urls["MERCATO_NATS_URL"], urls["MERCATO_REDIS_URL"], False
    )
    env = {**engines.server_env(), "MERCATO_CACHE_ENABLED": "false", "MERCATO_LOG_LEVEL": "WARNING"}
    asyncio.run(prepare(engines))
    workers: list[Worker] = []
    try:
        summary, took = asyncio.run(seed(engines, args.products, via_import=True))
        print(f"seeded {summary} in {took:.1f} s", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            if args.baseline:
                src = _baseline_src(args.baseline, Path(tmp))
                workers.append(Worker("before", src, env, args.concurrency))
            workers.append(Worker("this", ROOT / "src", env, args.concurrency))
            if len({w.digest for w in workers}) > 1:
                for w in workers:
                    print(f"{w.label}: responses digest {w.digest}", file=sys.stderr)
                print("workers disagree on the responses: not measured", file=sys.stderr)
                return 1
            backends = asyncio.run(_backends(engines))
            for _ in range(max(1, round(args.seconds / args.slice))):
                for w in workers:
                    w.slice(args.slice, backends)
            _report(workers, args)
            if args.profile is not None:
                _profile(workers, args.profile, args.profile_seconds, backends)
    finally:
        for w in workers:
            w.close()
        asyncio.run(cleanup(engines))
    return 0


def _report(workers: list[Worker], args: argparse.Namespace) -> None:
    base = workers[0].rate
    print(
        f"uncached listing mix through the app in process, {args.products} products, "
        f"{args.concurrency} in flight per worker; identical responses ({workers[0].digest})"
    )
    print(
        f"{'code':<8} {'requests':>9} {'req/s':>8} {'x ' + workers[0].label:>9} {'cpu ms/req':>10} "
        f"{'pg ms/req':>9} {'stmts/req':>9}"
    )
    for w in workers:
        per = 1000 / w.requests if w.requests else 0.0
        print(
            f"{w.label:<8} {w.requests:>9} {w.rate:>8.1f} {w.rate / base:>9.2f} {w.cpu * per:>10.2f} "
            f"{w.pg_cpu * per:>9.2f} {w.statements:>9.2f}"
        )


if __name__ == "__main__":
    raise SystemExit(main())
