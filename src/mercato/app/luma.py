"""Reads a catalog file in the Luma format (the JSON conversion of Magento's sample data) into a plan.

The data itself is never part of this repository (it is OSL-3.0/AFL-3.0); the format is described
in the README next to the file. The whole file is read and checked before anything is written, so
a malformed file fails with one `SeedFileError` line and leaves the database untouched.
"""

from __future__ import annotations

import json
import random
from enum import Enum
from pathlib import Path
from typing import Any, NoReturn

from mercato.app.demo_data import (
    CategorySpec,
    ProductSpec,
    SeedPlan,
    Skipped,
    VariantSpec,
    WarehouseSpec,
    slugify,
    unique,
)
from mercato.platform.errors import ClientError
from mercato.platform.types import Money, MoneyError
from mercato.platform.validation import text_errors

WAREHOUSES = (WarehouseSpec("main", "Main warehouse"),)
STOCK_MAX = 50
NO_OWN_PRICE = "bundle/grouped without own price"


class SeedFileErrorCode(Enum):
    NOT_FOUND = "NOT_FOUND"
    UNREADABLE = "UNREADABLE"
    MALFORMED = "MALFORMED"


class SeedFileError(ClientError):
    """A catalog file that cannot be used; the message is one line and starts with the file name."""

    def __init__(
        self, path: Path, problem: str, code: SeedFileErrorCode = SeedFileErrorCode.MALFORMED
    ) -> None:
        super().__init__(f"{path}: {problem}", code=code, field="file")
        self.path = path


def load(path: Path, *, media_base: str = "") -> SeedPlan:
    """The plan for `path` (catalog.json) and its sibling categories.json when there is one.

    Image paths become media entries as given, behind `media_base` if set (e.g. a CDN prefix).
    """
    items = _read_json(path, required=True)
    if not isinstance(items, list):
        raise SeedFileError(path, "expected a JSON array of products")
    tree = _read_json(path.with_name("categories.json"), required=False)
    if tree is None:
        categories, by_path = _categories_from_products(path, items)
    else:
        categories, by_path = _categories_from_tree(path.with_name("categories.json"), tree)
    products: list[ProductSpec] = []
    skipped: list[Skipped] = []
    slugs: set[str] = set()
    for index, item in enumerate(items):
        row = _Row(path, index, item)
        spec = _product(row, slugs, by_path, media_base)
        if spec is None:
            skipped.append(Skipped(row.text("sku"), NO_OWN_PRICE))
        else:
            products.append(spec)
    plan = SeedPlan(WAREHOUSES, tuple(categories), tuple(products), tuple(skipped))
    _check_text(path, plan)
    return plan


def _check_text(path: Path, plan: SeedPlan) -> None:
    """The boundary rule for text over everything the plan would write: a bad string fails the whole
    file here, before anything is written (the use cases would refuse it too, but one product at a
    time, after writing the ones before it)."""
    for category in plan.categories:
        _text(path, f"category {category.slug!r}", {"url_key": category.slug, "name": category.name})
    for product in plan.products:
        fields = {
            "name": product.name,
            "description": product.description,
            "attributes": product.attributes,
            "images": list(product.media),
            "variants": [{"sku": v.sku, "attributes": v.attributes} for v in product.variants],
        }
        _text(path, f"product {product.slug!r}", fields)


def _text(path: Path, where: str, fields: dict[str, Any]) -> None:
    for name, value in fields.items():
        for error in text_errors(value, name):
            raise SeedFileError(path, f"{where}: {error.message}")


