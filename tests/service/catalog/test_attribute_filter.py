"""An attribute filter on the variants answers the text test (`attributes ->> name` among the values),
whatever JSON the variants hold, now that it is checked per product (see the listing plans test):
the expected results come from that text test, run as SQL over the whole category."""

from __future__ import annotations

import uuid

from sqlalchemy import text

from mercato.catalog.bootstrap import CatalogService
from mercato.catalog.domain.commands import CreateProduct, NewVariant
from mercato.catalog.service_layer.listing import ListingRequest, ProductFilter
from mercato.platform.db import Database
from mercato.platform.types import Money
from tests.conftest import ref
from tests.service.catalog.builders import a_category

# Each variant's `size`, as JSON text (written as is: some of these the model would not accept, but a
# filter must still answer as the text test does on whatever is stored).
SIZES = [
    '"M"',
    '"42"',
    "42",
    "1.50",
    "12345678901234567890.123456789",
    "true",
    "null",
    '["S", "M"]',
    '{"a": 1}',
    '"line\\nbreak"',
    '"\u00e9t\u00e9"',
]
VALUES = [
    "M",
    "42",
    "1.5",
    "1.50",
    "12345678901234567890.123456789",
    "true",
    "null",
    '["S", "M"]',
    '["S","M"]',
    '{"a": 1}',
    "line\nbreak",
    "\u00e9t\u00e9",
    "NaN",
    "Infinity",
    '"M"',
    "\\u0000",
    "[1, 2",
]


async def test_attribute_filters_answer_as_the_text_test(
    uncached_catalog: CatalogService, db: Database
) -> None:
    # Given products whose variant's `size` is JSON of every kind
    catalog = uncached_catalog
    category = await a_category(catalog)
    for size in SIZES:
        slug = ref("attr")
        await catalog.handle(
            CreateProduct(
                slug=slug,
                name=f"Product {slug}",
                published=True,
                category_id=category,
                variants=[NewVariant(sku=slug.upper(), price=Money(100, "USD"), attributes={"size": "M"})],
            )
        )
        async with db.begin() as conn:
            await conn.execute(
                text("UPDATE catalog.variants SET attributes = CAST(:doc AS jsonb) WHERE sku = :sku"),
                {"doc": '{"size": ' + size + "}", "sku": slug.upper()},
            )

    async def expected(values: list[str]) -> set[uuid.UUID]:
        async with db.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT DISTINCT p.id FROM catalog.products p "
                    "JOIN catalog.variants v ON v.product_id = p.id WHERE p.category_id = :c "
                    "AND v.attributes ->> 'size' = ANY(CAST(:values AS text[]))"
                ),
                {"c": category, "values": values},
            )
            return {r.id for r in rows}

    for values in [[v] for v in VALUES] + [VALUES[:4], VALUES[5:11]]:
        # When the listing filters on those values
        page = await catalog.queries.list_products(
            ListingRequest(
                first=100, filter=ProductFilter(category_id=category, attributes=(("size", tuple(values)),))
            )
        )

        # Then it finds exactly the products the text test finds
        assert {p.id for p in page.items} == await expected(values), values
    # The text test finds something of every kind but null (whose text is SQL NULL)
    found = {v: len(await expected([v])) for v in VALUES}
    assert found["42"] == 2 and found["1.50"] == 1 and found["12345678901234567890.123456789"] == 1
    assert (found["true"], found['["S", "M"]'], found['{"a": 1}'], found["null"]) == (1, 1, 1, 0)
    assert (found["line\nbreak"], found["\u00e9t\u00e9"], found["M"]) == (1, 1, 1)
