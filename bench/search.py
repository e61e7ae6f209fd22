"""`make bench-search`: search latency (hybrid, with facets) and index build time per catalog size.

    .venv/bin/python -m bench.search [--sizes 1000,10000,100000] [--rounds 5] [--embedded] [--idle-wait 0]

For each size, smallest first, the demo catalog is grown in place by the bulk importer (as `make
bench-sizes` does), the search index is emptied and rebuilt the way `mercato search reindex` does it
(timed: the index build), then every query of `QUERIES` is asked once to warm up and `--rounds`
times measured, one at a time, through the search client as the gateway calls it
(`SearchRequest(mode=HYBRID, facets=True)`, filters read from the words): p50 and p95 over all of
them. The gateway's own work (fetching the page's products from the catalog) is not included.
`--idle-wait S` waits up to S seconds, after the build and before the measured rounds, for the shared
machine to go idle (a 100k build takes half an hour of both cores; the latencies are then measured
on a quiet machine), and the report gives how busy the machine was when the rounds began.

Engines: those named by MERCATO_DATABASE_URL / _NATS_URL / _REDIS_URL (a database and namespace of
the run's own, dropped at the end), else, or with `--embedded`, engines started from the wheels.
Hybrid needs pgvector: the embedded PostgreSQL 18 has it, Debian's PostgreSQL 15 does not, and the
report says whether meaning took part (`semantic`). Without it "hybrid" is lexical search.

Shortcut: availability is copied from the catalog's read model into search's in one statement (what
the availability consumer would write from the import's events), so "in stock" has real rows.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import dataclass

from sqlalchemy import text

from bench import machine
from bench.environment import (
    BenchEngines,
    cleanup,
    configured_urls,
    prepare,
    seed,
    start_embedded,
    stop_embedded,
)
from bench.load import _percentile
from mercato.app.runtime import Runtime
from mercato.app.search_index import reindex_search
from mercato.search import SearchMode, SearchRequest

# Over the demo catalog's words (mercato.app.demo_data): keyword, misspelled, filters in the words,
# descriptive, attribute; fixed, so runs compare.
QUERIES = (
    "rain jacket",
    "merino hoodie",
    "yoga mat",
    "trail pant",
    "headlamp",
    "jakcet",
    "hoddie",
    "legings",
    "treking poles",
    "women's jacket under $150",
    "men's shorts in stock",
    "merino tee under $40",
    "insulated bottle between 20 and 40",
    "something warm for skiing",
    "light bag for commuting",
    "comfortable gear for yoga",
    "reflective running gear",
    "ripstop nylon",
    "recycled polyester",
    "organic cotton",
)
_COPY_AVAILABILITY = text("""
    INSERT INTO search.sku_availability (sku, available, version)
    SELECT sku, available, version FROM catalog.sku_availability
    ON CONFLICT (sku) DO UPDATE SET available = EXCLUDED.available, version = EXCLUDED.version
