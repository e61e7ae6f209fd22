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

from bench import checkout_report, hop
from bench.checkout_run import CheckoutResults
from bench.load import LoadResult
from bench.profile import Profile
from bench.server import ROOT

TARGET_RPS = 2_000
TARGET_P99_MS = 20.0
# Issue 9's, for the storefront mix at 16 connections on 2 workers: (req/s at least, p99 ms under).
MIX_TARGETS = {"listing-mix": (500, 100.0), "listing-mix-cached": (0, 20.0)}
MARKER = re.compile(r"^<!-- bench-run: (?P<key>[^>]*?) -->$", re.MULTILINE)

INTRO = """# Benchmarks

`make bench` (that is, `.venv/bin/python -m bench.run`; options through `ARGS="…"`) measures the
storefront listing through GraphQL. It seeds a demo catalog (`mercato.app.seed.seed_demo`), runs the
real server as a subprocess in each topology, waits until the events of seeding are worked off (so no
cache invalidation lands inside a run), and drives it with `wrk` (16 connections, 2 threads, 3 s
warm-up, 10 s measured) from the same machine. Beside it, it measures a **ceiling**: the same uvicorn
with the same worker count answering `POST /graphql` with the same JSON bytes from memory
(`bench/ceiling.py`). The gap between the two is GraphQL, the services and the engines; the ceiling is
what the HTTP stack alone allows. Every response is checked (HTTP 200, a page of products, no GraphQL
errors) before and after each run, and wrk counts non-2xx answers and socket errors.

With `MERCATO_DATABASE_URL`, `MERCATO_NATS_URL` and `MERCATO_REDIS_URL` set it uses those engines, in a
database (`mercato_bench<hex>`) and a namespace (`bench<hex>`) of its own that it removes afterwards;
otherwise it starts embedded engines in a throwaway directory. Options:

- `--products N` (default 200), or `--sizes 200,2000` to measure the listing at several catalog sizes
  (the catalog is grown in place; seeding takes about 50 ms per product);
- `--duration S` (10), `--warmup S` (3), `--connections N` (16), `--threads N` (2), `--workers N` (2);
- `--scenario all|listing|listing-availability|listing-mix|listing-mix-cached|listing-mix-availability|`
  `mix|availability|ceiling|checkout` (`mix`: both listing-mix scenarios; `availability`: the listing
  and the listing mix, each with and without availability);
- `--idle-wait S` (20): before each run, wait up to S seconds for the machine to be idle;
- `--retries N` (1): re-measure a run during which other processes used over 10% of a CPU, keep
  the least disturbed;
- `--topology single,distributed` (both by default): which topologies the listing and checkout
  scenarios run in (the ceiling runs once);
- checkout: `--shoppers 1,8,32,64,128`, `--hot best|none|N,M`, `--rush 200x20|none`, `--direct`,
  `--cost-orders 32`, `--ceiling-seconds 5` (see below);
- `--profile`: py-spy on one worker of the single topology during an extra, unrecorded run of each
  listing scenario (and of checkout);
- `--output PATH` (this file).

**Topologies.** *single* is `mercato serve --workers 2`: two uvicorn workers (uvloop), each with
every context in-process, so a GraphQL resolver calls a context's service directly. *distributed* is
`mercato up` (on free ports, with a data dir of its own): one OS process per context (`mercato serve
catalog|inventory|cart|customers|payments|orders`, each with its gRPC server, relay and consumers)
plus `mercato serve gateway`, a single process (asyncio's loop, as gRPC wants) running GraphQL over
gRPC clients; the bench counts it ready when the gateway's `/readyz` reports every upstream `SERVING`
and the launcher says all seven serve. Both use the same engines, database, namespace and data, one
after the other, never at the same time. The anonymous **listing** is answered from the gateway's
whole-response cache in Redis in both topologies (`x-mercato-cache: hit`): no context is called, so
its single/distributed gap is not the gRPC hop but the gateway's shape (one process vs two workers)
and the six idle context processes beside it. The hop shows in **listing-availability** (not cached:
each page asks the catalog, over gRPC in the distributed topology) and in **checkout** (cart, customers
and orders called over gRPC; the saga between orders, inventory and payments goes through NATS in
both topologies). The section's "gRPC hop" paragraph compares the two, run by run.

**checkout** (`--scenario checkout`, part of `all`; `make bench-checkout`, with more options in
`ARGS="…"`) measures orders confirmed end to end through the saga, in the terms of issue 8's targets.
A pool of customers (registered and signed in through the API before any window, one cart each with 1
unit of its own SKU, stock set to 1,000,000 units so every order confirms) checks out in a closed
asyncio/httpx loop at `--shoppers 1,8,32,64,128` concurrent shoppers against a fresh server of each
topology with `MERCATO_CHECKOUT_WAIT_SECONDS=10` (the mutation answers with CONFIRMED/REJECTED;
`order(id)` is polled otherwise) and 0 ms sandbox payments. After a confirmed order a shopper waits
until its cart is empty (read from the cart's Redis store: the cart may be emptied by a consumer of the
confirmation, after the answer) before refilling it. Per level it reports confirmed orders/s, submit →
terminal p50/p90/p99, the answers that were PENDING, the time until the cart was emptied, and the
**statements and COMMITs per confirmed order**: every server process reaches PostgreSQL through a
counting proxy (`bench/pgwire.py`, a process of its own; `--direct` bypasses it and drops these two
columns), less the background rate of the cost run's idle window. Beside each level: PostgreSQL's
**commit ceiling** at the same concurrency (pgbench, single-row INSERT per transaction, with the servers
stopped; fewer connections when `max_connections` leaves fewer free; `--ceiling-seconds 5`) and the
ratio of orders/s to it. Then, per topology:

- a **hot-SKU run** (`--hot best`, or levels such as `--hot 32,128`, or `none`): the same shoppers all
  buy one SKU with 1,000,000 units, at the best distinct-SKU level; orders/s against the distinct-SKU
  run at the same concurrency, then from the run's database: no oversell (units in CONFIRMED orders
  and in COMMITTED reservations ≤ the stock, no negative row, the books agree), and no deadlock or
  retry (`pg_stat_database.deadlocks`, `deadlock detected` and consumer retry lines in every server
  process's log, new dead letters);
- a **rush** (`--rush 200x20`, or `none`): 200 shoppers send `checkoutComplete` at the same moment for
  one SKU with 20 units: the time until every order is terminal (the orders' status history; and
  until every shopper saw its answer), the first answers that were PENDING, exactly 20 CONFIRMED, every
  buyer's `cart { lines }` empty (polled through the API for up to 5 s, with the time it took) and
  every other shopper's cart untouched.

The **cost per order** (`--cost-orders 32` sequential orders by distinct shoppers, `0` to skip it)
counts one order at a time on the same proxy beside `pg_stat_database.xact_commit`; an idle window of
the same length is the baseline, raw and net figures are both shown. Which code path issues each of
those statements and transactions, and what could cut them: `make bench-breakdown` and
`docs/checkout-cost.md`. The section ends with the **targets** (≥ 150 confirmed orders/s single at the
best level, 128 shoppers ≥ 90% of the best, p99 < 250 ms at 8 shoppers, distributed ≥ 75% of single,
hot SKU ≥ 50% of distinct with no oversell and no deadlock, the rush settled in < 3 s with exactly 20
confirmed and the buyers' carts empty, ≤ 30 statements and ≤ 10 COMMITs per order), each PASS, MISS
or n/a (not measured in that run). A smoke check takes a minute or two:
`.venv/bin/python -m bench.run --scenario checkout --topology single --duration 3 --warmup 1
--shoppers 1,8 --cost-orders 0 --rush 40x4 --ceiling-seconds 1 --idle-wait 0 --products 60
--output /tmp/bench.md`.

Scenarios: **listing** is `{ products(first: 20) { edges { node { name slug variants { sku price
{ amount currency } } } } } }`; **listing-availability** adds `quantityAvailable` on each variant
(the catalog's availability read model, loaded with the page in the same call; before 2026-12-07 one
more call, to the inventory); **ceiling** is described above. **listing-mix-availability** is the
listing mix below with `quantityAvailable inStock` on every variant, on the same server as
**listing-mix** (cache off); `--scenario availability` runs listing, listing-availability,
listing-mix and listing-mix-availability (issue 9: with availability ≥ 80% of without).

**listing-mix** and **listing-mix-cached** are issue 9's storefront mix: the 52 different
`products(first: 12-36)` queries over sorts, price ranges and searches (product cards: name, slug,
price range, category, each variant's SKU and price) of `bench/storefront_data.py`, the documents
`make bench-graphql` executes in process, here over HTTP. wrk cycles through them (a Lua script; each
thread starts at its own place in the list). **listing-mix** runs against a server of its own started
with `MERCATO_CACHE_ENABLED=false`: no whole-response cache, and no catalog page cache either, so every
request executes GraphQL and reads PostgreSQL (`x-mercato-cache` reads `absent`). **listing-mix-cached**
runs against the usual server, the cache warmed by the check of every query before the window (it
should read `hit`). Every query of the mix is checked before and after the run (HTTP 200, a page of at
most `first` products with variants, no errors); when the mix's answers differ, the `x-mercato-cache`
column counts each header. Issue 9's targets: uncached ≥ 500 req/s and p99 < 100 ms, cached p99
< 20 ms, at 16 connections on `mercato serve --workers 2`. Its figures, in one section:
`.venv/bin/python -m bench.run --scenario mix --topology single`.

The `x-mercato-cache` column is that header on a response right after the run: `hit` means the
server answered from its whole-response cache (no GraphQL execution), `absent` that it executed the
query. Each run writes a dated section below, newest first. A re-run on the same UTC day with the
same kind of engines and the same topologies replaces that day's section; older sections are kept
(sections without topologies in their heading measured the single topology only). The machine may
be shared with other work (test suites of other sessions): a run notes when it was busy just before
a measurement, and such numbers understate what the server can do.
"""


