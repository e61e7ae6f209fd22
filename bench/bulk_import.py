"""`make bench-import`: `mercato import` of a generated demo catalog into a database of its own.

    .venv/bin/python -m bench.bulk_import [--products 20000] [--format jsonl|csv] [--keep FILE]

Writes the demo catalog (`mercato.app.demo_data`, ~11.7 variants per product, stock in two
warehouses) to a file, then imports it twice into a fresh database: the first run creates everything,
the second must change nothing. Prints wall time, products/s, and the CPU seconds of this process and
of its PostgreSQL backend, because on a shared machine wall time says more about the neighbours than
about the import (CPU seconds per product do not). The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import secrets
import tempfile
from pathlib import Path

import asyncpg
from sqlalchemy import text

from mercato.app import demo_data
from mercato.app.bulk import readers
from mercato.app.bulk.importer import import_records
from mercato.app.bulk.records import FileFormat, ImportSummary
from mercato.app.bulk.writers import CsvWriter, jsonl_header, jsonl_products
from mercato.app.contexts import MIGRATIONS
from mercato.app.runtime import Runtime
from mercato.platform.config import Settings
from mercato.platform.migrations import migrate

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def write_file(products: int, file_format: FileFormat, path: Path) -> None:
    plan = demo_data.generate(products)
    with path.open("w", encoding="utf-8", newline="") as out:
        if file_format is FileFormat.CSV:
            CsvWriter(out).products(plan.products)
        else:
            jsonl_header(out, plan.warehouses, plan.categories)
            jsonl_products(out, plan.products)


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _proc_cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return total


async def _backend_cpu(runtime: Runtime, database: str) -> float:
    """CPU seconds of this database's backends so far (PostgreSQL runs on this machine)."""
    async with runtime.db.connect() as conn:
        pids = (
            await conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = :d"), {"d": database})
        ).scalars()
        return _proc_cpu(list(pids))


async def run(args: argparse.Namespace) -> None:
    file_format = FileFormat(args.format)
    path = args.keep or Path(tempfile.mkdtemp(prefix="bench-import-")) / f"catalog.{file_format.value}"
    if not path.exists():
        print(f"bench-import: writing {args.products:,} demo products to {path} …", flush=True)
        write_file(args.products, file_format, path)
    server = os.environ.get("MERCATO_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    database = f"mercato_bench_import_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(server.replace("postgresql+asyncpg://", "postgresql://"))
    await admin.execute(f'CREATE DATABASE "{database}"')
    try:
        url = server.rsplit("/", 1)[0] + f"/{database}"
        settings = Settings(
            database_url=url,
            nats_url=os.environ.get("MERCATO_NATS_URL", "nats://127.0.0.1:4222"),
            redis_url=os.environ.get("MERCATO_REDIS_URL", "redis://127.0.0.1:6379/0"),
            namespace=f"benchimport{secrets.token_hex(3)}",
            db_pool_size=1,
            _env_file=None,  # type: ignore[call-arg]
        )
        runtime = Runtime(settings)
        try:
            await migrate(runtime.db, MIGRATIONS)
            for label in ("first import", "same file again"):
                cpu, backend = _own_cpu(), await _backend_cpu(runtime, database)
                records = readers.read(path, file_format)
                summary = await import_records(runtime.catalog, runtime.inventory, records)
                cpu, backend = _own_cpu() - cpu, await _backend_cpu(runtime, database) - backend
                _report(label, summary, cpu, backend)
        finally:
            await runtime.stop()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()


def _report(label: str, summary: ImportSummary, cpu: float, backend: float) -> None:
    if summary.rejected:
        raise SystemExit(f"bench-import: {summary.describe()}: {summary.rejected[0].describe()}")
    n = summary.products_read
    print(f"bench-import: {label}: {summary.describe()}")
    print(
        f"bench-import: {label}: wall {summary.seconds:.1f} s = {n / summary.seconds:,.0f} products/s; "
        f"CPU: mercato {cpu:.1f} s + PostgreSQL backend {backend:.1f} s = {n / (cpu + backend):,.0f} "
        "products per CPU-second",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bulk_import", description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=20_000)
    parser.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    parser.add_argument("--keep", type=Path, default=None, help="write (or reuse) the generated file here")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
