"""Which edge-cached responses each catalog event makes stale."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from mercato.catalog.entrypoints.purge_keys import purge_keys
from mercato.platform import cdn
from mercato.platform.events import Envelope


def envelope(type_: str, aggregate_id: str, **payload: object) -> Envelope:
    return Envelope(uuid.uuid4(), type_, 1, datetime.now(UTC), aggregate_id, dict(payload))


def test_a_product_event_purges_the_product_and_every_list() -> None:
    for type_ in ("catalog.product_updated", "catalog.variant_price_changed", "catalog.product_deleted"):
        assert purge_keys(envelope(type_, "p1")) == ["product:p1", "listings"]


def test_a_new_category_purges_the_tree_only() -> None:
    assert purge_keys(envelope("catalog.category_created", "c1")) == ["categories"]


def test_an_import_purges_its_products_or_the_whole_catalog_when_they_are_many() -> None:
    few = envelope("catalog.products_imported", "i1", created=["a"], updated=["b"])
    many = envelope("catalog.products_imported", "i2", created=[str(n) for n in range(300)], updated=[])

    assert purge_keys(few) == ["listings", "product:a", "product:b"]
    assert purge_keys(many) == [cdn.CATALOG]
