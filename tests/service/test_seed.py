"""`mercato seed`: the generated demo catalog, the Luma loader, and seeding through the services.

The test database is shared with other tests, so assertions are about what these seeds report and
about rows looked up by the slugs/SKUs they generate, never about table totals.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import text

from mercato.app import demo_data, luma
from mercato.app.demo_data import ProductSpec, SeedPlan, Skipped, VariantSpec, slugify
from mercato.app.seed import (
    SKU_TAKEN,
    SLUG_TAKEN,
    SeedSummary,
    catalog_is_empty,
    seed_demo,
    seed_from_file,
    seed_plan,
)
from mercato.catalog.bootstrap import CatalogService
from mercato.catalog.domain.model import Product, Variant
from mercato.inventory.bootstrap import InventoryService, inventory_outbox
from mercato.platform.cache import Cache
from mercato.platform.db import Database
from mercato.platform.errors import ClientError
from mercato.platform.types import Money
from mercato.platform.validation import SLUG_RE
from tests.conftest import ref

LUMA = Path("/work/shared/data/luma/catalog.json")
# From the README next to the file: 199 products, of which the bundle and the grouped product have
# no price of their own; 147 configurables with 1,847 variants, 44 simple and 6 downloadable products.
LUMA_PRODUCTS = 197
LUMA_VARIANTS = 1_847 + 44 + 6
LUMA_CATEGORIES = 38
LUMA_NO_PRICE = {"24-WG080", "24-WG085_Group"}


# -- the generated demo catalog (no database) -----------------------------------------------------


def test_demo_plan_is_deterministic_and_prefix_stable() -> None:
    assert demo_data.generate(40) == demo_data.generate(40)
    assert demo_data.generate(25).products == demo_data.generate(40).products[:25]
    assert demo_data.generate(10, seed=1).products != demo_data.generate(10).products


def test_demo_plan_is_valid() -> None:
    plan = demo_data.generate(400)
    products = plan.products
    assert len({p.slug for p in products}) == len(products) == 400
    skus = [v.sku for p in products for v in p.variants]
    assert len(set(skus)) == len(skus)
    assert len({m[:3].upper() for m in demo_data.MODELS}) == len(demo_data.MODELS)  # SKU codes

    assert 15 <= len(plan.categories) <= 25
    seen: set[str] = set()
    for category in plan.categories:
        assert SLUG_RE.match(category.slug)
        assert category.parent_slug is None or category.parent_slug in seen  # parents first
        seen.add(category.slug)
    assert {c.slug for c in plan.categories if c.parent_slug is None} == {"women", "men", "gear"}
    leaves = seen - {c.parent_slug for c in plan.categories}

    for p in products:
        assert p.category_slug in leaves
        assert p.media
        assert all(
            re.fullmatch(rf"https://cdn\.example\.com/mercato/demo/{p.slug}-\d\.jpg", m) for m in p.media
        )
        assert {"material", "activity", "style"} <= p.attributes.keys()
        assert {v.price.currency for v in p.variants} == {"USD"}
        assert all(1_999 <= v.price.amount <= 24_900 for v in p.variants)
        assert all(dict(v.stock).keys() == {"main", "east"} for v in p.variants)
        if p.category_slug is not None and p.category_slug.startswith("gear"):
            assert len(p.variants) == 1
        else:
            sizes = {v.attributes["size"] for v in p.variants}
            colors = {v.attributes["color"] for v in p.variants}
            assert sizes == set(demo_data.SIZES)
            assert len(colors) >= 2
            grid = {(v.attributes["size"], v.attributes["color"]) for v in p.variants}
            assert grid == {(s, c) for s in sizes for c in colors}
            assert len(p.variants) == len(grid)
            assert re.fullmatch(r"(WW|MW)-[A-Z]{3}-[A-Z]{3}\d*-(XS|S|M|L|XL)-[A-Z]+", p.variants[0].sku)
        # The catalog's own input rules accept it (checked without a database).
        Product.create(
            slug=p.slug,
            name=p.name,
            description=p.description,
            category_id=None,
            attributes=p.attributes,
            media=list(p.media),
            published=p.published,
            variants=[
                Variant(id=uuid.uuid4(), sku=v.sku, attributes=v.attributes, price=v.price)
                for v in p.variants
            ],
        )

    assert 0.8 <= sum(p.published for p in products) / len(products) <= 0.97
    # Out of stock on purpose: single variants, and whole products (so `inStock: false` finds some).
    assert any(all(q == 0 for _, q in v.stock) for p in products for v in p.variants)
    assert any(all(q == 0 for v in p.variants for _, q in v.stock) for p in products)
    assert any(all(q > 0 for _, q in v.stock) for p in products for v in p.variants)


# -- the Luma loader (no database) ------------------------------------------------------------------


@pytest.fixture(scope="module")
def luma_plan() -> SeedPlan:
    if not LUMA.exists():
        pytest.skip(f"{LUMA} is not present (the Luma sample data is not part of the repository)")
    return luma.load(LUMA)


@pytest.fixture(scope="module")
def luma_raw(luma_plan: SeedPlan) -> tuple[list[dict[str, Any]], dict[tuple[str, ...], str]]:
    """The file's products, and category url_key by path: expectations come from the file itself."""
    by_path: dict[tuple[str, ...], str] = {}

    def walk(nodes: list[dict[str, Any]]) -> None:
        for node in nodes:
            by_path[tuple(node["path"])] = node["url_key"]
            walk(node["children"])

    walk(json.loads(LUMA.with_name("categories.json").read_text()))
    return json.loads(LUMA.read_text()), by_path


