"""TLS between services from the three MERCATO_GRPC_TLS_* files: mutual TLS when a CA is given, and a
clear one-line error for an incomplete or unreadable configuration."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from mercato._gen.mercato.catalog.v1 import catalog_service_pb2, catalog_service_pb2_grpc
from mercato.catalog.entrypoints.grpc_server import SERVICE_NAME, registration
from mercato.platform.grpc import auth
from mercato.platform.grpc.client import create_channel
from mercato.platform.grpc.server import GrpcServer
from mercato.platform.grpc.tls import TlsConfigurationError, channel_credentials, server_credentials
from tests.integration.fake_catalog import FakeCatalog
from tests.pki import Pki, make_pki

SECRET = "t" * 48


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
async def server(pki: Pki) -> AsyncIterator[GrpcServer]:
    credentials = server_credentials(*pki.server, pki.ca)
    assert credentials is not None
    served = GrpcServer([registration(FakeCatalog())], secret=SECRET, credentials=credentials)
    await served.start()
    yield served
    await served.stop(grace=None)


async def list_categories(port: int, credentials: grpc.ChannelCredentials | None) -> grpc.StatusCode:
    channel = create_channel(f"127.0.0.1:{port}", credentials=credentials)
    try:
        stub = catalog_service_pb2_grpc.CatalogServiceStub(channel)
        reply = await stub.ListCategories(
            catalog_service_pb2.ListCategoriesRequest(),
            metadata=auth.outgoing_metadata("gateway", SECRET, audience=SERVICE_NAME),
            timeout=3,
        )
    except grpc.aio.AioRpcError as exc:
        code: grpc.StatusCode = exc.code()
        return code
    finally:
        await channel.close()
    assert [c.slug for c in reply.categories] == ["slug"]
    return grpc.StatusCode.OK


async def test_a_caller_with_a_certificate_of_the_ca_is_served(server: GrpcServer, pki: Pki) -> None:
    assert await list_categories(server.port, channel_credentials(*pki.client, pki.ca)) is grpc.StatusCode.OK


async def test_callers_without_a_certificate_of_the_ca_never_reach_the_service(
    server: GrpcServer, pki: Pki
) -> None:
    no_certificate = grpc.ssl_channel_credentials(root_certificates=pki.ca.read_bytes())
    strangers = channel_credentials(*pki.stranger, pki.ca)
    for credentials in (None, no_certificate, strangers):  # plaintext, anonymous TLS, another CA's client
        assert await list_categories(server.port, credentials) is grpc.StatusCode.UNAVAILABLE


async def test_a_client_refuses_a_server_its_ca_did_not_sign(server: GrpcServer, pki: Pki) -> None:
    trusting_another_ca = channel_credentials(*pki.client, pki.stranger_ca)
    assert await list_categories(server.port, trusting_another_ca) is grpc.StatusCode.UNAVAILABLE


def test_plaintext_when_nothing_is_set_and_one_line_errors_when_incomplete(pki: Pki, tmp_path: Path) -> None:
    assert server_credentials(None, None, None) is None
    assert channel_credentials(None, None, None) is None
    cert = pki.server[0]
    with pytest.raises(TlsConfigurationError, match="set all three"):
        server_credentials(None, None, pki.ca)
    with pytest.raises(TlsConfigurationError, match="MERCATO_GRPC_TLS_KEY_FILE"):
        server_credentials(cert, None, None)
    with pytest.raises(TlsConfigurationError, match=r"cannot read the gRPC TLS key .*missing\.key"):
        server_credentials(cert, tmp_path / "missing.key", pki.ca)
