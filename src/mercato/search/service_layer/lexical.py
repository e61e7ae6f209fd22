"""Lexical ranking: PostgreSQL full text with field weights and per-word IDF, any word may match.

Score of a document = coverage x sum over query words of idf(word) x ts_rank(word), where
- ts_rank weighs where the word occurs: name > categories > attributes and variant options >
  description (the weights below), and saturates with repeats;
- idf (BM25's) makes a rare word ("backpack") count more than a common one ("black");
- coverage is the share of the query's idf that the document matches: a product that has every word
  beats one that has the rarest word many times.
Matching is OR over words (a shopper's extra word must not empty the results), ranked as above;
documents holding every word are scored first, and the others only when too few do (see `rank`).

Each ranking also says which products hold every word in their name, categories or attributes (the
description left out): the products the words name rather than mention, which fusion puts first.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mercato.search.service_layer.requests import Hit, SearchFilter
from mercato.search.service_layer.spelling import Term

# ts_rank's weights, in its order {D, C, B, A}: description, attributes/options, categories, name.
WEIGHTS = "{0.1, 0.3, 0.5, 1.0}"


# Where a word counts as naming the product: name (A), categories (B), attributes and options (C).
NAMING_WEIGHTS = "ABC"

# The most documents one ranking scores per tier (those holding every word; those holding any word,
# read only when fewer than the ranking's length hold every word). A full-text index finds the
# matches but cannot hand them over best first, so without a bound the cost of a query grows with
# the share of the catalog its commonest word is in ("hiking" is in half the demo catalog). Past the
# bound a tier's documents are a sample in the index's order, not the best ones: bounded work,
# weaker lists for words that common (docs/search.md, Benchmark). A catalog where no query word is
# in more documents than this ranks exactly as without it.
CANDIDATES_MAX = 2_000


@dataclass(frozen=True)
class Ranked:
    hits: list[Hit]
    # Products whose name, categories or attributes hold every word of the query ("fleece jacket":
    # the fleece jackets, not a hoodie whose description mentions a fleece lining).
    complete: frozenset[uuid.UUID] = frozenset()


def idf(docs: int, total: int) -> float:
    return math.log(1 + (total - docs + 0.5) / (docs + 0.5))


def filter_sql(f: SearchFilter, params: dict[str, Any], alias: str = "d") -> list[str]:
    """SQL conditions of `f` on the documents table aliased `alias`; binds go into `params`."""
    conditions: list[str] = []
    if f.category_id is not None:
        params["category_id"] = f.category_id
        conditions.append(f"{alias}.category_ids @> ARRAY[CAST(:category_id AS uuid)]")
    if f.price_min is not None or f.price_max is not None:
        params["price_min"] = f.price_min if f.price_min is not None else 0
        params["price_max"] = f.price_max if f.price_max is not None else 2**62
        conditions.append(
            f"EXISTS (SELECT 1 FROM unnest({alias}.prices) p WHERE p BETWEEN :price_min AND :price_max)"
        )
    if f.in_stock is not None:
        sellable = (
            "EXISTS (SELECT 1 FROM search.sku_availability a"
            f" WHERE a.sku = ANY({alias}.skus) AND a.available > 0)"
        )
        conditions.append(sellable if f.in_stock else f"NOT {sellable}")
    for i, (name, values) in enumerate(f.attributes):
        params[f"attr_name_{i}"] = name
        params[f"attr_values_{i}"] = list(values)
        conditions.append(
            f"({alias}.facets -> CAST(:attr_name_{i} AS text)) ?| CAST(:attr_values_{i} AS text[])"
        )
    return conditions


def _tsquery(term: Term, weights: str = "") -> str:
    # Terms are [a-z0-9]+ (domain.text.words), so they need no quoting inside to_tsquery.
    if term.prefix:
        return f"{term.term}:*{weights}"
    return f"{term.term}:{weights}" if weights else term.term


def anchor_sql(anchor: Sequence[Term], params: dict[str, Any], alias: str = "d") -> list[str]:
    """The condition that a document holds one of `anchor`'s words (none: no condition)."""
    if not anchor:
        return []
    for i, term in enumerate(anchor):
        params[f"anchor_{i}"] = _tsquery(term)
    queries = " || ".join(f"to_tsquery('english', :anchor_{i})" for i in range(len(anchor)))
    return [f"{alias}.document @@ ({queries})"]


