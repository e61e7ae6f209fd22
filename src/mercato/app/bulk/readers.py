"""Reads an import file (CSV, JSON lines or a Luma catalog) into `ImportRecords`.

A file that cannot be used at all (missing, not UTF-8, a CSV without the required columns, a Luma file
that is not the format) raises `SeedFileError`: one line naming the file. A row that cannot be read
(bad JSON on one line, a price that is not a decimal) becomes a `Rejected` row and reading goes on,
so one run reports every bad row. The domain's rules are checked afterwards (`validate.py`).

Formats (docs/import.md has examples):
- JSON lines: one object per line; `"type"` is `warehouse` ({code, name}), `category` ({slug, name,
  parent, position}) or `product` (the default: {slug, name, description, category, attributes, media,
  published, variants: [{sku, price, currency, attributes, stock: {warehouse code: units}}]}).
- CSV: one row per variant, columns `CSV_COLUMNS`. A row with a `name` carries its product's fields;
  rows without one add variants to the product of the same `slug`. `attributes` and
  `variant_attributes` are JSON objects, `media` URLs separated by spaces, `stock` `code=units` pairs
  separated by spaces. Categories are referenced by slug and must exist.
- Luma: `mercato.app.luma` (catalog.json, with categories.json beside it).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from mercato.app import luma
from mercato.app.bulk.records import FileFormat, ImportRecords, Rejected, paused_gc
from mercato.app.demo_data import CategorySpec, ProductSpec, VariantSpec, WarehouseSpec
from mercato.app.luma import SeedFileError, SeedFileErrorCode
from mercato.platform.types import Money, MoneyError

CSV_COLUMNS = (
    "slug",
    "name",
    "description",
    "category",
    "published",
    "attributes",
    "media",
    "sku",
    "price",
    "currency",
    "variant_attributes",
    "stock",
)
CSV_REQUIRED = ("slug", "sku", "price", "currency")
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no", ""}


class RowError(Exception):
    """A row that cannot be read; the message is the reason."""


def read(path: Path, file_format: FileFormat | None = None) -> ImportRecords:
    """The records of `path`, in the format given or implied by its name."""
    chosen = file_format or FileFormat.of(path)
    if chosen is None:
        raise SeedFileError(path, "unknown format: name it .csv, .jsonl or .json (Luma), or pass --format")
    with paused_gc():
        if chosen is FileFormat.LUMA:
            return ImportRecords.of_plan(luma.load(path), str(path), initial_stock=True)
        text = _read_text(path)
        return read_csv(text, str(path)) if chosen is FileFormat.CSV else read_jsonl(text, str(path))


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SeedFileError(path, "no such file", SeedFileErrorCode.NOT_FOUND) from None
    except OSError as exc:
        raise SeedFileError(path, f"cannot be read ({exc.strerror})", SeedFileErrorCode.UNREADABLE) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SeedFileError(path, "not UTF-8 text") from None


# -- JSON lines ---------------------------------------------------------------------------------------


def read_jsonl(text: str, source: str) -> ImportRecords:
    records = ImportRecords(source)
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"line {number}"
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            records.rejected.append(Rejected(where, "", f"not valid JSON ({exc})"))
            continue
        try:
            _jsonl_record(records, value, where)
        except RowError as exc:
            ref = (
                value.get("sku") or value.get("slug") or value.get("code") if isinstance(value, dict) else ""
            )
            records.rejected.append(Rejected(where, ref if isinstance(ref, str) else "", str(exc)))
    return records


def _jsonl_record(records: ImportRecords, value: Any, where: str) -> None:
    if not isinstance(value, dict):
        raise RowError("a line must hold a JSON object")
    kind = value.get("type", "product")
    if kind == "warehouse":
        records.warehouses.append(WarehouseSpec(_str(value, "code"), _str(value, "name")))
    elif kind == "category":
        parent = _opt(value, "parent", str)
        position = _opt(value, "position", int)
        records.categories.append(
            CategorySpec(_str(value, "slug"), _str(value, "name"), parent, position or 0)
        )
    elif kind == "product":
        variants = _opt(value, "variants", list) or []
        records.add_product(
            ProductSpec(
                slug=_str(value, "slug"),
                name=_str(value, "name"),
                description=_opt(value, "description", str) or "",
                category_slug=_opt(value, "category", str),
                attributes=_opt(value, "attributes", dict) or {},
                media=tuple(_opt(value, "media", list) or ()),
                published=bool(_opt(value, "published", bool)),
                variants=tuple(_jsonl_variant(v, i) for i, v in enumerate(variants)),
            ),
            where,
        )
    else:
        raise RowError(f"unknown type {kind!r} (warehouse, category or product)")


def _jsonl_variant(value: Any, index: int) -> VariantSpec:
    if not isinstance(value, dict):
        raise RowError(f"variants.{index} must be an object")
    sku = _str(value, "sku")
    price = _money(_str(value, "price"), _str(value, "currency"), f"variants.{index}")
    stock = _opt(value, "stock", dict) or {}
    return VariantSpec(sku, price, _opt(value, "attributes", dict) or {}, tuple(stock.items()))


def _str(value: dict[str, Any], key: str) -> str:
    found = value.get(key)
    if not isinstance(found, str):
        raise RowError(f"'{key}' is missing" if found is None else f"'{key}' must be text")
    return found


def _opt(value: dict[str, Any], key: str, kind: type[Any]) -> Any:
    found = value.get(key)
    if found is not None and (not isinstance(found, kind) or (kind is int and isinstance(found, bool))):
        raise RowError(f"'{key}' must be {_KINDS.get(kind, kind.__name__)}")
    return found


_KINDS = {str: "text", int: "a whole number", bool: "true or false", list: "a list", dict: "an object"}


def _money(amount: str, currency: str, field: str) -> Money:
    try:
        return Money.from_decimal_string(amount, currency)
    except MoneyError as exc:
        raise RowError(f"{field}.price {amount!r}: {exc}") from None


# -- CSV ----------------------------------------------------------------------------------------------


def read_csv(text: str, source: str) -> ImportRecords:
    records = ImportRecords(source)
    rows = _csv_rows(text, source)
    header = next(rows, None)
    if header is None:
        raise SeedFileError(Path(source), "empty file: expected a header row")
    columns = header[1]
    unknown = [c for c in columns if c not in CSV_COLUMNS]
    missing = [c for c in CSV_REQUIRED if c not in columns]
    if unknown or missing:
        problems = [f"missing columns: {', '.join(missing)}"] if missing else []
        problems += [f"unknown columns: {', '.join(unknown)}"] if unknown else []
        raise SeedFileError(Path(source), f"not a Mercato product CSV ({'; '.join(problems)})")
    products: dict[str, _CsvProduct] = {}
    for number, cells in rows:
        _csv_row(records, products, columns, f"line {number}", cells)
    for slug, (row, where, variants) in products.items():
        if not row:
            records.rejected.append(Rejected(where, slug, "no row of this product gives its 'name'"))
            continue
        try:
            records.add_product(_csv_product(slug, row, variants), where)
        except RowError as exc:
            records.rejected.append(Rejected(where, slug, str(exc)))
    return records


_CsvProduct = tuple[dict[str, str], str, list[VariantSpec]]  # product cells, where, variants


def _csv_row(
    records: ImportRecords, products: dict[str, _CsvProduct], columns: list[str], where: str, cells: list[str]
) -> None:
    if len(cells) != len(columns):
        records.rejected.append(Rejected(where, "", f"{len(cells)} cells, the header has {len(columns)}"))
        return
    row = dict(zip(columns, cells, strict=True))
    slug, sku = row["slug"], row.get("sku", "")
    try:
        if not slug:
            raise RowError("'slug' is required")
        variant = _csv_variant(row) if sku or row.get("price") else None
    except RowError as exc:
        records.rejected.append(Rejected(where, sku or slug, str(exc)))
        return
    found = products.setdefault(slug, ({}, where, []))
    if row.get("name"):
        if found[0] and _product_cells(found[0]) != _product_cells(row):
            records.rejected.append(Rejected(where, slug, "the product's fields differ from an earlier row"))
            return
        found[0].update(row)
    if variant is not None:
        found[2].append(variant)


def _csv_rows(text: str, source: str) -> Iterator[tuple[int, list[str]]]:
    """(line where the row starts, cells); a CSV the reader cannot split is a file error."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    start = 1
    try:
        for cells in reader:
            if cells:
                yield start, cells
            start = reader.line_num + 1
    except csv.Error as exc:
        raise SeedFileError(Path(source), f"not valid CSV (line {reader.line_num}: {exc})") from None


