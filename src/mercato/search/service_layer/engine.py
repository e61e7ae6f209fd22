"""A search, start to finish: read filters out of the words, resolve the words, rank, fuse, page."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import Text

from mercato.platform.db import Database
from mercato.platform.errors import ClientError
from mercato.platform.faults import is_unavailable
from mercato.search.domain.text import fold, query_words, words
from mercato.search.service_layer import facets, lexical
from mercato.search.service_layer.departments import departments, folded
from mercato.search.service_layer.facets import FACET_DEPTH
from mercato.search.service_layer.interpret import Lexicon, read
from mercato.search.service_layer.lexical import Ranked
from mercato.search.service_layer.ports import CatalogPort
from mercato.search.service_layer.requests import (
    PAGE_MAX,
    QUERY_MAX,
    Correction,
    Interpretation,
    SearchFilter,
    SearchMode,
    SearchRequest,
    SearchResult,
)
from mercato.search.service_layer.semantic import Semantic, fuse
from mercato.search.service_layer.spelling import Resolution, Term, resolve

# Each ranking fused contributes this many candidates at least: a page deep in the lexical list must
# still meet the semantic list's view of the same products.
FUSION_DEPTH = 100
# Reciprocal rank fusion weights (lexical, semantic), chosen on the judged set as a whole
# (docs/search.md): exact words are the stronger evidence when they match.
LEXICAL_WEIGHT = 1.0
SEMANTIC_WEIGHT = 0.7
# RRF's rank offset: the usual 60 (Cormack et al.); smaller favours each list's top ranks.
RRF_K = 60
LEXICON_TTL_SECONDS = 60.0
# Both read the values counted as documents are written (search.attribute_values, a few hundred
# rows), not the documents.
_AXIS_VALUES = text("SELECT name, value FROM search.attribute_values WHERE axis AND docs > 0")
# Attribute values of indexed products equal to one of the names (top-level categories'): a sign
# that the catalog treats the category as an audience (service_layer/departments.py).
_VALUES_NAMED = text("""
    SELECT DISTINCT value FROM search.attribute_values WHERE docs > 0 AND lower(value) = ANY(:names)
