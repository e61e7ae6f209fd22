"""OpenTelemetry traces: one trace from the HTTP request through gRPC calls and events.

`configure_tracing("mercato-gateway")` installs an SDK tracer provider that ships spans over OTLP/gRPC
(batched, in a background thread) — but only when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set. Otherwise nothing is installed: spans are the API's
non-recording ones, no exporter, no thread, and the trace context a caller sent is still passed on, so
a process without an exporter does not break the traces of those around it. `OTEL_SERVICE_NAME`
overrides the name given, `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none` keep it off, and the
other standard variables (`OTEL_TRACES_SAMPLER`, `OTEL_EXPORTER_OTLP_HEADERS`, ...) apply as usual.

Context travels as W3C trace context (`traceparent`, `tracestate`) only: in HTTP headers, gRPC
metadata, the `trace` field of event envelopes and NATS headers. No baggage: nothing else a caller
sends crosses into service-to-service metadata.

Code here asks `tracer(name)` for its tracer at use time rather than holding one from import time, so
`use_tracer_provider()` can point it at another provider (tests use an in-memory exporter that way,
without touching the process-wide provider OpenTelemetry lets a process set only once).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
TRACE_KEYS = (TRACEPARENT, TRACESTATE)
_TRACE_HEADERS = frozenset(k.encode() for k in TRACE_KEYS)

_propagator = TraceContextTextMapPropagator()
_lock = threading.Lock()
_installed: TracerProvider | None = None
_override: trace.TracerProvider | None = None
# name -> (the provider it came from, the tracer): a tracer is built once per provider, not per span.
_tracers: dict[str, tuple[trace.TracerProvider, trace.Tracer]] = {}


# --- set-up -------------------------------------------------------------------------------------


def _endpoint(environ: Mapping[str, str]) -> str | None:
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    if environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() == "none":
        return None
    endpoint = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    return endpoint.strip() if endpoint and endpoint.strip() else None


def build_tracer_provider(
    service_name: str, environ: Mapping[str, str] | None = None
) -> TracerProvider | None:
    """An SDK provider exporting to the configured OTLP endpoint, or None when none is configured.

    Builds only: nothing is installed process-wide (`configure_tracing` does that)."""
    env = os.environ if environ is None else environ
    endpoint = _endpoint(env)
    if endpoint is None:
        return None
    name = env.get("OTEL_SERVICE_NAME", "").strip() or service_name
    # Resource.create adds the SDK's attributes and OTEL_RESOURCE_ATTRIBUTES; `name` wins over theirs.
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: name}))
    # An http:// endpoint means plaintext (the collector next to us); https:// uses TLS.
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return provider


def configure_tracing(service_name: str, environ: Mapping[str, str] | None = None) -> TracerProvider | None:
    """Install the process-wide provider for `service_name` (e.g. `mercato-catalog`) if an OTLP
    endpoint is configured; returns it, or None when tracing stays a no-op.

    Idempotent: later calls return the provider the first one installed. Call it in the process that
    serves (each uvicorn worker), not in a parent that forks: the exporter's thread does not survive
    a fork. A provider installed by someone else (`opentelemetry-instrument`) is left alone."""
    global _installed
    with _lock:
        if _installed is not None:
            return _installed
        if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
            log.info("a tracer provider is already installed; using it")
            return None
        provider = build_tracer_provider(service_name, environ)
        if provider is None:
            return None
        trace.set_tracer_provider(provider)
        _installed = provider
        log.info("tracing: %s exports spans over OTLP", provider.resource.attributes.get(SERVICE_NAME))
        return provider


def shutdown_tracing(timeout_seconds: float = 5.0) -> None:
    """Export the spans still buffered, waiting at most `timeout_seconds`: call it on the way out
    (a stopped pod has seconds left, and the last requests' spans are the interesting ones).

    Tracing keeps working afterwards, so an app whose lifespan runs twice in one process (tests) is
    fine; the SDK stops the exporter's thread itself at interpreter exit. A no-op when tracing was
    never configured."""
    provider = _installed
    if provider is not None and not provider.force_flush(timeout_millis=int(timeout_seconds * 1000)):
        log.warning("tracing: spans not exported within %.1f s of shutting down", timeout_seconds)


@contextlib.contextmanager
def use_tracer_provider(provider: trace.TracerProvider) -> Iterator[None]:
    """Within the block, Mercato's spans go to `provider` instead of the process-wide one."""
    global _override
    previous, _override = _override, provider
    try:
        yield
    finally:
        _override = previous


def tracer(name: str) -> trace.Tracer:
    provider = _override if _override is not None else trace.get_tracer_provider()
    cached = _tracers.get(name)
    if cached is None or cached[0] is not provider:
        cached = (provider, provider.get_tracer(name))
        _tracers[name] = cached
    return cached[1]


# --- propagation --------------------------------------------------------------------------------


def extract(carrier: Mapping[str, str]) -> Context:
    """The context a caller sent (`traceparent`/`tracestate` keys); an empty one if none or invalid."""
    return _propagator.extract(carrier)


def trace_carrier() -> dict[str, str]:
    """The current span's context as W3C entries (`{}` when there is no valid span to continue)."""
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier


# --- HTTP ---------------------------------------------------------------------------------------

DEFAULT_TRACED_ROUTES = frozenset({"/graphql"})
DEFAULT_UNTRACED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class TracingMiddleware:
    """Pure ASGI middleware: each HTTP request runs in a SERVER span (`POST /graphql`), a child of the
    `traceparent` the client sent if any, so the resolvers' gRPC calls and events join its trace.

    Probes and scrapes (`untraced`) are not traced: they would drown the requests. Span names carry
    the path only for `routes` (bounded names); any other path is named by its method alone."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        routes: frozenset[str] = DEFAULT_TRACED_ROUTES,
        untraced: frozenset[str] = DEFAULT_UNTRACED_PATHS,
    ) -> None:
        self.app = app
        self.routes = routes
        self.untraced = untraced

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.untraced:
            await self.app(scope, receive, send)
            return
        carrier = {
            key.decode("latin-1"): value.decode("latin-1")
            for key, value in scope.get("headers") or ()
            if key in _TRACE_HEADERS
        }
        method: str = scope["method"]
        path: str = scope["path"]
        name = f"{method} {path}" if path in self.routes else method
        attributes: dict[str, Any] = {
            "http.request.method": method,
            "url.path": path,
            "url.scheme": scope.get("scheme", "http"),
        }
        if path in self.routes:
            attributes["http.route"] = path
        status = 500  # what the server answers when the app raises before starting a response

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        with tracer(__name__).start_as_current_span(
            name, context=extract(carrier), kind=SpanKind.SERVER, attributes=attributes
        ) as span:
            try:
                await self.app(scope, receive, send_observed)
            finally:
                span.set_attribute("http.response.status_code", status)
                if status >= 500:
                    span.set_status(Status(StatusCode.ERROR))
