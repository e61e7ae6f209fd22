"""The code in src/mercato/_gen is exactly what `make proto` generates from proto/ (no drift, no hand
edits), and every generated module imports and works."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from tests.contract.conftest import GEN_ROOT, PROTO_ROOT, REPO_ROOT, require


def _has_grpc_tools() -> bool:
    try:
        import grpc_tools  # noqa: F401
    except ImportError:
        return False
    return True


def _files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_committed_code_matches_a_fresh_generation(tmp_path: Path) -> None:
    require(_has_grpc_tools(), "grpcio-tools is not installed (pip install -e '.[dev]')")
    out = tmp_path / "_gen"
    result = subprocess.run(
        [sys.executable, str(PROTO_ROOT / "generate.py"), "--out", str(out)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    fresh, committed = _files(out), _files(GEN_ROOT)
    hint = "src/mercato/_gen is stale or hand-edited: run `make proto` and commit the result"
    assert sorted(fresh) == sorted(committed), f"{hint}\nfile lists differ"
    changed = [name for name in fresh if fresh[name] != committed[name]]
    assert not changed, f"{hint}\nchanged: {changed}"


def _generated_modules() -> list[str]:
    return sorted(
        "mercato._gen." + ".".join(p.relative_to(GEN_ROOT).with_suffix("").parts)
        for p in GEN_ROOT.rglob("*_pb2*.py")
    )


MODULES = _generated_modules()


def test_every_proto_has_generated_modules() -> None:
    protos = sorted(PROTO_ROOT.rglob("*.proto"))
    assert protos
    for proto in protos:
        stem = proto.relative_to(PROTO_ROOT).with_suffix("").as_posix().replace("/", ".")
        for suffix in ("_pb2", "_pb2_grpc"):
            assert f"mercato._gen.{stem}{suffix}" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_generated_module_imports(name: str) -> None:
    importlib.import_module(name)


def test_messages_round_trip() -> None:
    from google.protobuf import json_format

    from mercato._gen.mercato.common.v1 import money_pb2
    from mercato._gen.mercato.orders.v1 import order_pb2, orders_service_pb2

    request = orders_service_pb2.PlaceOrderRequest(
        customer_id="6f1d3a52-9c1e-4c1a-9f5e-0d6c2b7e4a10",
        lines=[
            order_pb2.OrderLine(
                sku="TEE-M", quantity=2, unit_price=money_pb2.Money(amount_minor=1999, currency_code="USD")
            )
        ],
        total=money_pb2.Money(amount_minor=3998, currency_code="USD"),
        payment_method="pm_vaulted",
        idempotency_key="checkout-1",
    )
    request.shipping_address.update({"city": "Lyon", "country": "FR"})
    decoded = orders_service_pb2.PlaceOrderRequest.FromString(request.SerializeToString())
    assert decoded == request
    assert decoded.lines[0].unit_price.amount_minor == 1999
    assert not decoded.HasField("order_id")
    assert decoded.shipping_address["country"] == "FR"
    as_json = json_format.MessageToDict(decoded, preserving_proto_field_name=True)
    assert json_format.ParseDict(as_json, orders_service_pb2.PlaceOrderRequest()) == request


def test_event_payload_schema_reads_todays_json_payloads() -> None:
    """The events.proto messages describe the JSON payloads: a payload as the outbox writes it
    parses into its message (numbers for int64 fields included)."""
    from google.protobuf import json_format

    from mercato._gen.mercato.inventory.v1 import events_pb2

    payload = {"sku": "TEE-M", "available": 7, "version": 12}
    message = json_format.ParseDict(payload, events_pb2.StockLevelChanged())
    assert (message.sku, message.available, message.version) == ("TEE-M", 7, 12)


def test_services_are_generated_with_stubs_and_servicers() -> None:
    from mercato._gen.mercato.catalog.v1 import catalog_service_pb2, catalog_service_pb2_grpc

    service = catalog_service_pb2.DESCRIPTOR.services_by_name["CatalogService"]
    assert "GetProduct" in service.methods_by_name
    assert hasattr(catalog_service_pb2_grpc, "CatalogServiceStub")
    assert hasattr(catalog_service_pb2_grpc, "CatalogServiceServicer")
    assert hasattr(catalog_service_pb2_grpc, "add_CatalogServiceServicer_to_server")
