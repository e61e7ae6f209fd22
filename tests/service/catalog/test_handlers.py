from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from mercato.catalog.bootstrap import CatalogService
from mercato.catalog.domain.commands import (
    CreateCategory,
    CreateProduct,
    CreateVariant,
    DeleteProduct,
    NewVariant,
    UpdateProduct,
    UpdateVariant,
)
from mercato.catalog.domain.errors import (
    CategoryCreateErrorCode,
    ProductCreateErrorCode,
    ProductDeleteErrorCode,
    ProductUpdateErrorCode,
    VariantCreateErrorCode,
    VariantUpdateErrorCode,
)
from mercato.platform.db import Database
from mercato.platform.errors import ClientError, field_errors
from mercato.platform.types import Money
from tests.conftest import ref
from tests.service.catalog.builders import a_category, a_product


async def outbox_types(db: Database, aggregate_id: uuid.UUID) -> list[str]:
    async with db.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT convert_from(body, 'UTF8')::jsonb ->> 'type' FROM catalog.outbox "
                "WHERE convert_from(body, 'UTF8')::jsonb ->> 'aggregate_id' = :id ORDER BY seq"
            ),
            {"id": str(aggregate_id)},
        )
        return [r[0] for r in rows]


async def refused(catalog: CatalogService, command: object) -> list[tuple[str | None, object]]:
    with pytest.raises(ClientError) as caught:
        await catalog.handle(command)
    return [(e.field, e.code) for e in field_errors(caught.value)]


async def test_creating_a_product_writes_it_and_its_event_together(
    catalog: CatalogService, db: Database
) -> None:
    product_id, skus = await a_product(catalog, prices=(1000, 1200))
    assert await outbox_types(db, product_id) == ["catalog.product_created"]
    [view] = await catalog.queries.products_by_ids([product_id])
    assert [v.sku for v in view.variants] == skus
    assert view.min_price_amount == 1000


async def test_a_taken_slug_is_refused_and_nothing_is_written(catalog: CatalogService, db: Database) -> None:
    product_id, _ = await a_product(catalog)
    [existing] = await catalog.queries.products_by_ids([product_id])
    sku = ref("SKU").upper()
    command = CreateProduct(
        slug=existing.slug, name="Other", variants=[NewVariant(sku=sku, price=Money(1, "USD"))]
    )
    assert await refused(catalog, command) == [("slug", ProductCreateErrorCode.DUPLICATE_SLUG)]
    assert await catalog.queries.variants_by_skus([sku]) == {}


async def test_a_taken_sku_is_refused(catalog: CatalogService) -> None:
    _, [sku] = await a_product(catalog)
    command = CreateProduct(
        slug=ref("p"), name="Other", variants=[NewVariant(sku=sku, price=Money(1, "USD"))]
    )
    assert await refused(catalog, command) == [("sku", ProductCreateErrorCode.DUPLICATE_SKU)]


async def test_unknown_category_and_parent_are_typed_errors(catalog: CatalogService) -> None:
    missing = uuid.uuid4()
    assert await refused(catalog, CreateProduct(slug=ref("p"), name="X", category_id=missing)) == [
        ("categoryId", ProductCreateErrorCode.CATEGORY_NOT_FOUND)
    ]
    assert await refused(catalog, CreateCategory(slug=ref("c"), name="X", parent_id=missing)) == [
        ("parentId", CategoryCreateErrorCode.PARENT_NOT_FOUND)
    ]


async def test_validation_errors_carry_the_mutations_own_codes(catalog: CatalogService) -> None:
    command = CreateProduct(slug="Bad Slug", name="x" * 10_000_000)
    assert await refused(catalog, command) == [
        ("slug", ProductCreateErrorCode.INVALID),
        ("name", ProductCreateErrorCode.TOO_LONG),
    ]


async def test_updating_a_product_bumps_its_version_and_raises_events(
    catalog: CatalogService, db: Database
) -> None:
    product_id, _ = await a_product(catalog, published=False)
    await catalog.handle(UpdateProduct(product_id=product_id, changes={"name": "Renamed", "published": True}))
    [view] = await catalog.queries.products_by_ids([product_id])
    assert (view.name, view.published) == ("Renamed", True)
    assert await outbox_types(db, product_id) == [
        "catalog.product_created",
        "catalog.product_updated",
        "catalog.product_published",
    ]


async def test_updating_an_unknown_product_is_not_found(catalog: CatalogService) -> None:
    assert await refused(catalog, UpdateProduct(product_id=uuid.uuid4(), changes={"name": "x"})) == [
        ("id", ProductUpdateErrorCode.NOT_FOUND)
    ]
    assert await refused(catalog, DeleteProduct(product_id=uuid.uuid4())) == [
        ("id", ProductDeleteErrorCode.NOT_FOUND)
    ]