def _first(items: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    return next(item for item in items if item["type"] == kind)


def test_luma_file_maps_to_a_plan(
    luma_plan: SeedPlan, luma_raw: tuple[list[dict[str, Any]], dict[tuple[str, ...], str]]
) -> None:
    plan, (items, category_of) = luma_plan, luma_raw
    assert plan == luma.load(LUMA)  # stock quantities are pseudo-random but deterministic
    assert len(plan.categories) == LUMA_CATEGORIES
    assert len(plan.products) == LUMA_PRODUCTS
    assert sum(len(p.variants) for p in plan.products) == LUMA_VARIANTS
    assert {s.ref for s in plan.skipped} == LUMA_NO_PRICE
    assert {s.reason for s in plan.skipped} == {luma.NO_OWN_PRICE}
    assert len({p.slug for p in plan.products}) == LUMA_PRODUCTS
    assert all(SLUG_RE.match(p.slug) for p in plan.products)
    assert all(0 <= q <= luma.STOCK_MAX for p in plan.products for v in p.variants for _, q in v.stock)
    assert {code for p in plan.products for v in p.variants for code, _ in v.stock} == {"main"}
    priced = [i for i in items if i["price"] is not None]
    assert sum(p.published for p in plan.products) == sum(i["visibility"] == "catalog_search" for i in priced)

    by_sku = {p.variants[0].sku: p for p in plan.products}
    simple = _first(items, "simple")
    product = by_sku[simple["sku"]]
    assert product.slug == slugify(simple["name"]) and product.name == simple["name"]
    assert product.category_slug == category_of[tuple(simple["category_path"])]
    assert product.media == tuple(simple["images"])
    assert product.published == (simple["visibility"] == "catalog_search")
    assert product.attributes == {k: v for k, v in simple["attributes"].items() if v is not None}
    assert [(v.sku, v.price, v.attributes) for v in product.variants] == [
        (simple["sku"], Money.from_decimal_string(simple["price"], "USD"), {})
    ]
    configurable = _first(items, "configurable")
    product = by_sku[configurable["variants"][0]["sku"]]
    assert product.category_slug == category_of[tuple(configurable["category_path"])]
    assert [(v.sku, v.price, v.attributes) for v in product.variants] == [
        (v["sku"], Money.from_decimal_string(v["price"], "USD"), v["attributes"])
        for v in configurable["variants"]
    ]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "not valid JSON"),
        ('{"sku": "x"}', "expected a JSON array"),
        (
            '[{"sku": "x", "type": "simple", "price": "1.00", "currency": "USD"}]',
            "product #1 (x): 'name' is missing",
        ),
        ('[{"sku": "x", "name": "X", "price": "1.005", "currency": "USD"}]', "'price' '1.005'"),
    ],
)
def test_malformed_luma_file_is_one_typed_line(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "catalog.json"
    path.write_text(content)
    with pytest.raises(luma.SeedFileError) as caught:
        luma.load(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and problem in message and "\n" not in message
    assert caught.value.code is luma.SeedFileErrorCode.MALFORMED


def test_missing_luma_file(tmp_path: Path) -> None:
    with pytest.raises(luma.SeedFileError) as caught:
        luma.load(tmp_path / "catalog.json")
    assert caught.value.code is luma.SeedFileErrorCode.NOT_FOUND
    assert str(tmp_path / "catalog.json") in str(caught.value)


# -- seeding through the services -------------------------------------------------------------------


@pytest.fixture(scope="module")
def catalog(db: Database, redis: Redis, namespace: str) -> CatalogService:
    return CatalogService(db, Cache(redis, namespace, enabled=False), namespace)


@pytest.fixture(scope="module")
def inventory(db: Database, namespace: str) -> InventoryService:
    return InventoryService(db, inventory_outbox(namespace))


async def _existing(db: Database, table: str, column: str, values: list[str]) -> set[str]:
    async with db.connect() as conn:
        rows = await conn.execute(
            text(f"SELECT {column} FROM {table} WHERE {column} = ANY(:values)"), {"values": values}
        )
        return {r[0] for r in rows}


async def _stock_rows(db: Database, skus: list[str]) -> list[tuple[str, str, int]]:
    async with db.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT s.sku, w.code, s.on_hand FROM inventory.stock s "
                "JOIN inventory.warehouses w ON w.id = s.warehouse_id WHERE s.sku = ANY(:skus)"
            ),
            {"skus": skus},
        )
        return [(r.sku, r.code, r.on_hand) for r in rows]


