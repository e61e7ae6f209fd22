"""Writes to the search index: documents, the vocabulary they feed, and SKU availability.

Each document keeps its `terms`; the vocabulary counts, per word, the documents holding it. Writing a
batch of documents adds and removes the difference in one statement each, under the documents' row
locks, so counts stay exact however many consumers run. Vocabulary rows are updated in sorted term
order.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

import orjson
from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import BigInteger, Boolean, Integer, Text

from mercato.search.domain.model import SearchDocument, values_of

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
    INSERT INTO search.vocabulary (term, docs) SELECT t, n FROM unnest(:terms, :counts) AS a(t, n) ORDER BY t
    ON CONFLICT (term) DO UPDATE SET docs = search.vocabulary.docs + EXCLUDED.docs
""").bindparams(bindparam("terms", type_=ARRAY(Text)), bindparam("counts", type_=ARRAY(Integer)))
_REMOVE_TERMS = text("""
    UPDATE search.vocabulary v SET docs = greatest(v.docs - gone.n, 0)
    FROM (SELECT t, n FROM unnest(:terms, :counts) AS a(t, n) ORDER BY t) AS gone
    WHERE v.term = gone.t AND v.docs > 0
""").bindparams(bindparam("terms", type_=ARRAY(Text)), bindparam("counts", type_=ARRAY(Integer)))
_DELETE = text("DELETE FROM search.documents WHERE product_id = ANY(:ids)").bindparams(
    bindparam("ids", type_=ARRAY(UUID(as_uuid=True)))
)
_RESIZE = text("UPDATE search.index_size SET documents = documents + :change")
_LOCK = text("""
    SELECT product_id, terms, updated_at, facets, variant_axes FROM search.documents
    WHERE product_id = ANY(:ids) ORDER BY product_id FOR UPDATE
""").bindparams(bindparam("ids", type_=ARRAY(UUID(as_uuid=True))))
_VALUE_ARRAYS = (
    bindparam("names", type_=ARRAY(Text)),
    bindparam("values", type_=ARRAY(Text)),
    bindparam("axes", type_=ARRAY(Boolean)),
    bindparam("counts", type_=ARRAY(Integer)),
)
_ADD_VALUES = text("""
    INSERT INTO search.attribute_values (name, value, axis, docs)
    SELECT n, v, a, c FROM unnest(:names, :values, :axes, :counts) AS x(n, v, a, c) ORDER BY n, v, a
    ON CONFLICT (name, value, axis) DO UPDATE SET docs = search.attribute_values.docs + EXCLUDED.docs
""").bindparams(*_VALUE_ARRAYS)
_REMOVE_VALUES = text("""
    UPDATE search.attribute_values t SET docs = greatest(t.docs - gone.c, 0)
    FROM (SELECT n, v, a, c FROM unnest(:names, :values, :axes, :counts) AS x(n, v, a, c)
          ORDER BY n, v, a) AS gone
    WHERE t.name = gone.n AND t.value = gone.v AND t.axis = gone.a AND t.docs > 0
""").bindparams(*_VALUE_ARRAYS)

Value = tuple[str, str, bool]


class _Stored(NamedTuple):
    terms: list[str]
    updated_at: datetime
    values: set[Value]


@dataclass
class _Changes:
    """Documents to add and take away per term and per attribute value, over a batch."""

    terms_added: Counter[str] = field(default_factory=Counter)
    terms_removed: Counter[str] = field(default_factory=Counter)
    values_added: Counter[Value] = field(default_factory=Counter)
    values_removed: Counter[Value] = field(default_factory=Counter)

    def tally(self, before: _Stored | None, terms: set[str], values: set[Value]) -> None:
        had_terms = set(before.terms) if before else set()
        had_values = before.values if before else set()
        self.terms_added.update(terms - had_terms)
        self.terms_removed.update(had_terms - terms)
        self.values_added.update(values - had_values)
        self.values_removed.update(had_values - values)


def _value_params(counts: Counter[Value]) -> dict[str, list[Any]]:
    keys = sorted(counts)
    return {
        "names": [k[0] for k in keys],
        "values": [k[1] for k in keys],
        "axes": [k[2] for k in keys],
        "counts": [counts[k] for k in keys],
    }


def _row(doc: SearchDocument) -> dict[str, object]:
    return {
        "product_id": doc.product_id,
        "slug": doc.slug,
        "name": doc.name,
        "category_ids": list(doc.category_ids),
        "skus": list(doc.skus),
        "prices": list(doc.prices),
        "min_price": doc.min_price,
        "facets": orjson.dumps({k: list(v) for k, v in doc.facets.items()}).decode(),
        "terms": doc.terms(),
        "variant_axes": list(doc.variant_axes),
        "category_text": doc.category_text,
        "attribute_text": doc.attribute_text,
        "description": doc.description,
        "updated_at": doc.updated_at,
    }


