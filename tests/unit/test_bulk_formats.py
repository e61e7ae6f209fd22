"""The import formats without a database: reading, refusing rows with their line, writing back."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from mercato.app import demo_data
from mercato.app.bulk import readers
from mercato.app.bulk.records import FileFormat
from mercato.app.bulk.validate import validate
from mercato.app.bulk.writers import CsvWriter, jsonl_header, jsonl_products
from mercato.app.luma import SeedFileError, SeedFileErrorCode
from mercato.platform.types import Money

HEADER = ",".join(readers.CSV_COLUMNS)


def test_csv_rows_of_one_slug_make_one_product_with_its_fields_from_the_named_row() -> None:
    text = (
        f"{HEADER}\n"
        'tee,Trail Tee,"two\nlines",men-tees,true,"{""fit"": ""slim""}",https://a/1.jpg https://a/2.jpg,'
        'TEE-S,19.99,USD,"{""size"": ""S""}",main=3 east=0\n'
        'tee,,,,,,,TEE-M,21.00,USD,"{""size"": ""M""}",main=1\n'
    )
    records = readers.read_csv(text, "t.csv")
    assert records.rejected == []
    [product] = records.products
    assert (product.slug, product.name, product.description) == ("tee", "Trail Tee", "two\nlines")
    assert (product.category_slug, product.published, product.attributes) == (
        "men-tees",
        True,
        {"fit": "slim"},
    )
    assert product.media == ("https://a/1.jpg", "https://a/2.jpg")
    assert [(v.sku, v.price, v.attributes, v.stock) for v in product.variants] == [
        ("TEE-S", Money(1999, "USD"), {"size": "S"}, (("main", 3), ("east", 0))),
        ("TEE-M", Money(2100, "USD"), {"size": "M"}, (("main", 1),)),
    ]
    assert records.origins == ["line 2"]  # the quoted line break does not shift the next row's line


def test_unreadable_csv_cells_are_rejected_with_their_line_and_reason() -> None:
    text = (
        f"{HEADER}\n"
        "a,A,,,maybe,,,A-1,1.00,USD,,\n"
        "b,B,,,,,,B-1,1.234,USD,,\n"
        "c,C,,,,,,C-1,1.00,USD,,main=lots\n"
        "d,D,,,,not json,,D-1,1.00,USD,,\n"
        ",E,,,,,,E-1,1.00,USD,,\n"
        "f,,,,,,,F-1,1.00,USD,,\n"
    )
    records = readers.read_csv(text, "t.csv")
    assert [(r.where, r.reason) for r in sorted(records.rejected, key=lambda r: r.where)] == [
        ("line 2", "'published' must be true or false"),
        ("line 3", "variant.price '1.234': USD has 2 decimals at most"),
        ("line 4", "stock 'main=lots' must be warehouse=units"),
        ("line 5", "'attributes' is not a JSON object"),
        ("line 6", "'slug' is required"),
        ("line 7", "no row of this product gives its 'name'"),
    ]
    assert records.products == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("slug,name\nx,y\n", "missing columns: sku, price, currency"),
        (f"{HEADER},colour\n", "unknown columns: colour"),
        ("", "empty file"),
    ],
)
def test_a_csv_that_is_not_the_format_is_one_file_error(text: str, problem: str) -> None:
    with pytest.raises(SeedFileError) as raised:
        readers.read_csv(text, "t.csv")
    assert raised.value.message.startswith("t.csv: ") and problem in raised.value.message


def test_files_that_cannot_be_read_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(SeedFileError) as missing:
        readers.read(tmp_path / "nope.csv")
    assert missing.value.code is SeedFileErrorCode.NOT_FOUND
    garbled = tmp_path / "garbled.jsonl"
    garbled.write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(SeedFileError, match="not UTF-8 text"):
        readers.read(garbled)
    with pytest.raises(SeedFileError, match="unknown format"):
        readers.read(tmp_path / "catalog.txt")


def test_jsonl_lines_are_records_and_bad_lines_are_rejected() -> None:
    text = (
        '{"type": "warehouse", "code": "main", "name": "Main"}\n'
        '{"type": "category", "slug": "tees", "name": "Tees", "parent": null, "position": 2}\n'
        "\n"
        '{"slug": "tee", "name": "Tee", "variants": [{"sku": "T-1", "price": "5.00", "currency": "EUR"}]}\n'
        '{"slug": "x", "name": 3}\n'
        "[1, 2]\n"
        '{"type": "shelf"}\n'
        "{broken\n"
    )
    records = readers.read_jsonl(text, "t.jsonl")
    assert [(w.code, w.name) for w in records.warehouses] == [("main", "Main")]
    assert [(c.slug, c.parent_slug, c.position) for c in records.categories] == [("tees", None, 2)]
    assert [(p.slug, p.variants[0].price) for p in records.products] == [("tee", Money(500, "EUR"))]
    assert [(r.where, r.reason) for r in records.rejected] == [
        ("line 5", "'name' must be text"),
        ("line 6", "a line must hold a JSON object"),
        ("line 7", "unknown type 'shelf' (warehouse, category or product)"),
        ("line 8", records.rejected[3].reason),
    ]
    assert records.rejected[3].reason.startswith("not valid JSON")


@pytest.mark.parametrize("file_format", [FileFormat.CSV, FileFormat.JSONL])
def test_written_records_read_back_the_same(file_format: FileFormat) -> None:
    plan = demo_data.generate(25)
    out = io.StringIO()
    if file_format is FileFormat.CSV:
        CsvWriter(out).products(plan.products)
        records = readers.read_csv(out.getvalue(), "x.csv")
    else:
        jsonl_header(out, plan.warehouses, plan.categories)
        jsonl_products(out, plan.products)
        records = readers.read_jsonl(out.getvalue(), "x.jsonl")
    assert records.rejected == []
    assert records.products == list(plan.products)


def test_the_domain_rules_refuse_what_the_use_cases_refuse() -> None:
    text = (
        '{"slug": "Not A Slug", "name": "x", "variants": []}\n'
        '{"slug": "ok", "name": "   ", "variants": []}\n'
        '{"slug": "mixed", "name": "Mixed", "variants": [{"sku": "M-1", "price": "1.00", "currency": "USD"}, '
        '{"sku": "M-2", "price": "1.00", "currency": "EUR"}]}\n'
        '{"slug": "stock", "name": "Stock", "variants": [{"sku": "S-1", "price": "1.00", "currency": "USD", '
        '"stock": {"main": -2}}]}\n'
        '{"slug": "ok", "name": "Again", "variants": []}\n'
    )
    records = readers.read_jsonl(text, "t.jsonl")
    validate(records)
    assert [(r.where, r.reason) for r in records.rejected] == [
        ("line 1", "slug must be lowercase words joined by hyphens"),
        ("line 2", "name is required"),
        ("line 3", "every variant of a product is priced in USD"),
        ("line 4", "variants.0.stock.main must be 0 to 100000000"),
        ("line 5", "slug also used at line 2"),
    ]