async def test_seed_demo_creates_what_it_reports_and_skips_on_rerun(
    db: Database, catalog: CatalogService, inventory: InventoryService
) -> None:
    plan = demo_data.generate(12)
    slugs = [p.slug for p in plan.products]
    new = [p for p in plan.products if p.slug not in await _existing(db, "catalog.products", "slug", slugs)]
    new_categories = {c.slug for c in plan.categories} - await _existing(
        db, "catalog.categories", "slug", [c.slug for c in plan.categories]
    )
    calls: list[tuple[int, int]] = []

    summary = await seed_demo(
        catalog, inventory, products=12, progress=lambda done, total: calls.append((done, total))
    )

    assert summary.categories == len(new_categories)
    assert summary.products == len(new)
    assert summary.variants == sum(len(p.variants) for p in new)
    assert summary.stock_rows == 2 * summary.variants
    assert len(summary.skipped) == 12 - len(new)
    assert calls[-1] == (12, 12) and len(calls) == 12
    assert not await catalog_is_empty(catalog)
    assert await _existing(db, "catalog.products", "slug", slugs) == set(slugs)
    assert await _existing(db, "catalog.categories", "slug", [c.slug for c in plan.categories]) == {
        c.slug for c in plan.categories
    }
    skus = [v.sku for p in new for v in p.variants]
    assert await _existing(db, "catalog.variants", "sku", skus) == set(skus)
    expected = {(v.sku, code, q) for p in new for v in p.variants for code, q in v.stock}
    assert set(await _stock_rows(db, skus)) == expected
    assert any(q == 0 for _, _, q in expected)  # out-of-stock rows exist too

    again = await seed_demo(catalog, inventory, products=12)

    assert again == SeedSummary(0, 0, 0, 0, again.skipped)
    assert sorted(s.ref for s in again.skipped) == sorted(slugs)
    assert {s.reason for s in again.skipped} == {SLUG_TAKEN}
    assert str(again) == again.describe()
    assert again.describe().endswith("skipped 12 (12 slug already taken)")
    assert sorted(await _stock_rows(db, skus)) == sorted(expected)  # stock untouched


async def test_taken_sku_is_skipped_and_other_refusals_name_the_product(
    db: Database, catalog: CatalogService, inventory: InventoryService
) -> None:
    sku = ref("SEED").upper()
    price = Money(1_999, "USD")

    def product(slug: str, variant_sku: str) -> ProductSpec:
        variant = VariantSpec(variant_sku, price, {}, (("main", 3),))
        return ProductSpec(slug, "Seed Test", "", None, {}, (), True, (variant,))

    first, second = ref("seed-a"), ref("seed-b")
    plan = SeedPlan(luma.WAREHOUSES, (), (product(first, sku),))
    assert (await seed_plan(catalog, inventory, plan)).products == 1
    summary = await seed_plan(catalog, inventory, SeedPlan(luma.WAREHOUSES, (), (product(second, sku),)))
    assert (summary.products, summary.stock_rows) == (0, 0)
    assert summary.skipped == (Skipped(second, SKU_TAKEN),)
    assert await _stock_rows(db, [sku]) == [(sku, "main", 3)]

    bad = SeedPlan(luma.WAREHOUSES, (), (product(ref("seed-c"), "not a sku"),))
    with pytest.raises(ClientError, match=r"^product 'seed-c-[0-9a-f]+': variants\.0\.sku must be"):
        await seed_plan(catalog, inventory, bad)


async def test_seed_from_malformed_file_writes_nothing(
    tmp_path: Path, catalog: CatalogService, inventory: InventoryService
) -> None:
    path = tmp_path / "catalog.json"
    path.write_text('[{"sku": "seed-test-x", "name": "Seed Test X", "price": "nope", "currency": "USD"}]')
    with pytest.raises(luma.SeedFileError, match="'price'"):
        await seed_from_file(catalog, inventory, path)
    with pytest.raises(luma.SeedFileError) as caught:
        await seed_from_file(catalog, inventory, tmp_path / "absent.json")
    assert caught.value.code is luma.SeedFileErrorCode.NOT_FOUND


