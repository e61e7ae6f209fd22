"""One trace across the hops: caller -> gRPC client -> gRPC server -> servicer, and a transaction ->
outbox -> relay -> NATS -> inbox consumer; and spans reaching a real OTLP/gRPC collector."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanContext, SpanKind, StatusCode
from redis.asyncio import Redis

from mercato._gen.mercato.catalog.v1 import catalog_service_pb2, catalog_service_pb2_grpc
from mercato.catalog.bootstrap import CatalogService
from mercato.catalog.entrypoints.grpc_server import SERVICE_NAME, registration
from mercato.catalog.grpc_client import GrpcCatalogClient
from mercato.platform import telemetry
from mercato.platform.cache import Cache
from mercato.platform.db import Database
from mercato.platform.errors import Conflict, MercatoError
from mercato.platform.events import Envelope
from mercato.platform.grpc.client import CallPolicy, create_channel
from mercato.platform.grpc.server import GrpcServer
from mercato.platform.inbox import EventConsumer, Subscription
from mercato.platform.messaging import Broker
from mercato.platform.outbox import OutboxRelay
from mercato.platform.unit_of_work import UnitOfWork
from tests.conftest import ref
from tests.integration.fake_catalog import FakeCatalog
from tests.service.catalog.builders import a_product

SECRET = "t" * 48
LIST_CATEGORIES = f"{SERVICE_NAME}/ListCategories"


@pytest.fixture(scope="module")
def exporter() -> Iterator[InMemorySpanExporter]:
    """Mercato's spans go to memory for this module; the process-wide provider is left alone."""
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    with telemetry.use_tracer_provider(provider):
        yield memory
    provider.shutdown()


@pytest.fixture
def spans(exporter: InMemorySpanExporter) -> InMemorySpanExporter:
    exporter.clear()
    return exporter


def a_tracer() -> trace.Tracer:
    return telemetry.tracer("tests")


def by_kind(spans: InMemorySpanExporter, kind: SpanKind) -> ReadableSpan:
    [span] = [s for s in spans.get_finished_spans() if s.kind is kind]
    return span


def ids(span: ReadableSpan) -> SpanContext:
    assert span.context is not None
    return span.context


def attribute(span: ReadableSpan, name: str) -> Any:
    assert span.attributes is not None
    return span.attributes.get(name)


# --- gRPC -------------------------------------------------------------------------------------


@dataclass
class Served:
    catalog: FakeCatalog
    client: GrpcCatalogClient
    channel: grpc.aio.Channel


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    catalog = FakeCatalog()
    server = GrpcServer([registration(catalog)], secret=SECRET)
    await server.start()
    channel = create_channel(f"127.0.0.1:{server.port}")
    client = GrpcCatalogClient(channel, service="gateway", secret=SECRET, policy=CallPolicy(timeout=5))
    yield Served(catalog, client, channel)
    await channel.close()
    await server.stop(grace=None)


async def test_the_server_span_is_a_child_of_the_client_span_which_is_a_child_of_the_caller(
    served: Served, spans: InMemorySpanExporter
) -> None:
    with a_tracer().start_as_current_span("resolver") as parent:
        [category] = await served.client.categories()
    assert category.slug == "slug"

    client = by_kind(spans, SpanKind.CLIENT)
    server = by_kind(spans, SpanKind.SERVER)
    root = parent.get_span_context()
    assert (client.name, server.name) == (LIST_CATEGORIES, LIST_CATEGORIES)
    assert ids(client).trace_id == ids(server).trace_id == root.trace_id
    assert client.parent is not None and client.parent.span_id == root.span_id
    assert server.parent is not None and server.parent.span_id == ids(client).span_id
    assert server.parent.is_remote  # it came over the wire, not through a shared contextvar
    # The servicer ran inside the server span.
    assert [c.span_id for c in served.catalog.queries.seen] == [ids(server).span_id]
    for span in (client, server):
        assert attribute(span, "rpc.grpc.status_code") == grpc.StatusCode.OK.value[0]
        assert (attribute(span, "rpc.service"), attribute(span, "rpc.method")) == (
            SERVICE_NAME,
            "ListCategories",
        )
        assert span.status.status_code is StatusCode.UNSET


async def test_a_refusal_fails_the_call_but_not_the_server(
    served: Served, spans: InMemorySpanExporter
) -> None:
    served.catalog.queries.mode = "conflict"
    with pytest.raises(Conflict):
        await served.client.categories()
    client = by_kind(spans, SpanKind.CLIENT)
    server = by_kind(spans, SpanKind.SERVER)
    code = grpc.StatusCode.FAILED_PRECONDITION.value[0]
    assert (attribute(client, "rpc.grpc.status_code"), attribute(server, "rpc.grpc.status_code")) == (
        code,
        code,
    )
    assert client.status.status_code is StatusCode.ERROR
    assert server.status.status_code is StatusCode.UNSET


async def test_a_server_bug_marks_both_spans_and_the_server_records_the_exception(
    served: Served, spans: InMemorySpanExporter
) -> None:
    served.catalog.queries.mode = "boom"
    with pytest.raises(MercatoError):
        await served.client.categories()
    client = by_kind(spans, SpanKind.CLIENT)
    server = by_kind(spans, SpanKind.SERVER)
    assert client.status.status_code is StatusCode.ERROR
    assert server.status.status_code is StatusCode.ERROR
    assert attribute(server, "rpc.grpc.status_code") == grpc.StatusCode.INTERNAL.value[0]
    [event] = server.events
    assert event.name == "exception"
    assert event.attributes is not None
    assert event.attributes["exception.type"] == "RuntimeError"


