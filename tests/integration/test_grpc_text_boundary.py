"""The boundary rule for text at the gRPC edge: a request whose strings break it is refused with
INVALID_ARGUMENT naming the field before the servicer runs (the fake catalog answers nothing but
`categories`, so a call that reached it would come back INTERNAL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
import pytest
from google.protobuf import struct_pb2
from grpc_status.rpc_status import aio as rpc_status_aio

from mercato._gen.mercato.catalog.v1 import catalog_pb2, catalog_service_pb2, catalog_service_pb2_grpc
from mercato._gen.mercato.common.v1 import errors_pb2, money_pb2
from mercato.catalog.domain.commands import CreateCategory
from mercato.catalog.domain.errors import CategoryCreateErrorCode
from mercato.catalog.entrypoints.grpc_server import SERVICE_NAME, registration
from mercato.catalog.grpc_client import GrpcCatalogClient
from mercato.platform.errors import InputRejected, Problem
from mercato.platform.grpc import auth
from mercato.platform.grpc.client import CallPolicy, create_channel
from mercato.platform.grpc.server import GrpcServer
from mercato.platform.validation import TEXT_MAX
from tests.integration.fake_catalog import FakeCatalog

SECRET = "t" * 48


@dataclass
class Served:
    client: GrpcCatalogClient
    stub: catalog_service_pb2_grpc.CatalogServiceStub


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    server = GrpcServer([registration(FakeCatalog())], secret=SECRET)
    await server.start()
    channel = create_channel(f"127.0.0.1:{server.port}")
    client = GrpcCatalogClient(channel, service="gateway", secret=SECRET, policy=CallPolicy(timeout=2))
    yield Served(client, catalog_service_pb2_grpc.CatalogServiceStub(channel))
    await channel.close()
    await server.stop(grace=None)


async def test_a_nul_in_a_lookup_is_invalid_argument_naming_the_field(served: Served) -> None:
    # Given a slug holding NUL, when a service looks it up, then the edge refuses it (the fake has no
    # `product` query: reaching it would be INTERNAL)
    with pytest.raises(InputRejected) as caught:
        await served.client.product(slug="jacket\x00")
    assert [(e.field, e.code) for e in caught.value.errors] == [("slug", Problem.INVALID)]


async def test_a_command_gets_its_own_codes_back(served: Served) -> None:
    with pytest.raises(InputRejected) as caught:
        await served.client.execute(CreateCategory(slug="jackets", name="x" * (TEXT_MAX + 1)))
    assert [(e.field, e.code) for e in caught.value.errors] == [("name", CategoryCreateErrorCode.TOO_LONG)]


async def test_nested_messages_repeated_fields_and_json_values_are_named_by_path(served: Served) -> None:
    # Given a product whose second variant's SKU, one media entry and one attribute value are bad,
    # and whose description spans lines (allowed there)
    attributes = struct_pb2.Struct()
    attributes.update({"color": "red\x07", "sizes": ["S", "M\x1b"]})
    request = catalog_service_pb2.CreateProductRequest(
        slug="probe",
        name="Probe",
        description="Line one\nLine two",
        attributes=attributes,
        media=["https://example.com/a.jpg", "https://example.com/\x00.jpg"],
        variants=[
            catalog_pb2.NewVariant(sku="OK-1", price=money_pb2.Money(amount_minor=1, currency_code="USD")),
            catalog_pb2.NewVariant(sku="BAD\x7f", price=money_pb2.Money(amount_minor=1, currency_code="USD")),
        ],
    )

    # When any client (not only Mercato's) sends it
    call = served.stub.CreateProduct(
        request, metadata=auth.outgoing_metadata("probe", SECRET, audience=SERVICE_NAME), timeout=2
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call

    # Then it is INVALID_ARGUMENT with one detail per bad string, in the standard rich status
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    status = await rpc_status_aio.from_call(call)
    details = errors_pb2.ErrorDetails()
    assert status.details[0].Unpack(details)
    assert sorted((d.field, d.reason) for d in details.errors) == [
        ("attributes.color", "INVALID"),
        ("attributes.sizes.1", "INVALID"),
        ("media.1", "INVALID"),
        ("variants.1.sku", "INVALID"),
    ]
