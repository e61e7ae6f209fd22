"""`mercato import` / `mercato export`: one line per failure, one line per refused row, exit codes."""

from __future__ import annotations

from pathlib import Path

import orjson

from mercato.platform.config import Settings
from tests.conftest import ref
from tests.e2e.test_cli import run


def _one_error_line(stderr: str, *needles: str) -> bool:
    lines = stderr.strip().splitlines()
    return len(lines) == 1 and lines[0].startswith("error: ") and all(n in lines[0] for n in needles)


def test_a_missing_file_is_one_line(settings: Settings, tmp_path: Path) -> None:
    result = run(settings, "import", str(tmp_path / "nope.csv"))
    assert result.returncode == 1
    assert _one_error_line(result.stderr, "nope.csv", "no such file"), result.stderr


def test_a_garbled_file_is_one_line(settings: Settings, tmp_path: Path) -> None:
    garbled = tmp_path / "garbled.jsonl"
    garbled.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xd8")
    result = run(settings, "import", str(garbled))
    assert result.returncode == 1
    assert _one_error_line(result.stderr, "garbled.jsonl", "not UTF-8 text"), result.stderr


def test_a_csv_of_another_shape_is_one_line(settings: Settings, tmp_path: Path) -> None:
    other = tmp_path / "orders.csv"
    other.write_text("order,total\n1,2\n")
    result = run(settings, "import", str(other))
    assert result.returncode == 1
    assert _one_error_line(result.stderr, "orders.csv", "missing columns"), result.stderr


def test_an_unknown_format_is_one_line(settings: Settings, tmp_path: Path) -> None:
    result = run(settings, "export", str(tmp_path / "catalog.xlsx"))
    assert result.returncode == 1
    assert _one_error_line(result.stderr, "catalog.xlsx", "unknown format"), result.stderr


def _secret(settings: Settings) -> dict[str, str]:
    return {"MERCATO_AUTH_SECRET": settings.auth_secret or ""}


def _file(tmp_path: Path, *products: dict[str, object]) -> Path:
    path = tmp_path / "products.jsonl"
    path.write_bytes(b"".join(orjson.dumps(p) + b"\n" for p in products))
    return path


def _product(slug: str, sku: str, price: str = "12.50") -> dict[str, object]:
    return {"slug": slug, "name": slug.title(), "variants": [{"sku": sku, "price": price, "currency": "USD"}]}


def test_refused_rows_are_listed_and_the_command_fails_writing_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    # Given a file with one good product and one whose price is negative
    good, bad = ref("cli-good"), ref("cli-bad")
    path = _file(tmp_path, _product(good, good.upper()), _product(bad, bad.upper(), "-3.00"))

    # When it is imported, then the bad row is listed with its line and reason and nothing is written
    result = run(settings, "import", str(path), **_secret(settings))
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert [line for line in lines if line.startswith("rejected: ")] == [
        f"rejected: line 2 ({bad}): price must not be negative"
    ], result.stderr
    assert lines[-1].endswith("1 rows rejected; nothing was imported (2 products read)"), result.stderr
    dry = run(
        settings,
        "import",
        "--dry-run",
        str(_file(tmp_path, _product(good, good.upper()))),
        **_secret(settings),
    )
    assert dry.returncode == 0 and "1 products created" in dry.stderr, dry.stderr  # still not there


def test_import_then_again_then_export(settings: Settings, tmp_path: Path) -> None:
    # Given a file of one new product
    slug = ref("cli-import")
    path = _file(tmp_path, _product(slug, slug.upper()))

    # When it is imported twice, then the first run creates it and the second changes nothing
    first = run(settings, "import", str(path), **_secret(settings))
    assert first.returncode == 0 and "1 products created" in first.stderr, first.stderr
    again = run(settings, "import", str(path), **_secret(settings))
    assert again.returncode == 0 and "0 products created, 0 updated, 0 variants" in again.stderr, again.stderr
    assert again.stderr.strip().splitlines()[-1].endswith("; 0 events")

    # And an export names it
    exported = tmp_path / "export.jsonl"
    result = run(settings, "export", str(exported), **_secret(settings))
    assert result.returncode == 0 and result.stderr.strip().splitlines()[-1].startswith("Exported "), (
        result.stderr
    )
    assert f'"slug":"{slug}"' in exported.read_text()
