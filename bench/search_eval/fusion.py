"""How the hybrid ranking's settings were chosen (docs/search.md, "Choosing the fusion").

`PYTHONPATH=src:. python -m bench.search_eval.fusion` seeds and indexes like `make search-eval`, then
collects once, for every judged query, the lexical and semantic candidates of each pass the engine
makes (the block meeting the filters read, then the rest) and builds offline the answer of every
setting, with the engine's own `read`, `lexical.rank`, `Semantic.rank` and `fuse`:
- departments: every top-level category (as before) or those the catalog's signs name (the engine's);
- anchor: whether the block meeting the filters read must hold a word no filter came from;
- lead: whether the products whose name, categories or attributes hold every word come first;
- the semantic weight of the reciprocal rank fusion (lexical 1.0, k 60).
It prints NDCG@10 per kind for each setting, then a cross-validation: 20 times over, the queries are
dealt into 5 folds (each kind spread over all five), the setting best on four folds is scored on the
fifth. The held-out mean is what choosing a setting on this set is worth on queries it did not see;
settings are whole-set choices, never per kind or per query.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.search_eval.judge import Query, load, ndcg
from bench.search_eval.run import DEFAULT_CATALOG, DEPTH, _database, engines_for_run, prepare
from mercato.app.runtime import Runtime
from mercato.platform.config import Settings
from mercato.search import SearchFilter
from mercato.search.domain.text import query_words
from mercato.search.service_layer import lexical
from mercato.search.service_layer.departments import folded
from mercato.search.service_layer.engine import FUSION_DEPTH, LEXICAL_WEIGHT, RRF_K, SearchEngine, _meaning
from mercato.search.service_layer.interpret import Lexicon, read
from mercato.search.service_layer.lexical import Ranked
from mercato.search.service_layer.requests import Hit
from mercato.search.service_layer.semantic import fuse
from mercato.search.service_layer.spelling import resolve

SEMANTIC_WEIGHTS = (0.5, 0.7, 1.0)
DEPARTMENTS = ("every root", "catalog")
ROUNDS, FOLDS = 20, 5


@dataclass(frozen=True)
class Setting:
    departments: str
    anchor: bool
    lead: bool
    semantic_weight: float  # 0: lexical alone (the `lexical+nl` mode)

    def label(self) -> str:
        mode = "lexical+nl" if self.semantic_weight == 0 else f"hybrid w={self.semantic_weight}"
        flags = [f for f, on in (("anchor", self.anchor), ("lead", self.lead)) if on]
        return f"{self.departments:10} {mode:13} {'+'.join(flags) or '-'}"


@dataclass(frozen=True)
class Candidates:
    lexical: Ranked
    semantic: list[Hit]


@dataclass(frozen=True)
class Passes:
    """A query's candidates: with filters read, the block meeting them (anchored or not) and the
    rest; without, `rest` alone."""

    rest: Candidates
    anchored: Candidates | None = None
    plain: Candidates | None = None


async def _candidates(
    engine: SearchEngine, text: str, search_filter: SearchFilter, anchor: Sequence[str]
) -> Candidates:
    terms = query_words(text)
    async with engine.db.connect() as conn:
        if not terms:
            return Candidates(Ranked(await lexical.filtered(conn, search_filter, FUSION_DEPTH)), [])
        resolution = await resolve(conn, terms)
        anchored = [t for t in resolution.terms if t.typed in anchor]
        by_words = Ranked([])
        if resolution.terms:
            by_words = await lexical.rank(
                conn, resolution.terms, resolution.documents, search_filter, FUSION_DEPTH, anchored
            )
        meaning = _meaning(text, resolution)
        return Candidates(
            by_words, await engine.semantic.rank(conn, meaning, search_filter, FUSION_DEPTH, anchored)
        )


async def _passes(engine: SearchEngine, query: str, lexicon: Lexicon) -> Passes:
    reading = read(query, lexicon, SearchFilter())
    if not reading.sources:
        return Passes(await _candidates(engine, query, SearchFilter(), ()))
    return Passes(
        rest=await _candidates(engine, reading.searched, SearchFilter(), ()),
        anchored=await _candidates(engine, reading.searched, reading.filter, query_words(reading.text)),
        plain=await _candidates(engine, reading.searched, reading.filter, ()),
    )


def _ranked(candidates: Candidates, setting: Setting) -> list[uuid.UUID]:
    if setting.semantic_weight == 0:
        return [h.product_id for h in candidates.lexical.hits]
    lead = candidates.lexical.complete if setting.lead else frozenset()
    rankings = [(LEXICAL_WEIGHT, candidates.lexical.hits), (setting.semantic_weight, candidates.semantic)]
    return [h.product_id for h in fuse(rankings, RRF_K, lead=lead)]


def answer(passes: Passes, setting: Setting) -> list[uuid.UUID]:
    """What the engine answers (its `_page`): the block meeting the filters, then the rest."""
    rest = _ranked(passes.rest, setting)
    block = passes.anchored if setting.anchor else passes.plain
    if block is None:
        return rest[:DEPTH]
    first = _ranked(block, setting)[: DEPTH + 1]
    seen = set(first)
    return [*first, *(p for p in rest if p not in seen)][:DEPTH]


def cross_validate(
    scores: dict[Setting, list[float]], queries: list[Query], seed: int = 7
) -> tuple[dict[str, float], Counter[Setting]]:
    """Held-out NDCG@10 per kind of the setting chosen on the other folds, and how often each won."""
    rng = random.Random(seed)
    held: dict[str, list[float]] = defaultdict(list)
    picks: Counter[Setting] = Counter()
    for _ in range(ROUNDS):
        order = list(range(len(queries)))
        rng.shuffle(order)
        order.sort(key=lambda i: queries[i].kind)  # stable: each kind stays shuffled, dealt round
        for fold in range(FOLDS):
            test = set(order[fold::FOLDS])
            train = [i for i in range(len(queries)) if i not in test]
            best = max(scores, key=lambda s: sum(scores[s][i] for i in train))
            picks[best] += 1
            for i in test:
                held[queries[i].kind].append(scores[best][i])
                held["all"].append(scores[best][i])
    return {k: sum(v) / len(v) for k, v in held.items()}, picks


def _row(label: str, values: dict[str, float], kinds: list[str]) -> str:
    return f"{label:42}" + "".join(f"{values[k]:12.3f}" for k in kinds)


async def study(catalog_path: Path, products: list[Any]) -> None:
    queries = load(products)
    url = await _database(os.environ["MERCATO_DATABASE_URL"])
    runtime = Runtime(Settings(database_url=url, namespace="searcheval"))
    try:
        judged = await prepare(runtime, catalog_path, products)
        engine = runtime.search.engine
        if not await engine.semantic_available():
            raise SystemExit("no embeddings here: run with MERCATO_DATABASE_URL unset (PostgreSQL 18)")
        async with engine.db.connect() as conn:
            catalog_lexicon = await engine.lexicon(conn)
        assert engine.catalog is not None
        roots = {folded(c.name): c.id for c in await engine.catalog.categories() if c.parent_id is None}
        lexicons = {"every root": Lexicon(roots, catalog_lexicon.axes), "catalog": catalog_lexicon}
        print({name: sorted(lx.departments) for name, lx in lexicons.items()})
        passes = {d: [await _passes(engine, q.text, lexicons[d]) for q in queries] for d in DEPARTMENTS}
    finally:
        await runtime.stop()

    # (lead, semantic weight): lexical alone, then every hybrid
    variants = [(False, 0.0), *[(lead, w) for lead in (False, True) for w in SEMANTIC_WEIGHTS]]
    settings = [
        Setting(d, anchor, lead, w) for d in DEPARTMENTS for anchor in (False, True) for lead, w in variants
    ]
    scores = {
        s: [
            ndcg([judged.get(p, "?") for p in answer(passes[s.departments][i], s)], q.grades)
            for i, q in enumerate(queries)
        ]
        for s in settings
    }
    kinds = ["all", *sorted({q.kind for q in queries})]

    def means(values: list[float]) -> dict[str, float]:
        per: dict[str, list[float]] = defaultdict(list)
        for q, v in zip(queries, values, strict=True):
            per[q.kind].append(v)
            per["all"].append(v)
        return {k: sum(v) / len(v) for k, v in per.items()}

    print("\nNDCG@10 per setting (whole set)\n" + f"{'':42}" + "".join(f"{k:>12}" for k in kinds))
    for s in settings:
        print(_row(s.label(), means(scores[s]), kinds))
    hybrid = {s: v for s, v in scores.items() if s.departments == "catalog" and s.semantic_weight > 0}
    held, picks = cross_validate(hybrid, queries)
    print(f"\nCross-validated ({ROUNDS} x {FOLDS} folds) over the catalog-department hybrid settings")
    print(_row("held-out NDCG@10 of the setting chosen", held, kinds))
    for setting, count in picks.most_common():
        print(f"  chosen {count:3} times: {setting.label()}")


def main() -> None:
    products = json.loads(DEFAULT_CATALOG.read_text())
    with engines_for_run():
        asyncio.run(study(DEFAULT_CATALOG, products))


if __name__ == "__main__":
    main()
