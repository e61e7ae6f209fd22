"""The results: a table on the terminal and a dated section in docs/benchmarks.md (newest first,
earlier sections kept below it)."""

from __future__ import annotations

import os
import platform
import re
import subprocess
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from pathlib import Path

from bench.load import LoadResult
from bench.profile import Profile

TARGET_RPS = 2_000
TARGET_P99_MS = 20.0
MARKER = re.compile(r"^<!-- bench-run: (?P<key>[^>]*?) -->$", re.MULTILINE)

INTRO = """# Benchmarks

`make bench` (that is, `.venv/bin/python -m bench.run`) measures the storefront listing through
GraphQL: it seeds a demo catalog, runs the real server (`mercato serve --workers 2`) as a subprocess,
drives it with `wrk` (16 connections, 2 threads, 3 s warm-up, 10 s measured) on the same machine, and
measures a **ceiling** beside it: the same uvicorn, same worker count, answering `POST /graphql` with
the same JSON bytes from memory (`bench/ceiling.py`). The gap between the two is GraphQL, the services
and the engines; the ceiling is what the HTTP stack alone allows.

With `MERCATO_DATABASE_URL`, `MERCATO_NATS_URL` and `MERCATO_REDIS_URL` set it uses those engines, in a
database (`mercato_bench<hex>`) and namespace (`bench<hex>`) of its own that it removes afterwards;
otherwise it starts embedded engines in a throwaway directory. Options: `--products N` (default 200),
`--sizes 200,2000` (measure the listing at several catalog sizes; seeding takes roughly 50 ms per
product), `--duration S`, `--warmup S`, `--connections N`, `--threads N`, `--workers N`,
`--scenario all|listing|listing-availability|ceiling`, `--profile` (py-spy on one worker during an extra,
unrecorded listing run), `--output PATH`. Each run writes a dated section below; a re-run on the same
day with the same kind of engines replaces that day's section, older ones are kept.

Scenarios: **listing** is `{ products(first: 20) { edges { node { name slug variants { sku price
{ amount currency } } } } } }`; **listing-availability** adds `quantityAvailable` on each variant
(inventory, through a DataLoader); **ceiling** is described above.
"""


@dataclass(frozen=True)
class Row:
    scenario: str
    products: int
    result: LoadResult


@dataclass
class RunInfo:
    started: datetime
    engines_label: str
    engines_text: str
    command: str
    workers: int
    connections: int
    threads: int
    warmup: float
    duration: float
    seeding: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    profile: Profile | None = None


def machine() -> str:
    cpus = len(os.sched_getaffinity(0))
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem_kb = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal:")
        )
        ram = f"{mem_kb / 1024 / 1024:.1f} GiB RAM"
    except (OSError, StopIteration, ValueError):
        ram = "unknown RAM"
    return (
        f"{cpus} CPUs (nproc), {model}, {ram}, Linux {platform.release()}, Python {platform.python_version()}"
    )


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def stack() -> str:
    return ", ".join(
        f"{name} {_version(name)}" for name in ("uvicorn", "uvloop", "httptools", "strawberry-graphql")
    )


def wrk_version(wrk: str | None) -> str:
    if wrk is None:
        return "none"
    done = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)
    first = (done.stdout or done.stderr).strip().splitlines()
    return first[0].split(" [", 1)[0] if first else "wrk"


def verdict(row: Row) -> str:
    r = row.result
    ok = r.rps >= TARGET_RPS and r.p99_ms < TARGET_P99_MS and r.errors == 0
    return "meets" if ok else "misses"


