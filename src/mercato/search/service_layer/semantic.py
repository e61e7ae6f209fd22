"""Semantic retrieval: product embeddings in pgvector (HNSW, cosine), kept beside the documents.

Only where the embeddings table exists (pgvector installed, see migration search_0002) and the
embedder's packages are installed; otherwise `ready()` is False and search is lexical alone.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import Text

from mercato.search.domain.model import SearchDocument
from mercato.search.service_layer.lexical import anchor_sql, filter_sql
from mercato.search.service_layer.ports import Embedder
from mercato.search.service_layer.requests import Hit, SearchFilter
from mercato.search.service_layer.spelling import Term

_HASHES = text("SELECT product_id, text_hash FROM search.embeddings WHERE product_id = ANY(:ids)").bindparams(
    bindparam("ids", type_=ARRAY(UUID(as_uuid=True)))
)
# A batch's embeddings in one statement (sent as text: pgvector parses '[x,y,...]'), in key order.
_UPSERT = text("""
    INSERT INTO search.embeddings (product_id, text_hash, embedding)
    SELECT e.product_id, e.text_hash, CAST(e.embedding AS vector)
    FROM unnest(:product_ids, :text_hashes, :embeddings) AS e(product_id, text_hash, embedding)
    ORDER BY e.product_id
    ON CONFLICT (product_id) DO UPDATE SET text_hash = EXCLUDED.text_hash, embedding = EXCLUDED.embedding
""").bindparams(
    bindparam("product_ids", type_=ARRAY(UUID(as_uuid=True))),
    bindparam("text_hashes", type_=ARRAY(Text)),
    bindparam("embeddings", type_=ARRAY(Text)),
)
# HNSW returns ef_search candidates before filters apply; a filtered search scans on until it has
# enough rows (pgvector >= 0.8), in approximately the right order.
_ITERATIVE = text("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true)")


def vector_literal(vector: Sequence[float]) -> str:
    return "[" + ",".join(f"{x:.7g}" for x in vector) + "]"


class Semantic:
    def __init__(self, embedder: Embedder | None) -> None:
        self.embedder = embedder
        self._table: bool | None = None  # whether search.embeddings exists (schema: fixed per process)
        self._queries: dict[str, list[float]] = {}

    async def ready(self, conn: AsyncConnection) -> bool:
        if self.embedder is None:
            return False
        if self._table is None:
            found = await conn.execute(text("SELECT to_regclass('search.embeddings') IS NOT NULL"))
            self._table = bool(found.scalar())
        return self._table

    def _hash(self, doc: SearchDocument) -> str:
        assert self.embedder is not None
        raw = f"{self.embedder.model_id}\n{doc.semantic_text()}".encode()
        return hashlib.blake2b(raw, digest_size=16).hexdigest()

    async def index(self, conn: AsyncConnection, docs: Sequence[SearchDocument]) -> int:
        """Embed the documents whose text changed since their last embedding, in one batch."""
        if not docs or not await self.ready(conn):
            return 0
        assert self.embedder is not None
        known = {
            r.product_id: r.text_hash
            for r in await conn.execute(_HASHES, {"ids": [d.product_id for d in docs]})
        }
        hashes = {d.product_id: self._hash(d) for d in docs}
        stale = [d for d in docs if known.get(d.product_id) != hashes[d.product_id]]
        if not stale:
            return 0
        vectors = await self.embedder.embed([d.semantic_text() for d in stale])
        await conn.execute(
            _UPSERT,
            {
                "product_ids": [d.product_id for d in stale],
                "text_hashes": [hashes[d.product_id] for d in stale],
                "embeddings": [vector_literal(v) for v in vectors],
            },
        )
        return len(stale)

    async def query_vector(self, query: str) -> list[float]:
        # Shoppers repeat queries; an inference costs milliseconds. Bounded, per process.
        vector = self._queries.get(query)
        if vector is None:
            assert self.embedder is not None
            (vector,) = await self.embedder.embed([query])
            if len(self._queries) >= 1_024:
                self._queries.clear()
            self._queries[query] = vector
        return vector

    async def rank(
        self,
        conn: AsyncConnection,
        query: str,
        search_filter: SearchFilter,
        limit: int,
        anchor: Sequence[Term] = (),
    ) -> list[Hit]:
        """The `limit` documents nearest to `query` in meaning, under `search_filter`, holding one of
        `anchor`'s words (when given)."""
        params: dict[str, Any] = {"limit": limit, "q": vector_literal(await self.query_vector(query))}
        conditions = [*filter_sql(search_filter, params), *anchor_sql(anchor, params)] or ["true"]
        await conn.execute(_ITERATIVE)
        sql = f"""
            SELECT e.product_id, 1 - (e.embedding <=> CAST(:q AS vector)) AS similarity
            FROM search.embeddings e JOIN search.documents d USING (product_id)
            WHERE {" AND ".join(conditions)}
            ORDER BY e.embedding <=> CAST(:q AS vector)
            LIMIT :limit"""
        return [Hit(r.product_id, float(r.similarity)) for r in await conn.execute(text(sql), params)]


def fuse(
    rankings: Sequence[tuple[float, Sequence[Hit]]], k: int = 60, lead: Collection[uuid.UUID] = frozenset()
) -> list[Hit]:
    """Reciprocal rank fusion: each ranking adds weight / (k + rank) to the documents it returns.

    Ranks, not scores, are combined: BM25-like scores and cosine similarities live on different
    scales, and RRF needs no calibration between them. Documents in `lead` (those whose name,
    categories or attributes hold every word) come first, each group in fused order: meaning orders
    what the words name, and never puts a product that merely resembles them above it (docs/search.md,
    Fusion). Their scores get 1 more (an RRF sum stays below 0.1), so scores still fall down the list."""
    fused: dict[uuid.UUID, float] = {}
    for weight, hits in rankings:
        for rank, hit in enumerate(hits):
            fused[hit.product_id] = fused.get(hit.product_id, 0.0) + weight / (k + rank + 1)
    scored = {pid: score + 1.0 if pid in lead else score for pid, score in fused.items()}
    return [Hit(pid, score) for pid, score in sorted(scored.items(), key=lambda kv: (-kv[1], str(kv[0])))]