async def rank(
    conn: AsyncConnection,
    terms: list[Term],
    total: int,
    search_filter: SearchFilter,
    limit: int,
    anchor: Sequence[Term] = (),
    *,
    candidates: int = CANDIDATES_MAX,
) -> Ranked:
    """The `limit` best documents for `terms` under `search_filter` holding one of `anchor`'s words
    (when given), best first.

    Scored are the documents holding every word and, only when fewer than `limit` do, those holding
    any word; at most `candidates` of each (see CANDIDATES_MAX)."""
    if not terms:
        return Ranked([])
    params: dict[str, Any] = {"limit": limit, "candidates": candidates}
    weights = [idf(t.docs, max(total, t.docs)) for t in terms]
    whole = sum(weights) or 1.0
    scored: list[str] = []
    covered: list[str] = []
    naming: list[str] = []
    for i, (term, weight) in enumerate(zip(terms, weights, strict=True)):
        params[f"q{i}"] = _tsquery(term)
        params[f"n{i}"] = _tsquery(term, NAMING_WEIGHTS)
        params[f"w{i}"] = weight / whole
        scored.append(f"CAST(:w{i} AS float8) * ts_rank('{WEIGHTS}', d.document, q.q{i})")
        covered.append(f"CASE WHEN d.document @@ q.q{i} THEN CAST(:w{i} AS float8) ELSE 0 END")
        naming.append(f"d.document @@ q.n{i}")
    queries = ", ".join(
        f"to_tsquery('english', :q{i}) AS q{i}, to_tsquery('english', :n{i}) AS n{i}"
        for i in range(len(terms))
    )
    # The candidates' conditions name the queries as constants (not through `q`), so the GIN index
    # on `document` serves them directly.
    each = [f"to_tsquery('english', :q{i})" for i in range(len(terms))]
    conditions = " AND ".join(["", *filter_sql(search_filter, params), *anchor_sql(anchor, params)])
    # Each tier scores the rows it reads (one visit per document), and its LIMIT bounds them.
    columns = f"""d.product_id, ({" + ".join(scored)}) * ({" + ".join(covered)}) AS score,
        ({" AND ".join(naming)}) AS complete"""
    sql = f"""
        WITH q AS (SELECT {queries}),
        every_word AS MATERIALIZED (
            SELECT {columns} FROM search.documents d, q
            WHERE d.document @@ ({" && ".join(each)}){conditions}
            LIMIT :candidates),
        any_word AS MATERIALIZED (
            SELECT {columns} FROM search.documents d, q
            WHERE (SELECT count(*) FROM every_word) < :limit
                AND d.document @@ ({" || ".join(each)}){conditions}
            LIMIT :candidates)
        SELECT product_id, score, complete FROM every_word
        UNION
        SELECT product_id, score, complete FROM any_word
        ORDER BY score DESC, product_id
        LIMIT :limit"""
    rows = (await conn.execute(text(sql), params)).all()
    return Ranked(
        [Hit(r.product_id, float(r.score)) for r in rows],
        frozenset(r.product_id for r in rows if r.complete),
    )


async def filtered(conn: AsyncConnection, search_filter: SearchFilter, limit: int) -> list[Hit]:
    """Documents under `search_filter` alone (a query made only of filters: "red under $30"), in a
    stable order: cheapest first."""
    params: dict[str, Any] = {"limit": limit}
    conditions = filter_sql(search_filter, params) or ["true"]
    sql = f"""SELECT d.product_id FROM search.documents d WHERE {" AND ".join(conditions)}
              ORDER BY d.min_price, d.name, d.product_id LIMIT :limit"""
    return [Hit(r.product_id, 0.0) for r in await conn.execute(text(sql), params)]