async def test_a_call_without_a_service_token_is_traced_as_refused(
    served: Served, spans: InMemorySpanExporter
) -> None:
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    stub = catalog_service_pb2_grpc.CatalogServiceStub(served.channel)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ListCategories(
            catalog_service_pb2.ListCategoriesRequest(), metadata=(("traceparent", traceparent),), timeout=5
        )
    assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED
    [server] = spans.get_finished_spans()
    assert f"{ids(server).trace_id:032x}" == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert attribute(server, "rpc.grpc.status_code") == grpc.StatusCode.UNAUTHENTICATED.value[0]
    assert served.catalog.queries.seen == []


async def test_health_checks_are_not_traced(served: Served, spans: InMemorySpanExporter) -> None:
    health = health_pb2_grpc.HealthStub(served.channel)
    reply = await health.Check(health_pb2.HealthCheckRequest(service=SERVICE_NAME), timeout=5)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING
    assert spans.get_finished_spans() == ()


# --- events -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def catalog(db: Database, redis: Redis, namespace: str, broker: Broker) -> CatalogService:
    await broker.ensure_stream("catalog")
    return CatalogService(db, Cache(redis, namespace, enabled=False), namespace)


async def published_headers(broker: Broker, aggregate_id: uuid.UUID) -> dict[str, str]:
    sub = await broker.js.pull_subscribe(
        f"{broker.namespace}.catalog.v1.product_created",
        stream=f"{broker.namespace}_CATALOG".upper(),
        config=ConsumerConfig(
            ack_policy=AckPolicy.NONE, deliver_policy=DeliverPolicy.ALL, inactive_threshold=5.0
        ),
    )
    try:
        batch = await sub.fetch(500, timeout=1.0)
    finally:
        await sub.unsubscribe()
    [msg] = [m for m in batch if Envelope.from_json(m.data).aggregate_id == str(aggregate_id)]
    return dict(msg.headers or {})


@dataclass
class Handled:
    product_id: str
    seen: list[SpanContext] = field(default_factory=list)

    async def on_created(self, envelope: Envelope, uow: UnitOfWork) -> None:
        if envelope.aggregate_id == self.product_id:
            self.seen.append(trace.get_current_span().get_span_context())


async def test_an_event_is_handled_in_a_consumer_span_child_of_the_transaction_that_wrote_it(
    catalog: CatalogService, db: Database, broker: Broker, spans: InMemorySpanExporter
) -> None:
    with a_tracer().start_as_current_span("staff edit") as parent:
        product_id, _ = await a_product(catalog)
    root = parent.get_span_context()

    relay = OutboxRelay(db, catalog.outbox, broker)
    while await relay.publish_pending():
        pass
    headers = await published_headers(broker, product_id)
    assert headers["traceparent"] == f"00-{root.trace_id:032x}-{root.span_id:016x}-{root.trace_flags:02x}"
    assert headers["Nats-Msg-Id"]

    handled = Handled(str(product_id))
    subscription = Subscription(
        name=ref("trace"), source_context="catalog", handlers={"catalog.product_created": handled.on_created}
    )
    consumer = EventConsumer(db, broker, "catalog", subscription, catalog.uow)
    await consumer.start()
    try:
        for _ in range(40):
            await consumer.poll(wait=0.3)
            if handled.seen:
                break
    finally:
        await consumer.stop()

    [consumed] = [
        s
        for s in spans.get_finished_spans()
        if s.kind is SpanKind.CONSUMER and ids(s).trace_id == root.trace_id
    ]
    assert consumed.name == "process catalog.product_created"
    assert consumed.parent is not None and consumed.parent.span_id == root.span_id
    assert attribute(consumed, "mercato.inbox.duplicate") is False
    assert [c.span_id for c in handled.seen] == [ids(consumed).span_id]


# --- export -----------------------------------------------------------------------------------


class Collector(trace_service_pb2_grpc.TraceServiceServicer):  # type: ignore[misc]
    def __init__(self) -> None:
        self.requests: list[trace_service_pb2.ExportTraceServiceRequest] = []

    async def Export(self, request: Any, context: Any) -> Any:
        self.requests.append(request)
        return trace_service_pb2.ExportTraceServiceResponse()


PROBE = """
from opentelemetry import trace
from mercato.platform import telemetry

first = telemetry.configure_tracing("mercato-probe")
assert first is not None
assert telemetry.configure_tracing("mercato-other") is first
assert trace.get_tracer_provider() is first
with telemetry.tracer("probe").start_as_current_span("before"):
    pass
telemetry.shutdown_tracing()
# A second lifespan in the same process (tests do that) still traces and flushes.
with telemetry.tracer("probe").start_as_current_span("after"):
    pass
telemetry.shutdown_tracing()
"""


async def test_with_an_endpoint_spans_reach_the_otlp_collector_when_flushed() -> None:
    collector = Collector()
    server = grpc.aio.server()
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(collector, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"http://127.0.0.1:{port}"
    try:
        probe = await asyncio.create_subprocess_exec(
            sys.executable, "-c", PROBE, env=env, stderr=asyncio.subprocess.PIPE
        )
        _, stderr = await asyncio.wait_for(probe.communicate(), timeout=60)
    finally:
        await server.stop(grace=None)
    assert probe.returncode == 0, stderr.decode()
    # One export per flush, each before the process went on: the buffer was emptied on the spot.
    assert len(collector.requests) == 2
    names = []
    for request in collector.requests:
        [resource_spans] = request.resource_spans
        resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
        assert resource["service.name"] == "mercato-probe"
        names += [s.name for scope in resource_spans.scope_spans for s in scope.spans]
    assert names == ["before", "after"]
