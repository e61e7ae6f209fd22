"""A search, start to finish: read the query, resolve its words, rank, fuse, cut the page."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from mercato.platform.db import Database
from mercato.platform.errors import ClientError
from mercato.search.domain.text import query_words, words
from mercato.search.service_layer import lexical
from mercato.search.service_layer.requests import (
    PAGE_MAX,
    QUERY_MAX,
    Correction,
    Hit,
    Interpretation,
    SearchMode,
    SearchRequest,
    SearchResult,
)
from mercato.search.service_layer.semantic import Semantic, fuse
from mercato.search.service_layer.spelling import Resolution, resolve

# Each ranking fused contributes this many candidates at least: a page deep in the lexical list must
# still meet the semantic list's view of the same products.
FUSION_DEPTH = 100
# Reciprocal rank fusion weights (lexical, semantic), chosen on the judged set as a whole
# (docs/search.md): exact words are the stronger evidence when they match.
LEXICAL_WEIGHT = 1.0
SEMANTIC_WEIGHT = 0.7


class SearchEngine:
    def __init__(self, db: Database, semantic: Semantic | None = None) -> None:
        self.db = db
        self.semantic = semantic or Semantic(None)
        self.weights = (LEXICAL_WEIGHT, SEMANTIC_WEIGHT)

    async def semantic_available(self) -> bool:
        async with self.db.connect() as conn:
            return await self.semantic.ready(conn)

    async def search(self, request: SearchRequest) -> SearchResult:
        if not 1 <= request.first <= PAGE_MAX:
            raise ClientError(f"first must be 1-{PAGE_MAX}", field="first")
        if len(request.query) > QUERY_MAX:
            raise ClientError(f"the query is longer than {QUERY_MAX} characters", field="query")
        offset = request.offset()
        depth = offset + request.first + 1
        words = query_words(request.query)
        semantic_used = False
        async with self.db.connect() as conn:
            resolution = await resolve(conn, words)
            use_semantic = (
                request.mode is not SearchMode.LEXICAL and bool(words) and await self.semantic.ready(conn)
            )
            if not words:
                hits = await lexical.filtered(conn, request.filter, depth)
            elif not use_semantic:
                hits = await self._lexical(conn, resolution, request, depth)
            elif request.mode is SearchMode.SEMANTIC:
                hits = await self.semantic.rank(
                    conn, _meaning(request.query, resolution), request.filter, depth
                )
                semantic_used = True
            else:
                pool = max(depth, FUSION_DEPTH)
                by_words = await self._lexical(conn, resolution, request, pool)
                by_meaning = await self.semantic.rank(
                    conn, _meaning(request.query, resolution), request.filter, pool
                )
                hits = fuse([(self.weights[0], by_words), (self.weights[1], by_meaning)])
                semantic_used = True
        page = hits[offset : offset + request.first]
        return SearchResult(
            hits=tuple(page),
            offset=offset,
            has_next_page=len(hits) > offset + request.first,
            interpretation=_interpretation(resolution),
            semantic=semantic_used,
        )

    async def _lexical(
        self, conn: AsyncConnection, resolution: Resolution, request: SearchRequest, limit: int
    ) -> list[Hit]:
        if not resolution.terms:
            return []
        return await lexical.rank(conn, resolution.terms, resolution.documents, request.filter, limit)


def _meaning(query: str, resolution: Resolution) -> str:
    """The query the embedding model reads: the shopper's words with typos corrected ("womens jakcet"
    means nothing to the model, "women jacket" does). Words the catalog does not know are kept:
    "marathon" is not a catalog word, but the model knows what it is about."""
    fixed = {t.typed: t.term for t in resolution.terms if t.corrected}
    return " ".join(fixed.get(w, w) for w in words(query)) if fixed else query


def _interpretation(resolution: Resolution) -> Interpretation:
    return Interpretation(
        text=" ".join(t.term for t in resolution.terms),
        corrections=tuple(Correction(t.typed, t.term) for t in resolution.terms if t.corrected),
        unknown=tuple(resolution.unknown),
    )
