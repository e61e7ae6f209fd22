"""gRPC metrics on a real server: every call counted once with the status code the caller got."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from mercato._gen.mercato.catalog.v1 import catalog_service_pb2, catalog_service_pb2_grpc
from mercato.catalog.entrypoints.grpc_server import SERVICE_NAME, registration
from mercato.platform.grpc import auth
from mercato.platform.grpc.client import create_channel
from mercato.platform.grpc.server import GrpcServer
from mercato.platform.metrics import Metrics
from tests.integration.fake_catalog import FakeCatalog

SECRET = "m" * 48
METHOD = "ListCategories"


@dataclass
class Served:
    catalog: FakeCatalog
    metrics: Metrics
    stub: Any
    channel: grpc.aio.Channel

    async def list_categories(self, *, signed: bool = True, deadline: float = 5) -> grpc.StatusCode:
        metadata = auth.outgoing_metadata("probe", SECRET, audience=SERVICE_NAME) if signed else ()
        request = catalog_service_pb2.ListCategoriesRequest()
        try:
            await self.stub.ListCategories(request, metadata=metadata, timeout=deadline)
        except grpc.aio.AioRpcError as exc:
            code: grpc.StatusCode = exc.code()
            return code
        return grpc.StatusCode.OK

    def calls(self, code: str) -> float | None:
        return self.metrics.registry.get_sample_value(
            "mercato_grpc_requests_total", {"service": SERVICE_NAME, "method": METHOD, "code": code}
        )

    def sample(self, name: str, **labels: str) -> float | None:
        return self.metrics.registry.get_sample_value(name, labels)


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    catalog = FakeCatalog()
    metrics = Metrics(process_collectors=False)
    server = GrpcServer([registration(catalog)], secret=SECRET, metrics=metrics)
    await server.start()
    channel = create_channel(f"127.0.0.1:{server.port}")
    yield Served(catalog, metrics, catalog_service_pb2_grpc.CatalogServiceStub(channel), channel)
    await channel.close()
    await server.stop(grace=None)


async def test_calls_are_counted_with_the_code_the_caller_got(served: Served) -> None:
    assert await served.list_categories() is grpc.StatusCode.OK
    served.catalog.queries.mode = "conflict"
    assert await served.list_categories() is grpc.StatusCode.FAILED_PRECONDITION
    served.catalog.queries.mode = "boom"
    assert await served.list_categories() is grpc.StatusCode.INTERNAL
    served.catalog.queries.mode = "ok"
    assert await served.list_categories(signed=False) is grpc.StatusCode.UNAUTHENTICATED

    for code in ("OK", "FAILED_PRECONDITION", "INTERNAL", "UNAUTHENTICATED"):
        assert served.calls(code) == 1.0, code
    assert served.calls("UNKNOWN") is None
    assert served.sample("mercato_grpc_requests_in_flight") == 0.0
    duration = "mercato_grpc_request_duration_seconds_count"
    assert served.sample(duration, service=SERVICE_NAME, method=METHOD) == 4.0


async def test_a_call_cut_off_at_its_deadline_is_counted_as_such_and_leaves_flight(served: Served) -> None:
    served.catalog.queries.mode = "hang"
    assert await served.list_categories(deadline=0.2) is grpc.StatusCode.DEADLINE_EXCEEDED
    # The server cancels the handler on its own schedule; give it a bounded moment to record it.
    for _ in range(500):
        if served.calls("DEADLINE_EXCEEDED") is not None:
            break
        await asyncio.sleep(0.01)
    assert served.calls("DEADLINE_EXCEEDED") == 1.0
    assert served.sample("mercato_grpc_requests_in_flight") == 0.0


async def test_health_checks_are_not_traffic(served: Served) -> None:
    health = health_pb2_grpc.HealthStub(served.channel)
    reply = await health.Check(health_pb2.HealthCheckRequest(service=SERVICE_NAME), timeout=5)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING
    assert "mercato_grpc_requests_total{" not in served.metrics.exposition().decode()


async def test_a_server_without_metrics_still_serves() -> None:
    server = GrpcServer([registration(FakeCatalog())], secret=SECRET)
    await server.start()
    channel = create_channel(f"127.0.0.1:{server.port}")
    try:
        stub = catalog_service_pb2_grpc.CatalogServiceStub(channel)
        reply = await stub.ListCategories(
            catalog_service_pb2.ListCategoriesRequest(),
            metadata=auth.outgoing_metadata("probe", SECRET, audience=SERVICE_NAME),
            timeout=5,
        )
    finally:
        await channel.close()
        await server.stop(grace=None)
    assert [c.slug for c in reply.categories] == ["slug"]


async def test_a_channel_spreads_calls_over_every_address_of_its_target() -> None:
    """What a headless Service gives the callers (`dns:///` lists every replica): round-robin, not one
    pinned connection."""
    replicas = [Metrics(process_collectors=False) for _ in range(2)]
    servers = [GrpcServer([registration(FakeCatalog())], secret=SECRET, metrics=m) for m in replicas]
    for server in servers:
        await server.start()
    channel = create_channel("ipv4:" + ",".join(f"127.0.0.1:{s.port}" for s in servers))
    try:
        stub = catalog_service_pb2_grpc.CatalogServiceStub(channel)
        for _ in range(10):
            await stub.ListCategories(
                catalog_service_pb2.ListCategoriesRequest(),
                metadata=auth.outgoing_metadata("probe", SECRET, audience=SERVICE_NAME),
                timeout=5,
            )
    finally:
        await channel.close()
        for server in servers:
            await server.stop(grace=None)
    labels = {"service": SERVICE_NAME, "method": METHOD, "code": "OK"}
    served = [m.registry.get_sample_value("mercato_grpc_requests_total", labels) for m in replicas]
    # pick_first (gRPC's default) would send all ten to one; round_robin alternates once both are connected.
    assert all(count is not None and count >= 3 for count in served), served
    assert sum(c or 0 for c in served) == 10