class SearchIndex:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def _locked(self, product_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, _Stored]:
        """What the index holds of those of `product_ids` indexed, their rows locked in key order
        (one statement for a whole batch)."""
        rows = await self.conn.execute(_LOCK, {"ids": sorted(set(product_ids))})
        return {
            r.product_id: _Stored(list(r.terms), r.updated_at, values_of(r.facets, r.variant_axes))
            for r in rows
        }

    async def upsert(self, doc: SearchDocument) -> bool:
        """Write `doc` unless the index holds a newer state of the product; True when written."""
        written, _ = await self.apply([doc], ())
        return bool(written)

    async def remove(self, product_id: uuid.UUID) -> bool:
        """Drop the product's document; True when there was one."""
        _, dropped = await self.apply((), [product_id])
        return bool(dropped)

    async def apply(
        self, docs: Sequence[SearchDocument], gone: Sequence[uuid.UUID]
    ) -> tuple[list[SearchDocument], list[uuid.UUID]]:
        """Write `docs` (each unless the index holds a newer state of its product) and drop the
        documents of `gone`, for a batch of distinct products: every row locked first in one
        statement, in key order; the writes sent as one pipelined batch; the differences in the
        vocabulary and the attribute values in at most two statements each. Returns the documents
        written and the ids dropped."""
        if not docs and not gone:
            return [], []
        old = await self._locked([*(d.product_id for d in docs), *gone])
        written = sorted(
            (d for d in docs if d.product_id not in old or old[d.product_id].updated_at <= d.updated_at),
            key=lambda d: d.product_id,
        )
        dropped = sorted(p for p in gone if p in old)
        if dropped:
            await self.conn.execute(_DELETE, {"ids": dropped})
        if written:
            await self.conn.execute(_UPSERT, [_row(d) for d in written])
        changes = _Changes()
        for doc in written:
            changes.tally(old.get(doc.product_id), set(doc.terms()), doc.attribute_values())
        for product_id in dropped:
            changes.tally(old[product_id], set(), set())
        await self._count(changes.terms_added, changes.terms_removed)
        if size := sum(1 for d in written if d.product_id not in old) - len(dropped):
            await self.conn.execute(_RESIZE, {"change": size})
        if changes.values_added:
            await self.conn.execute(_ADD_VALUES, _value_params(changes.values_added))
        if changes.values_removed:
            await self.conn.execute(_REMOVE_VALUES, _value_params(changes.values_removed))
        return written, dropped

    async def _count(self, added: Counter[str], removed: Counter[str]) -> None:
        """Add and take away documents per term (each statement in sorted term order)."""
        if added:
            terms = sorted(added)
            await self.conn.execute(_ADD_TERMS, {"terms": terms, "counts": [added[t] for t in terms]})
        if removed:
            terms = sorted(removed)
            await self.conn.execute(_REMOVE_TERMS, {"terms": terms, "counts": [removed[t] for t in terms]})

    async def indexed_ids(self) -> set[uuid.UUID]:
        rows = await self.conn.execute(text("SELECT product_id FROM search.documents"))
        return {r.product_id for r in rows}

    async def refresh_statistics(self) -> None:
        """ANALYZE the index's tables. A rebuild rewrites them whole, and until autovacuum gets there
        the planner plans for the index as it was: at 10k products searches ran at p50 32.5 ms right
        after a rebuild and 11.3 ms once analyzed (docs/search.md). A role that does not own a table
        gets a warning, not an error."""
        for table in ("documents", "vocabulary", "attribute_values", "sku_availability"):
            await self.conn.execute(text(f"ANALYZE search.{table}"))

    async def recount_vocabulary(self) -> None:
        """Rebuild the vocabulary, the attribute values and the document count from the documents
        (after a reindex: exact whatever came before)."""
        await self.conn.execute(text("DELETE FROM search.vocabulary"))
        await self.conn.execute(
            text("""INSERT INTO search.vocabulary (term, docs)
                    SELECT t, count(*) FROM search.documents, unnest(terms) AS t GROUP BY t ORDER BY t""")
        )
        await self.conn.execute(
            text("UPDATE search.index_size SET documents = (SELECT count(*) FROM search.documents)")
        )
        await self.conn.execute(text("DELETE FROM search.attribute_values"))
        await self.conn.execute(
            text("""INSERT INTO search.attribute_values (name, value, axis, docs)
                    SELECT f.name, v.value, f.name = ANY(d.variant_axes), count(*)
                    FROM search.documents d, jsonb_each(d.facets) AS f(name, vals),
                         jsonb_array_elements_text(f.vals) AS v(value)
                    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3""")
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
