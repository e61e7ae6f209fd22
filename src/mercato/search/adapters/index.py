"""Writes to the search index: documents, the vocabulary they feed, and SKU availability.

Each document keeps its `terms`; the vocabulary counts, per word, the documents holding it. Writing a
document adds and removes the difference in one statement each, under the document's row lock, so
counts stay exact however many consumers run. Vocabulary rows are updated in sorted term order.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import orjson
from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import BigInteger, Text

from mercato.search.domain.model import SearchDocument

# Field weights of the text search: A name, B categories, C attributes and variant options,
# D description (ts_rank weighs them, see service_layer/lexical.py).
_UPSERT = text("""
    INSERT INTO search.documents AS d (product_id, slug, name, category_ids, skus, prices, min_price,
        facets, variant_axes, terms, document, updated_at, indexed_at)
    VALUES (:product_id, :slug, :name, :category_ids, :skus, :prices, :min_price, CAST(:facets AS jsonb),
        :variant_axes, :terms,
        setweight(to_tsvector('english', :name), 'A')
        || setweight(to_tsvector('english', :category_text), 'B')
        || setweight(to_tsvector('english', :attribute_text), 'C')
        || setweight(to_tsvector('english', :description), 'D'),
        :updated_at, now())
    ON CONFLICT (product_id) DO UPDATE SET slug = EXCLUDED.slug, name = EXCLUDED.name,
        category_ids = EXCLUDED.category_ids, skus = EXCLUDED.skus, prices = EXCLUDED.prices,
        min_price = EXCLUDED.min_price, facets = EXCLUDED.facets, variant_axes = EXCLUDED.variant_axes,
        terms = EXCLUDED.terms,
        document = EXCLUDED.document, updated_at = EXCLUDED.updated_at, indexed_at = now()
""").bindparams(
    bindparam("category_ids", type_=ARRAY(UUID(as_uuid=True))),
    bindparam("skus", type_=ARRAY(Text)),
    bindparam("prices", type_=ARRAY(BigInteger)),
    bindparam("terms", type_=ARRAY(Text)),
    bindparam("variant_axes", type_=ARRAY(Text)),
)
_ADD_TERMS = text("""
    INSERT INTO search.vocabulary (term, docs) SELECT t, 1 FROM unnest(:terms) AS t
    ON CONFLICT (term) DO UPDATE SET docs = search.vocabulary.docs + 1
""").bindparams(bindparam("terms", type_=ARRAY(Text)))
_REMOVE_TERMS = text("""
    UPDATE search.vocabulary v SET docs = v.docs - 1
    FROM (SELECT t FROM unnest(:terms) AS t ORDER BY t) AS gone WHERE v.term = gone.t AND v.docs > 0
""").bindparams(bindparam("terms", type_=ARRAY(Text)))


class SearchIndex:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def _locked_terms(self, product_id: uuid.UUID) -> tuple[list[str], datetime] | None:
        row = (
            await self.conn.execute(
                text("SELECT terms, updated_at FROM search.documents WHERE product_id = :id FOR UPDATE"),
                {"id": product_id},
            )
        ).first()
        return (list(row.terms), row.updated_at) if row is not None else None

    async def upsert(self, doc: SearchDocument) -> bool:
        """Write `doc` unless the index holds a newer state of the product; True when written."""
        old = await self._locked_terms(doc.product_id)
        if old is not None and old[1] > doc.updated_at:
            return False
        terms = doc.terms()
        await self.conn.execute(
            _UPSERT,
            {
                "product_id": doc.product_id,
                "slug": doc.slug,
                "name": doc.name,
                "category_ids": list(doc.category_ids),
                "skus": list(doc.skus),
                "prices": list(doc.prices),
                "min_price": doc.min_price,
                "facets": orjson.dumps({k: list(v) for k, v in doc.facets.items()}).decode(),
                "terms": terms,
                "variant_axes": list(doc.variant_axes),
                "category_text": doc.category_text,
                "attribute_text": doc.attribute_text,
                "description": doc.description,
                "updated_at": doc.updated_at,
            },
        )
        await self._count_terms(old[0] if old else [], terms)
        return True

    async def remove(self, product_id: uuid.UUID) -> bool:
        old = await self._locked_terms(product_id)
        if old is None:
            return False
        await self.conn.execute(
            text("DELETE FROM search.documents WHERE product_id = :id"), {"id": product_id}
        )
        await self._count_terms(old[0], [])
        return True

    async def _count_terms(self, old: list[str], new: list[str]) -> None:
        before, after = set(old), set(new)
        if added := sorted(after - before):
            await self.conn.execute(_ADD_TERMS, {"terms": added})
        if removed := sorted(before - after):
            await self.conn.execute(_REMOVE_TERMS, {"terms": removed})

    async def indexed_ids(self) -> set[uuid.UUID]:
        rows = await self.conn.execute(text("SELECT product_id FROM search.documents"))
        return {r.product_id for r in rows}

    async def recount_vocabulary(self) -> None:
        """Rebuild the vocabulary from the documents (after a reindex: exact whatever came before)."""
        await self.conn.execute(text("DELETE FROM search.vocabulary"))
        await self.conn.execute(
            text("""INSERT INTO search.vocabulary (term, docs)
                    SELECT t, count(*) FROM search.documents, unnest(terms) AS t GROUP BY t ORDER BY t""")
        )

    async def record_availability(self, sku: str, available: int, version: int) -> None:
        """Keep the highest version per SKU: availability events may arrive out of order."""
        await self.record_availabilities([(sku, available, version)])

    async def record_availabilities(self, levels: Sequence[tuple[str, int, int]]) -> None:
        """`record_availability` of many SKUs (sku, available, version) in one statement."""
        latest: dict[str, tuple[int, int]] = {}
        for sku, available, version in levels:
            if sku not in latest or latest[sku][1] < version:
                latest[sku] = (available, version)
        if not latest:
            return
        await self.conn.execute(
            text("""INSERT INTO search.sku_availability AS a (sku, available, version)
                    SELECT * FROM unnest(CAST(:skus AS text[]), CAST(:available AS integer[]),
                                         CAST(:versions AS bigint[]))
                    ON CONFLICT (sku) DO UPDATE SET available = EXCLUDED.available, version = EXCLUDED.version
                    WHERE a.version < EXCLUDED.version"""),
            {
                "skus": list(latest),
                "available": [a for a, _ in latest.values()],
                "versions": [v for _, v in latest.values()],
            },
        )
