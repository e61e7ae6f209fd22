"""Writes records in the import formats: what `mercato export` produces, and `mercato import` reads back.

Each writer takes the same shapes the readers produce (`demo_data` specs), so a file exported and
imported again describes the same catalog: importing it into the catalog it came from changes nothing.
The Luma writer adds Magento's `url_key` (the product's slug) so slugs survive the trip; Luma has no
stock, so an exported Luma file carries none (importing it leaves existing stock as it is).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import IO, Any

import orjson

from mercato.app.bulk.readers import CSV_COLUMNS
from mercato.app.demo_data import CategorySpec, ProductSpec, VariantSpec, WarehouseSpec


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def jsonl_header(
    out: IO[str], warehouses: Iterable[WarehouseSpec], categories: Iterable[CategorySpec]
) -> None:
    for w in warehouses:
        out.write(_json({"type": "warehouse", "code": w.code, "name": w.name}) + "\n")
    for c in categories:  # parents first
        record = {
            "type": "category",
            "slug": c.slug,
            "name": c.name,
            "parent": c.parent_slug,
            "position": c.position,
        }
        out.write(_json(record) + "\n")


def jsonl_products(out: IO[str], products: Iterable[ProductSpec]) -> None:
    for p in products:
        record = {
            "type": "product",
            "slug": p.slug,
            "name": p.name,
            "description": p.description,
            "category": p.category_slug,
            "attributes": p.attributes,
            "media": list(p.media),
            "published": p.published,
            "variants": [_jsonl_variant(v) for v in p.variants],
        }
        out.write(_json(record) + "\n")


def _jsonl_variant(v: VariantSpec) -> dict[str, Any]:
    return {
        "sku": v.sku,
        "price": v.price.to_decimal_string(),
        "currency": v.price.currency,
        "attributes": v.attributes,
        "stock": dict(v.stock),
    }


class CsvWriter:
    """One row per variant; the product's fields on its first row only."""

    def __init__(self, out: IO[str]) -> None:
        self.writer = csv.writer(out, lineterminator="\n")
        self.writer.writerow(CSV_COLUMNS)

    def products(self, products: Iterable[ProductSpec]) -> None:
        for p in products:
            product = {
                "slug": p.slug,
                "name": p.name,
                "description": p.description,
                "category": p.category_slug or "",
                "published": "true" if p.published else "false",
                "attributes": _json(p.attributes) if p.attributes else "",
                "media": " ".join(p.media),
            }
            for index, v in enumerate(p.variants or (None,)):
                row = dict(product) if index == 0 else {"slug": p.slug}
                if v is not None:
                    row |= {
                        "sku": v.sku,
                        "price": v.price.to_decimal_string(),
                        "currency": v.price.currency,
                        "variant_attributes": _json(v.attributes) if v.attributes else "",
                        "stock": " ".join(f"{code}={units}" for code, units in v.stock),
                    }
                self.writer.writerow([row.get(column, "") for column in CSV_COLUMNS])


class LumaWriter:
    """catalog.json (a JSON array, written as it goes) and categories.json beside it."""

    def __init__(self, out: IO[str], categories: list[CategorySpec]) -> None:
        self.out = out
        self.first = True
        self.paths: dict[str, list[str]] = {}
        for c in categories:  # parents first
            self.paths[c.slug] = [*self.paths.get(c.parent_slug or "", []), c.name]
        out.write("[")

    @staticmethod
    def category_tree(categories: list[CategorySpec]) -> list[dict[str, Any]]:
        nodes: dict[str, dict[str, Any]] = {}
        roots: list[dict[str, Any]] = []
        for c in categories:
            node = {"name": c.name, "url_key": c.slug, "position": c.position, "children": []}
            nodes[c.slug] = node
            parent = nodes.get(c.parent_slug) if c.parent_slug else None
            (parent["children"] if parent is not None else roots).append(node)
        return roots

    def products(self, products: Iterable[ProductSpec]) -> None:
        for p in products:
            self.out.write(("\n" if self.first else ",\n") + _json(self._item(p)))
            self.first = False

    def close(self) -> None:
        self.out.write("\n]\n")

    def _item(self, p: ProductSpec) -> dict[str, Any]:
        simple = len(p.variants) == 1 and not p.variants[0].attributes
        cheapest = min(p.variants, key=lambda v: v.price.amount) if p.variants else None
        item: dict[str, Any] = {
            "sku": p.variants[0].sku if simple else p.slug,
            "type": "simple" if simple else "configurable",
            "url_key": p.slug,
            "name": p.name,
            "description": p.description,
            "category_path": self.paths.get(p.category_slug or "", []),
            "price": cheapest.price.to_decimal_string() if cheapest else None,
            "currency": cheapest.price.currency if cheapest else "USD",
            "visibility": "catalog_search" if p.published else "not_visible_individually",
            "attributes": p.attributes,
            "images": list(p.media),
        }
        if not simple and p.variants:
            item["variants"] = [
                {
                    "sku": v.sku,
                    "attributes": v.attributes,
                    "price": v.price.to_decimal_string(),
                    "currency": v.price.currency,
                }
                for v in p.variants
            ]
        elif not p.variants:
            item["type"] = "grouped"  # no variant, no own price: a Luma reader skips it
        return item