async def test_variants_are_added_and_repriced(catalog: CatalogService, db: Database) -> None:
    product_id, _ = await a_product(catalog, prices=(3000,))
    sku = ref("V").upper()
    variant_id = await catalog.handle(CreateVariant(product_id=product_id, sku=sku, price=Money(2000, "USD")))
    await catalog.handle(UpdateVariant(variant_id=variant_id, price=Money(1500, "USD")))
    [view] = await catalog.queries.products_by_ids([product_id])
    assert {v.sku: v.price_amount for v in view.variants}[sku] == 1500
    assert view.min_price_amount == 1500
    assert (await outbox_types(db, product_id))[-2:] == [
        "catalog.variant_created",
        "catalog.variant_price_changed",
    ]


async def test_the_price_span_follows_the_variants_prices(catalog: CatalogService, db: Database) -> None:
    # Given a product of one variant at 30.00 and one added at 20.00
    product_id, _ = await a_product(catalog, prices=(3000,))
    variant_id = await catalog.handle(
        CreateVariant(product_id=product_id, sku=ref("V").upper(), price=Money(2000, "USD"))
    )
    spans = [await price_span(db, product_id)]

    # When the added one is repriced above the first
    await catalog.handle(UpdateVariant(variant_id=variant_id, price=Money(4500, "USD")))

    # Then the product's cheapest and dearest prices (the listing's price band reads them) follow
    assert [*spans, await price_span(db, product_id)] == [(2000, 3000), (3000, 4500)]


async def price_span(db: Database, product_id: uuid.UUID) -> tuple[int, int]:
    async with db.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT min_price_amount, max_price_amount FROM catalog.products WHERE id = :id"),
                {"id": product_id},
            )
        ).one()
    return (row.min_price_amount, row.max_price_amount)


async def test_variant_errors(catalog: CatalogService) -> None:
    product_id, _ = await a_product(catalog)
    assert await refused(
        catalog, CreateVariant(product_id=product_id, sku=ref("V"), price=Money(1, "EUR"))
    ) == [("price", VariantCreateErrorCode.CURRENCY_MISMATCH)]
    assert await refused(
        catalog, CreateVariant(product_id=uuid.uuid4(), sku=ref("V"), price=Money(1, "USD"))
    ) == [("productId", VariantCreateErrorCode.PRODUCT_NOT_FOUND)]
    assert await refused(catalog, UpdateVariant(variant_id=uuid.uuid4(), price=Money(1, "USD"))) == [
        ("id", VariantUpdateErrorCode.NOT_FOUND)
    ]


async def test_deleting_a_product_removes_its_variants(catalog: CatalogService, db: Database) -> None:
    product_id, skus = await a_product(catalog, prices=(1, 2))
    await catalog.handle(DeleteProduct(product_id=product_id))
    assert await catalog.queries.products_by_ids([product_id], include_unpublished=True) == []
    assert await catalog.queries.variants_by_skus(skus) == {}
    assert (await outbox_types(db, product_id))[-1] == "catalog.product_deleted"


async def test_categories_form_a_tree(catalog: CatalogService, uncached_catalog: CatalogService) -> None:
    root = await a_category(catalog, name="Women")
    child = await a_category(catalog, parent=root, name="Tops")
    by_id = {c.id: c for c in await uncached_catalog.queries.categories()}
    assert by_id[child].parent_id == root


async def test_categories_list_parents_before_children_in_menu_order(
    catalog: CatalogService, uncached_catalog: CatalogService
) -> None:
    # Given a parent placed late in its menu whose children come first in theirs (positions are per
    # level, so a flat sort by position would list the children before their parent)
    parent = await catalog.handle(CreateCategory(slug=ref("cat"), name="Gear", position=9))
    second = await catalog.handle(CreateCategory(slug=ref("cat"), name="Bags", parent_id=parent, position=1))
    first = await catalog.handle(
        CreateCategory(slug=ref("cat"), name="Watches", parent_id=parent, position=0)
    )
    grandchild = await catalog.handle(CreateCategory(slug=ref("cat"), name="Totes", parent_id=second))

    # When the categories are listed
    listed = await uncached_catalog.queries.categories()

    # Then every category comes after its parent, and each parent is followed by its subtree in
    # menu order (position, then name)
    seen: set[uuid.UUID] = set()
    for category in listed:
        assert category.parent_id is None or category.parent_id in seen, category
        seen.add(category.id)
    ids = [c.id for c in listed]
    start = ids.index(parent)
    assert ids[start : start + 4] == [parent, first, second, grandchild]