""").bindparams(bindparam("names", type_=ARRAY(Text)))

Sources = tuple[tuple[str, str], ...]


class SearchEngine:
    def __init__(
        self, db: Database, semantic: Semantic | None = None, catalog: CatalogPort | None = None
    ) -> None:
        self.db = db
        self.semantic = semantic or Semantic(None)
        self.catalog = catalog
        self.weights = (LEXICAL_WEIGHT, SEMANTIC_WEIGHT)
        self.rrf_k = RRF_K
        self._lexicon_cache: tuple[float, Lexicon] | None = None

    async def semantic_available(self) -> bool:
        async with self.db.connect() as conn:
            return await self.semantic.ready(conn)

    async def lexicon(self, conn: AsyncConnection) -> Lexicon:
        """The catalog's departments and variant values, rebuilt at most once a minute per process
        (a new colour is recognised in queries within a minute of its first product's indexing)."""
        now = time.monotonic()
        if self._lexicon_cache is not None and now - self._lexicon_cache[0] < LEXICON_TTL_SECONDS:
            return self._lexicon_cache[1]
        axes: dict[str, dict[str, tuple[str, str]]] = {}
        for row in await conn.execute(_AXIS_VALUES):
            axes.setdefault(fold(row.name), {})[" ".join(words(row.value))] = (row.name, row.value)
        lexicon = Lexicon(await self._departments(conn), axes)
        self._lexicon_cache = (now, lexicon)
        return lexicon

    async def _departments(self, conn: AsyncConnection) -> dict[str, uuid.UUID]:
        """The top-level categories that are departments (service_layer/departments.py), by their
        folded name. The catalog out of reach (its process down in `mercato serve search`) costs
        the department words, not the search: the last departments known are kept, and asked again
        at the lexicon's next rebuild."""
        if self.catalog is None:
            return {}
        try:
            categories = await self.catalog.categories()
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            return dict(self._lexicon_cache[1].departments) if self._lexicon_cache else {}
        names = sorted({c.name.lower() for c in categories if c.parent_id is None and folded(c.name)})
        values = [r.value for r in await conn.execute(_VALUES_NAMED, {"names": names})] if names else []
        return departments(categories, values)

    async def search(self, request: SearchRequest) -> SearchResult:
        if not 1 <= request.first <= PAGE_MAX:
            raise ClientError(f"first must be 1-{PAGE_MAX}", field="first")
        if len(request.query) > QUERY_MAX:
            raise ClientError(f"the query is longer than {QUERY_MAX} characters", field="query")
        request.offset()  # a malformed cursor fails before any work
        # One connection for the whole search: its statements run one after the other anyway.
        async with self.db.connect() as conn:
            if request.interpret:
                reading = read(request.query, await self.lexicon(conn), request.filter)
                if reading.sources:
                    # Filters read from words order the answer rather than cut it: what meets them
                    # comes first, then the rest of what the words and the client's filter find. A
                    # misreading then costs places, never the whole answer. What comes first must
                    # also hold one of the words no filter came from ("jacket" of "women's red
                    # jacket"): a red women's tee meets the filters, yet is not what was asked, and
                    # belongs below the women's jackets in other colours. Both rankings search the
                    # same words: they are resolved once.
                    resolution = await resolve(conn, query_words(reading.searched))
                    first = await self._search(
                        conn,
                        request,
                        reading.searched,
                        resolution,
                        reading.filter,
                        reading.sources,
                        whole=True,
                        count=False,
                        anchor=query_words(reading.text),
                    )
                    rest = await self._search(
                        conn,
                        request,
                        reading.searched,
                        resolution,
                        request.filter,
                        (),
                        whole=True,
                        count=request.facets,
                    )
                    return _page(request, first, rest)
            resolution = await resolve(conn, query_words(request.query))
            return await self._search(
                conn, request, request.query, resolution, request.filter, (), count=request.facets
            )

    async def _search(
        self,
        conn: AsyncConnection,
        request: SearchRequest,
        query: str,
        resolution: Resolution,
        search_filter: SearchFilter,
        sources: Sources,
        *,
        whole: bool = False,
        count: bool = False,
        anchor: Sequence[str] = (),
    ) -> SearchResult:
        """One ranking of `query` (its words resolved: `resolution`); `whole`: every hit up to the
        page's end, from the first (for `_page`); `count`: with the facets of the candidates ranked;
        `anchor`: words of which every hit must hold one (those the catalog knows: words it does not
        know anchor nothing).

        Facets are counted over the candidates a ranking weighs anyway (the fused lists, FUSION_DEPTH
        deep each), never over a deeper ranking made for them: asking for facets does not change the
        order of the answer, nor costs a deeper ranking."""
        offset = 0 if whole else request.offset()
        page_end = request.offset() + request.first + 1
        pool = max(page_end, FUSION_DEPTH)
        depth = pool if count else page_end
        has_words = bool(query_words(query))
        semantic_used = False
        anchored = [t for t in resolution.terms if t.typed in anchor]
        wants_semantic = request.mode is not SearchMode.LEXICAL and has_words
        if not has_words:
            hits = await lexical.filtered(conn, search_filter, depth)
        elif not (wants_semantic and await self.semantic.ready(conn)):
            hits = (await _lexical(conn, resolution, search_filter, depth, anchored)).hits
        else:
            semantic_used = True
            meaning = _meaning(query, resolution)
            if request.mode is SearchMode.SEMANTIC:
                hits = await self.semantic.rank(conn, meaning, search_filter, depth, anchored)
            else:
                by_words = await _lexical(conn, resolution, search_filter, pool, anchored)
                by_meaning = await self.semantic.rank(conn, meaning, search_filter, pool, anchored)
                hits = fuse(
                    [(self.weights[0], by_words.hits), (self.weights[1], by_meaning)],
                    self.rrf_k,
                    lead=by_words.complete,
                )
        counted = await facets.count(conn, [h.product_id for h in hits[:FACET_DEPTH]]) if count else None
        page = hits[offset:page_end] if whole else hits[offset : offset + request.first]
        return SearchResult(
            hits=tuple(page),
            offset=offset,
            has_next_page=len(hits) > offset + request.first,
            interpretation=Interpretation(
                text=" ".join(t.term for t in resolution.terms),
                corrections=tuple(Correction(t.typed, t.term) for t in resolution.terms if t.corrected),
                unknown=tuple(resolution.unknown),
                filter=search_filter,
                sources=sources,
            ),
            semantic=semantic_used,
            facets=counted,
        )


def _page(request: SearchRequest, first: SearchResult, rest: SearchResult) -> SearchResult:
    """`first`'s hits, then `rest`'s not already given, cut to the request's page."""
    seen = {h.product_id for h in first.hits}
    hits = [*first.hits, *(h for h in rest.hits if h.product_id not in seen)]
    offset = request.offset()
    return SearchResult(
        hits=tuple(hits[offset : offset + request.first]),
        offset=offset,
        has_next_page=len(hits) > offset + request.first,
        interpretation=first.interpretation,
        semantic=first.semantic or rest.semantic,
        facets=rest.facets,  # what the words and the client's filter find: every product listed
    )


async def _lexical(
    conn: AsyncConnection,
    resolution: Resolution,
    search_filter: SearchFilter,
    limit: int,
    anchor: Sequence[Term] = (),
) -> Ranked:
    if not resolution.terms:
        return Ranked([])
    return await lexical.rank(conn, resolution.terms, resolution.documents, search_filter, limit, anchor)


def _meaning(query: str, resolution: Resolution) -> str:
    """The query the embedding model reads: the shopper's words with typos corrected ("womens jakcet"
    means nothing to the model, "women jacket" does). Words the catalog does not know are kept:
    "marathon" is not a catalog word, but the model knows what it is about."""
    fixed = {t.typed: t.term for t in resolution.terms if t.corrected}
    return " ".join(fixed.get(w, w) for w in words(query)) if fixed else query