""")
_EMPTY_INDEX = (
    "TRUNCATE search.documents, search.vocabulary, search.attribute_values CASCADE",
    "UPDATE search.index_size SET documents = 0",
)


@dataclass(frozen=True)
class SizeResult:
    products: int
    indexed: int
    build_seconds: float
    p50_ms: float
    p95_ms: float
    asked: int
    semantic: bool
    mean_hits: float
    busy_percent: float


# Busier than this (% of all CPUs, over a second) and the machine is not idle for the measured rounds.
IDLE_BELOW_PERCENT = 15.0


def _wait_idle(seconds: float) -> float:
    """Wait up to `seconds` for the machine to go idle; returns how busy it was at the end (%)."""
    deadline = time.monotonic() + seconds
    busy, top = machine.busy()
    if busy > IDLE_BELOW_PERCENT and seconds > 0:
        print(f"bench-search: the machine is {busy:.0f}% busy ({top}); waiting ≤ {seconds:g} s", flush=True)
        while busy > IDLE_BELOW_PERCENT and time.monotonic() < deadline:
            time.sleep(5)
            busy, top = machine.busy()
    return busy


async def _rebuild(runtime: Runtime) -> tuple[int, float]:
    """Empty the index, then rebuild it as `mercato search reindex` does: (documents, seconds)."""
    async with runtime.db.begin() as conn:
        for statement in _EMPTY_INDEX:  # embeddings go with their documents (FK cascade)
            await conn.execute(text(statement))
        await conn.execute(_COPY_AVAILABILITY)
    started = time.perf_counter()
    written = await reindex_search(runtime)
    seconds = time.perf_counter() - started
    async with runtime.db.begin() as conn:
        # What autovacuum would do soon after: plans measured on fresh statistics.
        await conn.execute(text("ANALYZE search.documents, search.vocabulary, search.sku_availability"))
    return written, seconds


async def _measure(runtime: Runtime, rounds: int) -> tuple[list[float], bool, float]:
    latencies: list[float] = []
    semantic = False
    hits = 0
    for query in QUERIES:  # warm-up: the query embeddings, the lexicon, the plans
        await runtime.search_client.search(SearchRequest(query=query, facets=True))
    for _ in range(rounds):
        for query in QUERIES:
            request = SearchRequest(query=query, first=20, mode=SearchMode.HYBRID, facets=True)
            started = time.perf_counter()
            result = await runtime.search_client.search(request)
            latencies.append(time.perf_counter() - started)
            semantic = semantic or result.semantic
            hits += len(result.hits)
    return latencies, semantic, hits / max(1, len(latencies))


def _slowest(latencies: list[float], shown: int = 5) -> str:
    """The queries with the highest median over the rounds (`_measure` asks QUERIES in order each
    round): which ones make the p95."""
    by_query = {q: sorted(latencies[i :: len(QUERIES)]) for i, q in enumerate(QUERIES)}
    medians = sorted(((t[len(t) // 2], q) for q, t in by_query.items() if t), reverse=True)[:shown]
    return "bench-search: slowest (median ms): " + ", ".join(f"{q!r} {m * 1000:.1f}" for m, q in medians)


async def run_size(engines: BenchEngines, products: int, rounds: int, idle_wait: float = 0.0) -> SizeResult:
    summary, seed_seconds = await seed(engines, products, via_import=True)
    print(f"bench-search: {products:,} products: {summary} ({seed_seconds:.1f} s)", flush=True)
    runtime = Runtime(engines.settings())
    try:
        indexed, build = await _rebuild(runtime)
        print(f"bench-search: index built: {indexed:,} documents in {build:.1f} s", flush=True)
        busy = await asyncio.to_thread(_wait_idle, idle_wait)  # the runtime's tasks keep running
        latencies, semantic, mean_hits = await _measure(runtime, rounds)
        print(_slowest(latencies), flush=True)
    finally:
        await runtime.stop()
    ordered = sorted(latencies)
    return SizeResult(
        products=products,
        indexed=indexed,
        build_seconds=build,
        p50_ms=_percentile(ordered, 50) * 1000,
        p95_ms=_percentile(ordered, 95) * 1000,
        asked=len(latencies),
        semantic=semantic,
        mean_hits=mean_hits,
        busy_percent=busy,
    )


def report(engines: BenchEngines, results: list[SizeResult], rounds: int) -> str:
    versions = ", ".join(f"{k} {v}" for k, v in engines.versions.items())
    lines = [
        f"search benchmark ({engines.label} engines: {versions}); {len(QUERIES)} queries x {rounds} rounds, "
        "one at a time, hybrid with facets, first 20",
        "",
        "| products | index build | docs/s | p50 | p95 | searches | semantic | mean hits | machine busy |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |",
    ]
    for r in results:
        rate = r.indexed / r.build_seconds if r.build_seconds else 0.0
        lines.append(
            f"| {r.products:,} | {r.build_seconds:.1f} s | {rate:,.0f} | {r.p50_ms:.1f} ms | "
            f"{r.p95_ms:.1f} ms | {r.asked} | {'yes' if r.semantic else 'no (lexical)'} | "
            f"{r.mean_hits:.1f} | {r.busy_percent:.0f}% |"
        )
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> None:
    sizes = sorted({int(s) for s in args.sizes.split(",")})
    urls = None if args.embedded else configured_urls()
    embedded = None
    if urls is None:
        embedded, engines = start_embedded()
    else:
        engines = BenchEngines(
            urls["MERCATO_DATABASE_URL"], urls["MERCATO_NATS_URL"], urls["MERCATO_REDIS_URL"], embedded=False
        )
    try:
        await prepare(engines)
        results = [await run_size(engines, size, args.rounds, args.idle_wait) for size in sizes]
        print()
        print(report(engines, results, args.rounds))
    finally:
        try:
            await cleanup(engines)
        finally:
            if embedded is not None:
                stop_embedded(embedded)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.search", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="catalog sizes, comma-separated")
    parser.add_argument("--rounds", type=int, default=5, help="measured passes over the queries per size")
    parser.add_argument("--embedded", action="store_true", help="engines from the wheels (pgvector)")
    parser.add_argument(
        "--idle-wait", type=float, default=0.0, help="seconds to wait for an idle machine before measuring"
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