@dataclass(frozen=True)
class Row:
    scenario: str
    products: int
    result: LoadResult
    cache: str = "-"  # x-mercato-cache of a response after the run
    topology: str = "-"  # single, distributed; "-" for the ceiling


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
    code: str = ""
    topologies: list[str] = field(default_factory=lambda: ["single"])
    # What ran, when not every scenario at the default size ("mix", "mix at 1000,10000"): part of the
    # section's key, so a run of one scenario does not replace another's section of the same day.
    scope: str = ""
    seeding: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    profiles: dict[str, Profile] = field(default_factory=dict)
    checkout: CheckoutResults | None = None


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


def code_version() -> str:
    """The commit measured, and whether src/ differed from it (read-only git calls)."""

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "--no-optional-locks", *args], cwd=ROOT, capture_output=True, text=True, check=False
        )
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown commit"
    changed = [line for line in git("status", "--porcelain", "--", "src").splitlines() if line]
    if changed:
        return f"{commit} plus uncommitted changes to {len(changed)} path(s) under src/ (work in progress)"
    return f"{commit}, src/ unmodified"


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
    rps, p99 = MIX_TARGETS.get(row.scenario, (TARGET_RPS, TARGET_P99_MS))
    ok = r.rps >= rps and r.p99_ms < p99 and r.errors == 0
    return "meets" if ok else "misses"


