"""EXPLAIN ANALYZE of the storefront's listing statements at one catalog size, for this code and
(`--baseline REV`) an earlier commit, against the same database.

    python -m bench.listing_plans [--products 100000] [--baseline main] [--rounds 2] [--repeat 3]
        [--database NAME] [--keep]

The listings are the 52 documents of the listing mix (`bench/storefront_data.listing_mix`, as
`bench.run --scenario mix` sends them), category pages under each sort, second pages, a product page,
the category tree and a listing with availability. Each code runs in a process of its own (its own
`src/`, this checkout's `bench/`), answers every listing once through the catalog's read side
(uncached) with its statements captured as sent, and runs each statement `--repeat` times under
`EXPLAIN (ANALYZE, FORMAT JSON)`; the codes alternate for `--rounds` rounds and the best time of each
statement is kept, so a busy moment of a shared machine falls on both. Per listing: execution plus
planning time of its statements, the rows of `products` its plans read (nodes that ran: rows returned
plus rows removed by a filter) and whether any scanned `products` or `variants` sequentially.

Needs MERCATO_DATABASE_URL / MERCATO_NATS_URL / MERCATO_REDIS_URL. The database (`mercato_bench<hex>`,
migrated by this checkout, grown with the demo catalog by the bulk importer) is dropped at the end
unless `--keep`; `--database NAME` reuses one kept before (no seeding, not dropped).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.environment import BenchEngines, _with_database, cleanup, configured_urls, prepare, seed
from bench.graphql_exec import _baseline_src

ROOT = Path(__file__).resolve().parents[1]
_DOCUMENT = re.compile(
    r"products\(first: (\d+), sortBy: \{ field: (\w+), direction: (\w+) \}(?:, filter: \{ (.*?) \})?\)"
)


# ---- the worker: one code's statements, explained -------------------------------------------------


def _mix() -> list[tuple[str, Any]]:
    from bench.storefront_data import listing_mix
    from mercato.catalog.service_layer.listing import ListingRequest, ProductFilter, ProductSort

    found = []
    for i, document in enumerate(listing_mix()):
        match = _DOCUMENT.search(document)
        assert match is not None, document
        first, field, direction, filter_text = match.groups()
        values = dict(re.findall(r'(\w+): "([^"]*)"', filter_text or ""))
        f = ProductFilter(
            search=values.get("search"),
            price_min=round(float(values["priceMin"]) * 100) if "priceMin" in values else None,
            price_max=round(float(values["priceMax"]) * 100) if "priceMax" in values else None,
        )
        request = ListingRequest(
            first=int(first), filter=f, sort=ProductSort(field), descending=direction == "DESC"
        )
        label = " ".join(v for v in (field, direction, filter_text or "") if v).replace('"', "")
        found.append((f"mix {i:02d} {label}", request))
    return found


async def _worker(database_url: str, redis_url: str, repeat: int) -> None:
    from redis.asyncio import Redis
    from sqlalchemy import event

    from mercato.catalog.bootstrap import CatalogService
    from mercato.catalog.service_layer.listing import Cursor, ListingRequest, ProductFilter, ProductSort
    from mercato.platform.cache import Cache
    from mercato.platform.db import Database

    db = Database(database_url, pool_size=1)
    redis = Redis.from_url(redis_url)
    catalog = CatalogService(db, Cache(redis, "listingplans", enabled=False), "listingplans")
    queries = catalog.queries
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        captured.append((statement, parameters))

    async def explain(name: str, action: Any) -> None:
        captured.clear()
        event.listen(db.engine.sync_engine, "before_cursor_execute", capture)
        try:
            await action()
        finally:
            event.remove(db.engine.sync_engine, "before_cursor_execute", capture)
        statements = list(captured)
        figures = []
        async with db.connect() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            assert raw is not None
            for statement, parameters in statements:
                best: dict[str, Any] | None = None
                for _ in range(repeat):
                    text = await raw.fetchval(
                        "EXPLAIN (ANALYZE, FORMAT JSON) " + statement, *tuple(parameters or ())
                    )
                    plan = (text if isinstance(text, list) else json.loads(text))[0]
                    ms = plan["Execution Time"] + plan["Planning Time"]
                    if best is None or ms < best["ms"]:
                        best = {"ms": ms, **_reads(plan["Plan"])}
                assert best is not None
                figures.append(best)
        print(json.dumps({"name": name, "statements": figures}), flush=True)

    try:
        categories = {c.slug: c.id for c in await queries.categories()}
        for name, request in _mix():
            await explain(name, lambda request=request: queries.list_products(request))
        for slug in ("women", "gear", "women-jackets", "men-tees", "gear-camp"):
            for sort, descending in (
                (ProductSort.NAME, False),
                (ProductSort.PRICE, False),
                (ProductSort.PRICE, True),
                (ProductSort.CREATED_AT, True),
            ):
                request = ListingRequest(
                    first=24,
                    filter=ProductFilter(category_id=categories[slug]),
                    sort=sort,
                    descending=descending,
                )
                label = f"category {slug} {sort.value} {'DESC' if descending else 'ASC'}"
                await explain(label, lambda request=request: queries.list_products(request))
        price, women = ProductSort.PRICE, categories["women"]
        seconds = (
            ("NAME", ListingRequest(first=24)),
            (
                "PRICE band 40-80",
                ListingRequest(24, sort=price, filter=ProductFilter(price_min=4_000, price_max=8_000)),
            ),
            ("PRICE search jacket", ListingRequest(24, sort=price, filter=ProductFilter(search="jacket"))),
            ("NAME category women", ListingRequest(24, filter=ProductFilter(category_id=women))),
        )
        for label, request in seconds:
            page = await queries.list_products(request)
            after = Cursor.after_product(page.items[-1], request.sort, request.descending).encode()
            second = ListingRequest(
                first=request.first,
                after=after,
                filter=request.filter,
                sort=request.sort,
                descending=request.descending,
            )
            await explain(f"second page {label}", lambda second=second: queries.list_products(second))
        page = await queries.list_products(ListingRequest(first=24))
        slug = page.items[3].slug
        await explain("product page by slug", lambda: queries.product(slug=slug))
        await explain("category tree", queries.categories)
        await explain(
            "availability NAME category women-jackets",
            lambda: queries.list_products(
                ListingRequest(first=24, filter=ProductFilter(category_id=categories["women-jackets"])),
                availability=True,
            ),
        )
    finally:
        await db.dispose()
        await redis.aclose()


def _reads(plan: dict[str, Any]) -> dict[str, Any]:
    """Rows of `products` read by the plan's nodes that ran, and its sequential scans of the catalog."""
    read, seq = 0.0, False
    loops = plan.get("Actual Loops", 0)
    relation = plan.get("Relation Name")
    if relation is not None and loops > 0:
        if relation == "products":
            read += loops * (
                plan.get("Actual Rows", 0)
                + plan.get("Rows Removed by Filter", 0)
                + plan.get("Rows Removed by Index Recheck", 0)
            )
        seq = plan["Node Type"] == "Seq Scan" and relation in ("products", "variants")
    for child in plan.get("Plans", ()):
        below = _reads(child)
        read += below["read"]
        seq = seq or below["seq"]
    return {"read": read, "seq": seq}


