"""Recommendations for many products at once: `similar` and `bought_together`, and recording the
purchases the latter counts.

`similar`: nearest neighbours of the product's embedding (pgvector, HNSW) where it has one; else,
where pgvector is missing or the product has no embedding yet, products sharing its name, category
and attribute words (its own index document read as a query, ranked by `ts_rank` with the search's
field weights). Both take a handful of statements for a whole page, whatever its size.

`bought_together`: the products bought in the most confirmed orders with the product, at least
`min_support` of them; topped up with `similar` when there are fewer than asked for.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import Text

from mercato.platform.errors import ClientError
from mercato.search.domain.commands import (
    RECOMMENDATIONS_MAX,
    BoughtTogether,
    RecordPurchase,
    SimilarProducts,
)
from mercato.search.domain.recommendations import POOL_FACTOR, Candidate, choose
from mercato.search.service_layer.lexical import WEIGHTS
from mercato.search.service_layer.unit_of_work import SearchDeps, SearchUnitOfWork

Recommended = dict[uuid.UUID, tuple[uuid.UUID, ...]]

# Products one call may ask about: a page of the storefront (PAGE_MAX).
PRODUCTS_MAX = 100
# An order of more distinct products than this says little about which go together (a bulk or
# business buyer) and would add its square in pairs: it is not counted.
BASKET_MAX = 20
# An HNSW scan returns at most `hnsw.ef_search` (40 by default) rows unless iterative scan is on.
VECTOR_POOL_MAX = 40
# Documents read per product by the word-based fallback, from its leaf category and from documents
# sharing a name word each: bounded work per product whatever the catalog's size (on a catalog
# whose categories hold more, a sample of them; docs/search.md).
LEXICAL_CANDIDATES = 200
# Distinct words of a document read as its query, at most.
QUERY_WORDS_MAX = 64

_IN_STOCK = "EXISTS (SELECT 1 FROM search.sku_availability a WHERE a.sku = ANY({d}.skus) AND a.available > 0)"
_NEIGHBOURS = text(f"""
    SELECT s.product_id AS source, n.product_id, n.similarity AS score,
        coalesce(d.category_ids[1] = sd.category_ids[1], false) AS same_department,
        {_IN_STOCK.format(d="d")} AS in_stock
    FROM search.embeddings s
    JOIN search.documents sd ON sd.product_id = s.product_id
    CROSS JOIN LATERAL (
        SELECT e.product_id, 1 - (e.embedding <=> s.embedding) AS similarity
        FROM search.embeddings e
        WHERE e.product_id <> s.product_id
        ORDER BY e.embedding <=> s.embedding
        LIMIT :pool) n
    JOIN search.documents d ON d.product_id = n.product_id
    WHERE s.product_id = ANY(:ids)
""").bindparams(bindparam("ids", type_=ARRAY(UUID(as_uuid=True))))
_OWN_WORDS = text("""
    SELECT product_id, category_ids,
        tsvector_to_array(ts_filter(document, '{a,b,c}')) AS words,
        tsvector_to_array(ts_filter(document, '{a}')) AS name_words
    FROM search.documents WHERE product_id = ANY(:ids)
""").bindparams(bindparam("ids", type_=ARRAY(UUID(as_uuid=True))))
_SHARED_WORDS = text(f"""
    SELECT s.source, n.product_id, n.score, n.same_department, n.in_stock
    FROM unnest(:sources, :queries, :name_queries, :leaves, :departments)
        AS s(source, query, name_query, leaf, department)
    CROSS JOIN LATERAL (
        SELECT d.product_id,
            coalesce(ts_rank('{WEIGHTS}', d.document, CAST(NULLIF(s.query, '') AS tsquery)), 0) AS score,
            coalesce(d.category_ids[1] = s.department, false) AS same_department,
            {_IN_STOCK.format(d="d")} AS in_stock
        FROM search.documents d
        WHERE d.product_id IN (
            (SELECT x.product_id FROM search.documents x
             WHERE x.category_ids @> ARRAY[s.leaf] AND x.product_id <> s.source LIMIT :candidates)
            UNION
            (SELECT x.product_id FROM search.documents x
             WHERE x.document @@ CAST(NULLIF(s.name_query, '') AS tsquery) AND x.product_id <> s.source
             LIMIT :candidates))
        ORDER BY score DESC, d.product_id
        LIMIT :pool) n
""").bindparams(
    bindparam("sources", type_=ARRAY(UUID(as_uuid=True))),
    bindparam("queries", type_=ARRAY(Text)),
    bindparam("name_queries", type_=ARRAY(Text)),
    bindparam("leaves", type_=ARRAY(UUID(as_uuid=True))),
    bindparam("departments", type_=ARRAY(UUID(as_uuid=True))),
)
_BOUGHT_WITH = text(f"""
    SELECT s.id AS source, c.product_id, c.orders AS score, c.in_stock
    FROM unnest(:ids) AS s(id)
    CROSS JOIN LATERAL (
        SELECT p.other_id AS product_id, p.orders, {_IN_STOCK.format(d="d")} AS in_stock
        FROM search.co_purchases p JOIN search.documents d ON d.product_id = p.other_id
        WHERE p.product_id = s.id AND p.orders >= :min_support
        ORDER BY p.orders DESC, p.other_id
        LIMIT :pool) c