@pytest.mark.parametrize(
    ("field", "raw", "problem"),
    [
        ("name", '"Bad\\u0000tee"', "name holds the control character U+0000"),
        ("description", '"half an emoji \\ud83d"', "description is not valid Unicode"),
        ("attributes", '{"color": "red\\u001b"}', "attributes.color holds the control character U+001B"),
    ],
)
async def test_a_file_with_bad_text_fails_whole_and_writes_nothing(
    tmp_path: Path,
    db: Database,
    catalog: CatalogService,
    inventory: InventoryService,
    field: str,
    raw: str,
    problem: str,
) -> None:
    # Given a file whose first product is fine and whose second holds a string the rule refuses
    good, bad = ref("SEED-OK"), ref("SEED-BAD")
    path = tmp_path / "catalog.json"
    path.write_text(
        f'[{{"sku": "{good}", "name": "Good {good}", "price": "5.00"}},'
        f' {{"sku": "{bad}", "name": "Bad {bad}", "price": "5.00", "{field}": {raw}}}]'
    )
    # When it is loaded, then it fails with one line naming the product and the field
    with pytest.raises(luma.SeedFileError, match=re.escape(problem)) as caught:
        await seed_from_file(catalog, inventory, path)
    assert caught.value.code is luma.SeedFileErrorCode.MALFORMED
    # And not even the good product was written
    assert await _existing(db, "catalog.variants", "sku", [good, bad]) == set()


@pytest.fixture(scope="module")
async def luma_seeded(
    db: Database, catalog: CatalogService, inventory: InventoryService, luma_plan: SeedPlan
) -> tuple[SeedSummary, int, int]:
    """Luma's slugs are fixed, so it is loaded once; also returns how many categories and products
    of it already existed (another test may have loaded it before)."""
    plan = luma_plan
    categories = await _existing(db, "catalog.categories", "slug", [c.slug for c in plan.categories])
    products = await _existing(db, "catalog.products", "slug", [p.slug for p in plan.products])
    summary = await seed_from_file(catalog, inventory, LUMA)
    return summary, len(categories), len(products)


async def test_luma_categories_list_parents_before_children(
    catalog: CatalogService, luma_seeded: tuple[SeedSummary, int, int], luma_plan: SeedPlan
) -> None:
    # Given the Luma tree, whose positions count per level (10 children have a smaller one than
    # their parent), when the categories are listed, then each Luma category follows its parent
    luma_slugs = {c.slug for c in luma_plan.categories}
    listed = await catalog.queries.categories()
    slug_of = {c.id: c.slug for c in listed}
    seen: set[str] = set()
    for category in listed:
        if category.slug in luma_slugs:
            parent = slug_of.get(category.parent_id) if category.parent_id else None
            assert parent is None or parent in seen, (category.slug, parent)
        seen.add(category.slug)
    assert luma_slugs <= seen


async def test_seed_from_luma_file(
    db: Database,
    luma_seeded: tuple[SeedSummary, int, int],
    luma_raw: tuple[list[dict[str, Any]], dict[tuple[str, ...], str]],
) -> None:
    summary, categories_before, products_before = luma_seeded
    items, category_of = luma_raw
    assert summary.categories == LUMA_CATEGORIES - categories_before
    assert summary.products == LUMA_PRODUCTS - products_before
    if products_before == 0:
        assert summary.variants == LUMA_VARIANTS
        assert summary.stock_rows == LUMA_VARIANTS  # one warehouse
    assert {s.ref for s in summary.skipped} >= LUMA_NO_PRICE
    assert summary.skipped_by_reason()[luma.NO_OWN_PRICE] == 2
    assert f"2 {luma.NO_OWN_PRICE}" in summary.describe()

    simple, configurable = _first(items, "simple"), _first(items, "configurable")
    skus = [simple["sku"], *(v["sku"] for v in configurable["variants"])]
    assert {(sku, code) for sku, code, _ in await _stock_rows(db, skus)} == {(sku, "main") for sku in skus}
    async with db.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT v.sku, v.price_amount, v.currency, c.slug AS category FROM catalog.variants v "
                "JOIN catalog.products p ON p.id = v.product_id "
                "JOIN catalog.categories c ON c.id = p.category_id "
                "WHERE v.sku = ANY(:skus)"
            ),
            {"skus": skus},
        )
        found = {r.sku: (r.price_amount, r.currency, r.category) for r in rows}
    expected = {
        item["sku"] if item["type"] == "simple" else v["sku"]: (
            Money.from_decimal_string(v["price"], "USD").amount,
            "USD",
            category_of[tuple(item["category_path"])],
        )
        for item in (simple, configurable)
        for v in (item.get("variants") or [item])
    }
    assert found == expected