def table(rows: list[Row]) -> str:
    header = (
        f"{'scenario':<22} {'topology':<12} {'products':>8} {'req/s':>9} {'p50 ms':>8} {'p90 ms':>8} "
        f"{'p99 ms':>8} {'errors':>7}  cache"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        r = row.result
        lines.append(
            f"{row.scenario:<22} {row.topology:<12} {row.products:>8,} {r.rps:>9,.0f} {r.p50_ms:>8.2f} "
            f"{r.p90_ms:>8.2f} {r.p99_ms:>8.2f} {r.errors:>7,}  {row.cache}"
        )
    return "\n".join(lines)


def _side_by_side(rows: list[Row]) -> list[Row]:
    """Rows of a scenario and catalog size next to each other (topologies in run order)."""
    order = {key: i for i, key in enumerate(dict.fromkeys((r.scenario, r.products) for r in rows))}
    return sorted(rows, key=lambda r: order[(r.scenario, r.products)])


def _results_markdown(rows: list[Row]) -> list[str]:
    out = [
        "| scenario | topology | products | req/s | p50 ms | p90 ms | p99 ms | max ms | requests | errors | "
        "x-mercato-cache | load tool |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for row in _side_by_side(rows):
        r = row.result
        out.append(
            f"| {row.scenario} | {row.topology} | {row.products:,} | {r.rps:,.0f} | {r.p50_ms:.2f} | "
            f"{r.p90_ms:.2f} | {r.p99_ms:.2f} | {r.max_ms:.1f} | {r.requests:,} | {r.errors:,} | {row.cache} "
            f"| {r.tool} |"
        )
    return out


def _target_lines(rows: list[Row]) -> list[str]:
    out = [
        f"**Target** for `products(first: 20)` with variants (the listing scenario) at 16 connections: "
        f"≥ {TARGET_RPS:,} req/s and p99 < {TARGET_P99_MS:.0f} ms, and flat as the catalog grows "
        "(Saleor measured 15-26 req/s on such a machine).",
    ]
    ceiling = next((r for r in rows if r.scenario == "ceiling"), None)
    for row in _side_by_side(rows):
        if row.scenario == "ceiling":
            continue
        what = "the target" if row.scenario == "listing" else "the listing's target, for comparison,"
        if row.scenario in MIX_TARGETS:
            rps, p99 = MIX_TARGETS[row.scenario]
            what = f"issue 9's target ({f'≥ {rps:,} req/s and ' if rps else ''}p99 < {p99:.0f} ms)"
        line = (
            f"- {row.scenario} ({row.topology}) at {row.products:,} products: {verdict(row)} {what} "
            f"({row.result.rps:,.0f} req/s, p99 {row.result.p99_ms:.1f} ms)"
        )
        if row.cache == "hit":
            line += "; answered from the whole-response cache"
        if ceiling is not None and ceiling.result.rps:
            share = 100 * row.result.rps / ceiling.result.rps
            line += (
                f"; {share:.1f}% of the ceiling's req/s"
                if share < 10
                else f"; {share:.0f}% of the ceiling's req/s"
            )
        out.append(line)
    for scenario, topology in dict.fromkeys(
        (r.scenario, r.topology) for r in rows if r.scenario != "ceiling"
    ):
        sized = sorted(
            (r for r in rows if (r.scenario, r.topology) == (scenario, topology)), key=lambda r: r.products
        )
        small, large = sized[0], sized[-1]
        if large.products > small.products and small.result.rps:
            out.append(
                f"- {scenario} ({topology}), {large.products:,} vs {small.products:,} products: "
                f"{100 * large.result.rps / small.result.rps:.0f}% of the req/s, "
                f"p99 {large.result.p99_ms:.1f} vs {small.result.p99_ms:.1f} ms"
            )
    return out


def _profile_lines(scenario: str, profile: Profile) -> list[str]:
    packages = ", ".join(f"{name} {share:.0f}%" for name, share in profile.by_package[:10])
    out = [
        f"**Profile under {scenario}**: one worker during an extra, unrecorded run (py-spy `--gil`, "
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


def _servers(info: RunInfo) -> str:
    described = {
        "single": f"single: `mercato serve --workers {info.workers}`",
        "distributed": "distributed: `mercato up` (six context processes and one `mercato serve gateway`)",
    }
    return "; ".join(described.get(t, t) for t in info.topologies)


def _load_line(info: RunInfo) -> str:
    each = f"{info.warmup:g} s warm-up, {info.duration:g} s measured"
    if not info.rows:  # checkout only: wrk's settings played no part
        return f"- Load: each checkout level {each}, from the same machine"
    return f"- Load: {info.connections} connections, {info.threads} threads, {each}, on the same machine"


def section(info: RunInfo) -> tuple[str, str]:
    """(key, markdown) of this run's section; the key is the UTC date, the kind of engines, the
    topologies (none for the single topology alone, as sections were keyed before there were two) and
    the scope."""
    topologies = "" if info.topologies == ["single"] else " " + "+".join(info.topologies)
    scope = f" {info.scope}" if info.scope else ""
    key = f"{info.started:%Y-%m-%d} {info.engines_label}{topologies}{scope}"
    heading = f"{info.engines_label} engines" + (f", {' and '.join(info.topologies)}" if topologies else "")
    lines = [
        f"<!-- bench-run: {key} -->",
        f"## {info.started:%Y-%m-%d %H:%M} UTC, {heading}",
        "",
        f"- Machine: {machine()}",
        f"- Engines: {info.engines_text}",
        f"- Servers: {_servers(info)} ({stack()}); code: {info.code}",
        _load_line(info),
        f"- Command: `{info.command}`",
        *(f"- Catalog: {line}" for line in info.seeding),
        *(f"- Note: {line}" for line in info.notes),
        "",
    ]
    if info.rows:
        lines += [*_results_markdown(info.rows), "", *_target_lines(info.rows)]
    if info.checkout is not None:
        lines += ["", *checkout_report.markdown(info.checkout)]
        if info.checkout.profile is not None and info.checkout.profile.samples:
            info.profiles["checkout"] = info.checkout.profile
    disturbed = bool(info.notes or (info.checkout is not None and info.checkout.notes))
    hop_text = hop.paragraph(info.rows, info.checkout, disturbed)
    if hop_text:
        lines += ["", "### The gRPC hop", "", hop_text]
    for scenario, profile in info.profiles.items():
        if profile.samples:
            lines += ["", *_profile_lines(scenario, profile)]
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
    # The introduction is the file's own once it exists (edited by hand as the benches grow), INTRO
    # only starts a new file.
    intro = old[: marks[0].start()].rstrip() + "\n" if marks else INTRO
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([intro, text, *kept]))