def table(rows: list[Row]) -> str:
    header = (
        f"{'scenario':<22} {'products':>8} {'req/s':>9} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} "
        f"{'errors':>7}"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        r = row.result
        lines.append(
            f"{row.scenario:<22} {row.products:>8,} {r.rps:>9,.0f} {r.p50_ms:>8.2f} {r.p90_ms:>8.2f} "
            f"{r.p99_ms:>8.2f} {r.errors:>7,}"
        )
    return "\n".join(lines)


def _results_markdown(rows: list[Row]) -> list[str]:
    out = [
        "| scenario | products | req/s | p50 ms | p90 ms | p99 ms | max ms | requests | errors | load tool |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in rows:
        r = row.result
        out.append(
            f"| {row.scenario} | {row.products:,} | {r.rps:,.0f} | {r.p50_ms:.2f} | {r.p90_ms:.2f} | "
            f"{r.p99_ms:.2f} | {r.max_ms:.1f} | {r.requests:,} | {r.errors:,} | {r.tool} |"
        )
    return out


def _target_lines(rows: list[Row]) -> list[str]:
    out = [
        f"**Target** for `products(first: 20)` with variants at 16 connections: ≥ {TARGET_RPS:,} req/s "
        f"and p99 < {TARGET_P99_MS:.0f} ms (Saleor measured 15-26 req/s on such a machine)."
    ]
    ceiling = next((r for r in rows if r.scenario == "ceiling"), None)
    for row in rows:
        if row.scenario == "ceiling":
            continue
        line = (
            f"- {row.scenario} at {row.products:,} products: {verdict(row)} the target "
            f"({row.result.rps:,.0f} req/s, p99 {row.result.p99_ms:.1f} ms)"
        )
        if ceiling is not None and ceiling.result.rps:
            line += f"; {100 * row.result.rps / ceiling.result.rps:.0f}% of the ceiling's req/s"
        out.append(line)
    return out


def _profile_lines(profile: Profile) -> list[str]:
    packages = ", ".join(f"{name} {share:.0f}%" for name, share in profile.by_package[:10])
    out = [
        f"**Profile** of one worker during an extra, unrecorded listing run (py-spy `--gil`, "
        f"{profile.samples:,} samples of the thread running Python).",
        "",
        f"Self time by package: {packages}.",
        "",
        "| self % | function | file | inclusive % | function (project and GraphQL/engine libraries) | file |",
        "| ---: | --- | --- | ---: | --- | --- |",
    ]
    for own, incl in zip(profile.self_time[:15], profile.inclusive[:15], strict=False):
        out.append(
            f"| {own.percent:.1f} | `{own.function}` | {own.file} | "
            f"{incl.percent:.1f} | `{incl.function}` | {incl.file} |"
        )
    return out


def section(info: RunInfo) -> tuple[str, str]:
    """(key, markdown) of this run's section; the key is the UTC date and the kind of engines."""
    key = f"{info.started:%Y-%m-%d} {info.engines_label}"
    lines = [
        f"<!-- bench-run: {key} -->",
        f"## {info.started:%Y-%m-%d %H:%M} UTC, {info.engines_label} engines",
        "",
        f"- Machine: {machine()}",
        f"- Engines: {info.engines_text}",
        f"- Server: `mercato serve --workers {info.workers}` ({stack()})",
        f"- Load: {info.connections} connections, {info.threads} threads, {info.warmup:g} s warm-up, "
        f"{info.duration:g} s measured, on the same machine",
        f"- Command: `{info.command}`",
        *(f"- Catalog: {line}" for line in info.seeding),
        *(f"- Note: {line}" for line in info.notes),
        "",
        *_results_markdown(info.rows),
        "",
        *_target_lines(info.rows),
    ]
    if info.profile is not None and info.profile.samples:
        lines += ["", *_profile_lines(info.profile)]
    return key, "\n".join(lines) + "\n"


def write(path: Path, info: RunInfo) -> None:
    """Put this run's section first, replacing one with the same key; keep every other section."""
    key, text = section(info)
    old = path.read_text() if path.exists() else ""
    marks = list(MARKER.finditer(old))
    kept = []
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(old)
        if mark["key"] != key:
            kept.append(old[mark.start() : end].rstrip() + "\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([INTRO, text, *kept]))
