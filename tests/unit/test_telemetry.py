"""Tracing set-up and the HTTP edge: a no-op without an exporter, and one trace from the client's
`traceparent` on."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from mercato.platform import telemetry

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"
ENDPOINT = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317"}


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


# --- set-up -------------------------------------------------------------------------------------


def test_without_an_endpoint_nothing_is_installed_and_spans_record_nothing() -> None:
    before_provider = trace.get_tracer_provider()
    before_threads = threading.active_count()

    assert telemetry.configure_tracing("mercato-test", environ={}) is None

    assert trace.get_tracer_provider() is before_provider
    assert threading.active_count() == before_threads
    with trace.get_tracer("test").start_as_current_span("work") as span:
        assert not span.is_recording()
    assert telemetry.trace_carrier() == {}


@pytest.mark.parametrize("switch", [{"OTEL_SDK_DISABLED": "true"}, {"OTEL_TRACES_EXPORTER": "none"}])
def test_the_standard_switches_keep_tracing_off_even_with_an_endpoint(switch: dict[str, str]) -> None:
    assert telemetry.build_tracer_provider("mercato-test", {**ENDPOINT, **switch}) is None


def test_an_endpoint_gives_a_batching_otlp_provider_named_after_the_service() -> None:
    provider = telemetry.build_tracer_provider("mercato-catalog", ENDPOINT)
    assert provider is not None
    try:
        assert provider.resource.attributes["service.name"] == "mercato-catalog"
        # Batched in the background (the export itself is tested against a collector in
        # tests/integration/test_grpc_tracing.py).
        [processor] = provider._active_span_processor._span_processors
        assert isinstance(processor, BatchSpanProcessor)
    finally:
        provider.shutdown()


def test_otel_service_name_overrides_the_default_name() -> None:
    provider = telemetry.build_tracer_provider(
        "mercato-catalog", {**ENDPOINT, "OTEL_SERVICE_NAME": "catalog-eu-1"}
    )
    assert provider is not None
    provider.shutdown()
    assert provider.resource.attributes["service.name"] == "catalog-eu-1"


def test_shutting_down_tracing_that_was_never_configured_is_harmless() -> None:
    telemetry.shutdown_tracing()


# --- propagation --------------------------------------------------------------------------------


def test_a_span_continued_from_a_carrier_is_injected_back_with_its_own_id(
    spans: InMemorySpanExporter,
) -> None:
    with telemetry.tracer("test").start_as_current_span(
        "child", context=telemetry.extract({"traceparent": TRACEPARENT})
    ) as span:
        carrier = telemetry.trace_carrier()
    own = span.get_span_context()
    assert carrier == {"traceparent": f"00-{TRACE_ID}-{own.span_id:016x}-01"}


def test_a_malformed_traceparent_starts_a_new_trace(spans: InMemorySpanExporter) -> None:
    with telemetry.tracer("test").start_as_current_span(
        "root", context=telemetry.extract({"traceparent": "00-zz-yy-01"})
    ):
        pass
    [span] = spans.get_finished_spans()
    assert span.parent is None
    assert span.context is not None
    assert f"{span.context.trace_id:032x}" != TRACE_ID


# --- HTTP ---------------------------------------------------------------------------------------


def an_app(seen: list[str]) -> telemetry.TracingMiddleware:
    async def graphql(request: Request) -> PlainTextResponse:
        seen.append(f"{trace.get_current_span().get_span_context().trace_id:032x}")
        return PlainTextResponse("ok")

    async def broken(request: Request) -> PlainTextResponse:
        return PlainTextResponse("no", status_code=503)

    async def healthz(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    routes = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        Route("/broken", broken),
        Route("/healthz", healthz),
    ]
    return telemetry.TracingMiddleware(Starlette(routes=routes))


async def request(app: telemetry.TracingMiddleware, method: str, path: str, **headers: str) -> int:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.request(method, path, headers=headers)
    return response.status_code


def the_span(spans: InMemorySpanExporter) -> ReadableSpan:
    [span] = spans.get_finished_spans()
    return span


async def test_a_request_continues_the_trace_its_traceparent_names(spans: InMemorySpanExporter) -> None:
    seen: list[str] = []

    assert await request(an_app(seen), "POST", "/graphql", traceparent=TRACEPARENT) == 200

    span = the_span(spans)
    assert span.context is not None and span.parent is not None
    assert (span.name, span.kind) == ("POST /graphql", SpanKind.SERVER)
    assert f"{span.context.trace_id:032x}" == TRACE_ID
    assert f"{span.parent.span_id:016x}" == PARENT_ID
    assert span.parent.is_remote
    assert seen == [TRACE_ID]  # the app ran inside the span
    assert span.attributes is not None
    assert (span.attributes["http.request.method"], span.attributes["http.response.status_code"]) == (
        "POST",
        200,
    )
    assert span.status.status_code is StatusCode.UNSET


async def test_a_request_without_traceparent_starts_a_trace(spans: InMemorySpanExporter) -> None:
    seen: list[str] = []
    await request(an_app(seen), "GET", "/graphql")
    span = the_span(spans)
    assert span.parent is None
    assert span.context is not None
    assert seen == [f"{span.context.trace_id:032x}"]


async def test_a_server_error_marks_the_span_and_other_paths_are_named_by_method(
    spans: InMemorySpanExporter,
) -> None:
    assert await request(an_app([]), "GET", "/broken") == 503
    span = the_span(spans)
    assert span.name == "GET"
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes["http.response.status_code"] == 503


async def test_probes_are_not_traced(spans: InMemorySpanExporter) -> None:
    assert await request(an_app([]), "GET", "/healthz", traceparent=TRACEPARENT) == 200
    assert spans.get_finished_spans() == ()