# ---- the run ----------------------------------------------------------------------------------------


def _run_code(src: Path, database_url: str, redis_url: str, repeat: int) -> dict[str, list[dict[str, Any]]]:
    env = {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{ROOT}"}
    argv = [sys.executable, "-m", "bench.listing_plans", "--worker", database_url, redis_url, str(repeat)]
    out = subprocess.run(argv, env=env, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return {row["name"]: row["statements"] for row in map(json.loads, out.splitlines())}


def _best(runs: list[dict[str, list[dict[str, Any]]]]) -> dict[str, dict[str, Any]]:
    """Per listing: its statements' best times summed, the most rows read, any sequential scan."""
    found: dict[str, dict[str, Any]] = {}
    for name in runs[0]:
        statements = list(zip(*(run[name] for run in runs), strict=True))
        found[name] = {
            "ms": sum(min(s["ms"] for s in same) for same in statements),
            "read": sum(max(s["read"] for s in same) for same in statements),
            "seq": any(s["seq"] for same in statements for s in same),
        }
    return found


def _table(current: dict[str, dict[str, Any]], baseline: dict[str, dict[str, Any]] | None) -> str:
    lines = []
    if baseline is None:
        lines += ["| listing | ms | products read | seq scan |", "| --- | ---: | ---: | --- |"]
        for name, row in current.items():
            lines.append(f"| {name} | {row['ms']:.2f} | {row['read']:,.0f} | {'yes' if row['seq'] else ''} |")
        return "\n".join(lines)
    lines += [
        "| listing | baseline ms | this ms | baseline products read | this products read "
        "| seq scan (baseline/this) |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, row in current.items():
        base = baseline[name]
        seq = f"{'yes' if base['seq'] else 'no'}/{'yes' if row['seq'] else 'no'}"
        times = f"{base['ms']:.2f} | {row['ms']:.2f}"
        lines.append(f"| {name} | {times} | {base['read']:,.0f} | {row['read']:,.0f} | {seq} |")
    return "\n".join(lines)


def _summary(figures: dict[str, dict[str, Any]]) -> str:
    times = sorted(row["ms"] for row in figures.values())
    mix = sorted(row["ms"] for name, row in figures.items() if name.startswith("mix "))

    def line(label: str, values: list[float]) -> str:
        middle, top, total = values[len(values) // 2], values[-1], sum(values)
        return f"{label} {len(values)}: median {middle:.2f} ms, max {top:.2f} ms, sum {total:.0f} ms"

    return f"{line('all', times)}; {line('mix', mix)}"


async def _setup(args: argparse.Namespace) -> BenchEngines:
    urls = configured_urls()
    if urls is None:
        raise SystemExit(
            "bench.listing_plans needs MERCATO_DATABASE_URL, MERCATO_NATS_URL, MERCATO_REDIS_URL"
        )
    engines = BenchEngines(
        server_url=urls["MERCATO_DATABASE_URL"],
        nats_url=urls["MERCATO_NATS_URL"],
        redis_url=urls["MERCATO_REDIS_URL"],
        embedded=False,
    )
    if args.database:
        engines.namespace = args.database.removeprefix("mercato_")
        return engines
    await prepare(engines)
    print(f"listing-plans: seeding {args.products:,} products into {engines.database} …", flush=True)
    try:
        summary, seconds = await seed(engines, args.products, via_import=True)
    except BaseException:
        await cleanup(engines)
        raise
    print(f"listing-plans: {summary} in {seconds:.0f} s", flush=True)
    return engines


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.listing_plans", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--worker", nargs=3, metavar=("DATABASE_URL", "REDIS_URL", "REPEAT"), help=argparse.SUPPRESS
    )
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--baseline", default=None, help="a git revision to compare with (e.g. main)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database", default=None, help="reuse this seeded database (kept, not dropped)")
    parser.add_argument("--keep", action="store_true", help="keep the database at the end")
    args = parser.parse_args()
    if args.worker:
        database_url, redis_url, repeat = args.worker
        asyncio.run(_worker(database_url, redis_url, int(repeat)))
        return
    engines = asyncio.run(_setup(args))
    try:
        url = _with_database(engines.server_url, engines.database)
        with tempfile.TemporaryDirectory(prefix="listing-plans-") as tmp:
            codes = {"this": ROOT / "src"}
            if args.baseline:
                codes = {"baseline": _baseline_src(args.baseline, Path(tmp)), **codes}
            runs: dict[str, list[dict[str, list[dict[str, Any]]]]] = {label: [] for label in codes}
            for round_ in range(args.rounds):
                for label, src in codes.items():
                    print(f"listing-plans: round {round_ + 1}, {label} …", flush=True)
                    runs[label].append(_run_code(src, url, engines.redis_url, args.repeat))
        current = _best(runs["this"])
        baseline = _best(runs["baseline"]) if "baseline" in runs else None
        print(_table(current, baseline))
        if baseline is not None:
            print(f"baseline ({args.baseline}): {_summary(baseline)}")
        print(f"this: {_summary(current)}")
    finally:
        if args.database:
            pass
        elif args.keep:
            print(f"listing-plans: kept database {engines.database} (drop it when done)")
        else:
            asyncio.run(cleanup(engines))


if __name__ == "__main__":
    main()