def _read_json(path: Path, *, required: bool) -> Any:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if not required:
            return None
        raise SeedFileError(path, "no such file", SeedFileErrorCode.NOT_FOUND) from None
    except OSError as exc:
        raise SeedFileError(path, f"cannot be read ({exc.strerror})", SeedFileErrorCode.UNREADABLE) from None
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        raise SeedFileError(path, "not UTF-8 text") from None
    except RecursionError:
        raise SeedFileError(path, "not usable JSON (nested too deeply)") from None
    except json.JSONDecodeError as exc:
        raise SeedFileError(
            path, f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None


class _Row:
    """Typed access to one JSON object of the file; every complaint names the file and the entry."""

    def __init__(self, path: Path, index: int, value: Any, what: str = "product") -> None:
        self.path = path
        self.where = f"{what} #{index + 1}"
        if not isinstance(value, dict):
            self.fail("is not an object")
        self.value: dict[str, Any] = value
        sku = value.get("sku")
        if isinstance(sku, str):
            self.where += f" ({sku})"

    def fail(self, problem: str) -> NoReturn:
        raise SeedFileError(self.path, f"{self.where}: {problem}")

    def get(
        self,
        key: str,
        kind: type[Any] | tuple[type[Any], ...],
        default: Any = None,
        *,
        required: bool = False,
    ) -> Any:
        value = self.value.get(key)
        if value is None:
            if required:
                self.fail(f"'{key}' is missing")
            return default
        if not isinstance(value, kind):
            self.fail(f"'{key}' has the wrong type ({type(value).__name__})")
        return value

    def text(self, key: str) -> str:
        value: str = self.get(key, str, required=True)
        if not value.strip():
            self.fail(f"'{key}' is empty")
        return value

    def child(self, value: Any, index: int, what: str) -> _Row:
        row = _Row(self.path, index, value, what)
        row.where = f"{self.where}, {row.where}"
        return row

    def money(self, value: Any, currency: str, key: str = "price") -> Money:
        if not isinstance(value, str):
            self.fail(f"'{key}' must be a decimal string")
        try:
            return Money.from_decimal_string(value, currency)
        except MoneyError as exc:
            self.fail(f"'{key}' {value!r}: {exc}")


def _product(
    row: _Row, slugs: set[str], by_path: dict[tuple[str, ...], str], media_base: str
) -> ProductSpec | None:
    sku, name = row.text("sku"), row.text("name")
    kind = row.get("type", str, "simple")
    raw_variants: list[Any] = row.get("variants", list, [])
    if kind == "configurable" and not raw_variants:
        row.fail("a configurable product needs 'variants'")
    price = row.get("price", str)
    if price is None and not raw_variants:
        return None  # bundle/grouped: Magento prices them from their items, we cannot
    currency = row.get("currency", str, "USD")
    variants: list[VariantSpec] = []
    for i, raw in enumerate(raw_variants):
        vrow = row.child(raw, i, "variant")
        vsku = vrow.text("sku")
        attributes = {k: v for k, v in vrow.get("attributes", dict, {}).items() if v is not None}
        vprice = vrow.money(vrow.value.get("price", price), vrow.get("currency", str, currency))
        variants.append(VariantSpec(vsku, vprice, attributes, _stock(vsku)))
    if not raw_variants:
        variants.append(VariantSpec(sku, row.money(price, currency), {}, _stock(sku)))
    description = row.get("description", str) or row.get("short_description", str, "")
    attributes = {k: v for k, v in row.get("attributes", dict, {}).items() if v is not None and v != []}
    images: list[Any] = row.get("images", list, [])
    if not all(isinstance(image, str) and image for image in images):
        row.fail("'images' must be a list of paths")
    path = tuple(row.get("category_path", list, []))
    # The deepest known category on the product's path (a file without categories.json knows all).
    category = next((by_path[path[:n]] for n in range(len(path), 0, -1) if path[:n] in by_path), None)
    # Magento's url_key when the file gives one (`mercato export --format luma` does, so that a product
    # keeps its slug through a round trip); otherwise derived from the name, unique within the file.
    url_key = row.get("url_key", str)
    if url_key is not None:
        slugs.add(url_key)
    return ProductSpec(
        slug=url_key if url_key is not None else unique(slugify(name) or slugify(sku), slugs),
        name=name,
        description=description,
        category_slug=category,
        attributes=attributes,
        media=tuple(f"{media_base}{image}" for image in images),
        published=row.get("visibility", str) == "catalog_search",
        variants=tuple(variants),
    )


def _stock(sku: str) -> tuple[tuple[str, int], ...]:
    """Luma has no stock: a pseudo-random count that depends only on the SKU (so re-runs agree)."""
    return (("main", random.Random(f"luma-stock:{sku}").randint(0, STOCK_MAX)),)


def _categories_from_tree(path: Path, tree: Any) -> tuple[list[CategorySpec], dict[tuple[str, ...], str]]:
    if not isinstance(tree, list):
        raise SeedFileError(path, "expected a JSON array of categories")
    specs: list[CategorySpec] = []
    by_path: dict[tuple[str, ...], str] = {}

    def walk(nodes: list[Any], parent: CategorySpec | None, names: tuple[str, ...]) -> None:
        position = -1
        for index, node in enumerate(nodes):
            row = _Row(path, index, node, "category")
            if names:
                row.where += f" under {'/'.join(names)}"
            name, slug = row.text("name"), row.text("url_key")
            # Nodes without a position follow their siblings in file order.
            position = row.get("position", int, position + 1)
            spec = CategorySpec(slug, name, parent.slug if parent else None, position)
            specs.append(spec)
            by_path[(*names, name)] = slug
            walk(row.get("children", list, []), spec, (*names, name))

    walk(tree, None, ())
    return specs, by_path


def _categories_from_products(
    path: Path, items: list[Any]
) -> tuple[list[CategorySpec], dict[tuple[str, ...], str]]:
    """Without categories.json: the tree spanned by the products' primary category paths."""
    specs: list[CategorySpec] = []
    by_path: dict[tuple[str, ...], str] = {}
    children: dict[tuple[str, ...], int] = {}
    for index, item in enumerate(items):
        names = _Row(path, index, item).get("category_path", list, [])
        if not all(isinstance(n, str) and n.strip() for n in names):
            _Row(path, index, item).fail("'category_path' must be a list of names")
        for depth in range(1, len(names) + 1):
            key = tuple(names[:depth])
            if key in by_path:
                continue
            by_path[key] = slugify(" ".join(key)) or f"category-{len(by_path) + 1}"
            position = children.get(key[:-1], 0)
            children[key[:-1]] = position + 1
            specs.append(CategorySpec(by_path[key], key[-1], by_path.get(key[:-1]), position))
    return specs, by_path