""").bindparams(bindparam("ids", type_=ARRAY(UUID(as_uuid=True))))


def _checked(product_ids: Sequence[uuid.UUID], first: int) -> list[uuid.UUID]:
    if not 1 <= first <= RECOMMENDATIONS_MAX:
        raise ClientError(f"first must be 1-{RECOMMENDATIONS_MAX}", field="first")
    ids = list(dict.fromkeys(product_ids))
    if len(ids) > PRODUCTS_MAX:
        raise ClientError(f"at most {PRODUCTS_MAX} products per call", field="productIds")
    return ids


def _chosen(ids: Iterable[uuid.UUID], found: dict[uuid.UUID, list[Candidate]], first: int) -> Recommended:
    return {i: choose(found.get(i, ()), first, exclude=(i,)) for i in ids}


async def similar_products(query: SimilarProducts, deps: SearchDeps) -> Recommended:
    ids = _checked(query.product_ids, query.first)
    if not ids:
        return {}
    async with deps.db.connect() as conn:
        found = await similar_candidates(conn, ids, query.first, vectors=await deps.semantic.ready(conn))
    return _chosen(ids, found, query.first)


async def similar_candidates(
    conn: AsyncConnection, ids: Sequence[uuid.UUID], first: int, *, vectors: bool
) -> dict[uuid.UUID, list[Candidate]]:
    """Candidates for each of `ids`: by embedding where there is one, else by shared words."""
    found: dict[uuid.UUID, list[Candidate]] = defaultdict(list)
    pool = POOL_FACTOR * first
    if vectors:
        params = {"ids": list(ids), "pool": min(pool, VECTOR_POOL_MAX)}
        for r in await conn.execute(_NEIGHBOURS, params):
            found[r.source].append(Candidate(r.product_id, float(r.score), r.same_department, r.in_stock))
    # Products without an embedding (pgvector absent, or not embedded yet) are matched by words.
    if by_words := [i for i in ids if i not in found]:
        found.update(await _shared_words(conn, by_words, pool))
    return found


def _tsquery(words: Sequence[str]) -> str:
    """Any of the lexemes, quoted (taken as they are, not parsed again); none with a backslash,
    which tsquery's quoting would read as an escape."""
    kept = [w for w in words if "\\" not in w][:QUERY_WORDS_MAX]
    return " | ".join("'" + w.replace("'", "''") + "'" for w in kept)


async def _shared_words(
    conn: AsyncConnection, ids: Sequence[uuid.UUID], pool: int
) -> dict[uuid.UUID, list[Candidate]]:
    own = (await conn.execute(_OWN_WORDS, {"ids": list(ids)})).all()
    if not own:
        return {}
    params = {
        "sources": [r.product_id for r in own],
        "queries": [_tsquery(r.words) for r in own],
        "name_queries": [_tsquery(r.name_words) for r in own],
        "leaves": [r.category_ids[-1] if r.category_ids else None for r in own],
        "departments": [r.category_ids[0] if r.category_ids else None for r in own],
        "candidates": LEXICAL_CANDIDATES,
        "pool": pool,
    }
    rows = (await conn.execute(_SHARED_WORDS, params)).all()
    # ts_rank's scale depends on the query's length: scores are made relative to each product's best
    # match, so the department boost weighs the same for every product.
    best: dict[uuid.UUID, float] = {}
    for r in rows:
        best[r.source] = max(best.get(r.source, 0.0), float(r.score))
    found: dict[uuid.UUID, list[Candidate]] = defaultdict(list)
    for r in rows:
        score = float(r.score) / best[r.source] if best[r.source] > 0 else 0.0
        found[r.source].append(Candidate(r.product_id, score, r.same_department, r.in_stock))
    return found


async def bought_together(query: BoughtTogether, deps: SearchDeps) -> Recommended:
    ids = _checked(query.product_ids, query.first)
    if not ids:
        return {}
    found: dict[uuid.UUID, list[Candidate]] = defaultdict(list)
    async with deps.db.connect() as conn:
        params = {"ids": ids, "pool": POOL_FACTOR * query.first, "min_support": deps.min_support}
        for r in await conn.execute(_BOUGHT_WITH, params):
            found[r.source].append(Candidate(r.product_id, float(r.score), in_stock=r.in_stock))
        chosen = _chosen(ids, found, query.first)
        # Not enough support yet (a new product, a quiet shop): the list is topped up with similar
        # products, so a storefront never shows an empty "bought together" row it could fill.
        short = [i for i in ids if len(chosen[i]) < query.first]
        if short:
            vectors = await deps.semantic.ready(conn)
            candidates = await similar_candidates(conn, short, query.first, vectors=vectors)
            like = _chosen(short, candidates, query.first)
            for i in short:
                extra = [p for p in like[i] if p not in chosen[i]]
                chosen[i] = (*chosen[i], *extra)[: query.first]
    return chosen


async def record_purchase(cmd: RecordPurchase, uow: SearchUnitOfWork) -> int:
    """Count one more order for each pair of products the order bought; returns the pair rows
    written (both directions). Runs in the consumer's unit of work, whose inbox row makes a
    redelivered confirmation a no-op: it never commits."""
    skus = sorted(set(cmd.skus))
    if len(skus) < 2:
        return 0  # one SKU is one product at most: no pair, nothing to read
    products = await uow.co_purchases.products_of(skus)
    if len(products) > BASKET_MAX:
        return 0
    return await uow.co_purchases.count_together(products)
