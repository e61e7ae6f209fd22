"""A search, start to finish: read the query, resolve its words, rank, fuse, cut the page."""

from __future__ import annotations

from mercato.platform.db import Database
from mercato.platform.errors import ClientError
from mercato.search.domain.text import query_words
from mercato.search.service_layer import lexical
from mercato.search.service_layer.requests import (
    PAGE_MAX,
    QUERY_MAX,
    Correction,
    Interpretation,
    SearchRequest,
    SearchResult,
)
from mercato.search.service_layer.spelling import resolve


class SearchEngine:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.semantic_available = False

    async def search(self, request: SearchRequest) -> SearchResult:
        if not 1 <= request.first <= PAGE_MAX:
            raise ClientError(f"first must be 1-{PAGE_MAX}", field="first")
        if len(request.query) > QUERY_MAX:
            raise ClientError(f"the query is longer than {QUERY_MAX} characters", field="query")
        offset = request.offset()
        depth = offset + request.first + 1
        async with self.db.connect() as conn:
            resolution = await resolve(conn, query_words(request.query))
            if resolution.terms:
                hits = await lexical.rank(conn, resolution.terms, resolution.documents, request.filter, depth)
            elif not query_words(request.query):
                hits = await lexical.filtered(conn, request.filter, depth)
            else:
                hits = []
        interpretation = Interpretation(
            text=" ".join(t.term for t in resolution.terms),
            corrections=tuple(Correction(t.typed, t.term) for t in resolution.terms if t.corrected),
            unknown=tuple(resolution.unknown),
        )
        page = hits[offset : offset + request.first]
        return SearchResult(
            hits=tuple(page),
            offset=offset,
            has_next_page=len(hits) > offset + request.first,
            interpretation=interpretation,
            semantic=False,
        )