def _product_cells(row: dict[str, str]) -> tuple[str, ...]:
    return tuple(
        row.get(c, "") for c in ("name", "description", "category", "published", "attributes", "media")
    )


def _csv_variant(row: dict[str, str]) -> VariantSpec:
    if not row.get("sku"):
        raise RowError("'sku' is required when a price is given")
    price = _money(row.get("price", ""), row.get("currency", ""), "variant")
    stock: list[tuple[str, int]] = []
    for pair in row.get("stock", "").split():
        code, sep, units = pair.partition("=")
        try:
            stock.append((code, int(units)))
        except ValueError:
            raise RowError(f"stock {pair!r} must be warehouse=units") from None
        if not sep:
            raise RowError(f"stock {pair!r} must be warehouse=units")
    return VariantSpec(
        row["sku"], price, _json_object(row.get("variant_attributes", ""), "variant_attributes"), tuple(stock)
    )


def _csv_product(slug: str, row: dict[str, str], variants: list[VariantSpec]) -> ProductSpec:
    published = row.get("published", "").strip().lower()
    if published not in _TRUE | _FALSE:
        raise RowError("'published' must be true or false")
    return ProductSpec(
        slug=slug,
        name=row["name"],
        description=row.get("description", ""),
        category_slug=row.get("category") or None,
        attributes=_json_object(row.get("attributes", ""), "attributes"),
        media=tuple(row.get("media", "").split()),
        published=published in _TRUE,
        variants=tuple(variants),
    )


def _json_object(cell: str, column: str) -> dict[str, Any]:
    if not cell.strip():
        return {}
    try:
        value = orjson.loads(cell)
    except orjson.JSONDecodeError:
        raise RowError(f"'{column}' is not a JSON object") from None
    if not isinstance(value, dict):
        raise RowError(f"'{column}' is not a JSON object")
    return value
