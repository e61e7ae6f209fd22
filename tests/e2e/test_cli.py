"""The `mercato` command answers bad input with one line, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from mercato.inventory import AdjustStock, CreateWarehouse
from mercato.inventory.bootstrap import build_inventory
from mercato.platform.config import Settings
from mercato.platform.db import Database
from mercato.search import semantic_schema
from tests.conftest import ref


def run(settings: Settings, *args: str | bytes, **env: str | bytes) -> subprocess.CompletedProcess[str]:
    environment: dict[str, str | bytes] = {
        k: v for k, v in os.environ.items() if not k.startswith("MERCATO_")
    }
    environment.update(
        {
            "MERCATO_DATABASE_URL": settings.database_url or "",
            "MERCATO_NATS_URL": settings.nats_url or "",
            "MERCATO_REDIS_URL": settings.redis_url or "",
            "MERCATO_NAMESPACE": settings.namespace,
            **env,
        }
    )
    return subprocess.run(
        [sys.executable, "-m", "mercato.cli", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


SEMANTIC_OFF = "Semantic search is off: this PostgreSQL has no pgvector (search is lexical)."


async def test_migrate_is_idempotent_and_says_in_one_line_when_semantic_search_is_off(
    settings: Settings, db: Database
) -> None:
    has_pgvector = await semantic_schema(db)

    result = run(settings, "migrate")

    expected = ["Migrations are up to date."] + ([] if has_pgvector else [SEMANTIC_OFF])
    assert (result.returncode, result.stderr.strip().splitlines()) == (0, expected)


def test_a_missing_catalog_file_is_one_line(settings: Settings, tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    result = run(settings, "seed", "--from", str(missing))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "nope.json" in lines[0], result.stderr


def test_a_malformed_catalog_file_is_one_line(settings: Settings, tmp_path: Path) -> None:
    broken = tmp_path / "catalog.json"
    broken.write_text('[{"sku": "X", "name": 3')
    result = run(settings, "seed", "--from", str(broken))
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1 and "catalog.json" in result.stderr, result.stderr


def test_bad_configuration_is_one_line(settings: Settings) -> None:
    result = run(settings, "migrate", MERCATO_NAMESPACE="Not valid!")
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1 and "namespace" in result.stderr, result.stderr


def test_admin_create_then_again_is_one_line(settings: Settings) -> None:
    email = f"admin-{os.getpid()}-{id(settings)}@example.com"
    env = {
        "MERCATO_ADMIN_PASSWORD": "a very long admin password",
        "MERCATO_AUTH_SECRET": settings.auth_secret or "",
    }
    created = run(settings, "admin", "create", "--email", email, **env)
    assert (created.returncode, created.stderr.strip()) == (0, f"Administrator {email} created.")
    again = run(settings, "admin", "create", "--email", email, **env)
    assert again.returncode == 1
    lines = again.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), again.stderr


def test_admin_create_with_text_the_rule_refuses_is_one_line(settings: Settings) -> None:
    # Given an email argument and a password holding bytes that are not UTF-8 (Python reads them as
    # lone surrogates) or an escape character
    secret = {"MERCATO_AUTH_SECRET": settings.auth_secret or ""}
    attempts = [
        ((b"admin-\xff@example.com",), {"MERCATO_ADMIN_PASSWORD": "a very long admin password"}, "email"),
        (
            ("admin-x@example.com",),
            {"MERCATO_ADMIN_PASSWORD": b"a very long admin password \xff"},
            "password",
        ),
        (("admin-y@example.com",), {"MERCATO_ADMIN_PASSWORD": "a very long \x1b[2J password"}, "password"),
    ]
    for email, password, field in attempts:
        # When an administrator is created with them, then the command refuses in one line naming the field
        result = run(settings, "admin", "create", "--email", *email, **password, **secret)
        assert result.returncode == 1
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {field} "), result.stderr


def test_serve_names_what_a_target_lacks_in_one_line(settings: Settings) -> None:
    secret = {"MERCATO_AUTH_SECRET": "s" * 40}
    cases = [
        (("serve", "warehouse"), {}, "unknown target 'warehouse'"),
        (("serve", "cart"), secret, "`mercato serve cart` needs MERCATO_CATALOG_ADDRESS"),
        (("serve", "search"), secret, "`mercato serve search` needs MERCATO_CATALOG_ADDRESS"),
        (("serve", "orders"), {}, "`mercato serve orders` needs MERCATO_AUTH_SECRET"),
        (("serve", "orders", "--workers", "2"), secret, "scale it with more replicas"),
        (
            ("serve", "gateway"),
            {**secret, "MERCATO_CATALOG_ADDRESS": "127.0.0.1:1"},
            "needs MERCATO_INVENTORY_ADDRESS, MERCATO_CART_ADDRESS, MERCATO_CUSTOMERS_ADDRESS, "
            "MERCATO_ORDERS_ADDRESS, MERCATO_PAYMENTS_ADDRESS",
        ),
    ]
    for args, env, expected in cases:
        result = run(settings, *args, **env)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 1, (args, result.stderr)
        assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], (args, lines)


def test_a_context_whose_grpc_port_is_taken_says_so_in_one_line(settings: Settings) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run(
            settings,
            "serve",
            "payments",
            "--grpc-port",
            str(port),
            "--port",
            "0",
            MERCATO_AUTH_SECRET="s" * 40,
        )
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1, result.stderr
    assert len(lines) == 1 and lines[0].startswith("error: payments:"), lines


async def test_rebuild_availability_repairs_the_catalogs_read_model_from_the_inventory(
    settings: Settings, db: Database
) -> None:
    # Given a SKU with 4 units whose row in the catalog's read model was damaged
    inventory = build_inventory(db, settings)
    warehouse = await inventory.handle(CreateWarehouse(code=ref("wh"), name="Main"))
    sku = ref("REBUILD").upper()
    await inventory.handle(
        AdjustStock(sku=sku, warehouse_id=warehouse.id, reason="RECEIVED", actor="t", delta=4)
    )
    version = sum(row.version for row in await inventory.queries.stock(sku))
    async with db.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO catalog.sku_availability (sku, available, version) VALUES (:s, 99, :v) "
                "ON CONFLICT (sku) DO UPDATE SET available = 99, version = :v"
            ),
            {"s": sku, "v": version},
        )

    # When the read model is rebuilt from the command line
    result = run(settings, "catalog", "rebuild-availability")

    # Then it says what it did in one line, and the row holds the inventory's level again
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("Availability rebuilt: "), result.stderr
    async with db.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT available, version FROM catalog.sku_availability WHERE sku = :s"), {"s": sku}
            )
        ).one()
    assert (row.available, row.version) == (4, version)
