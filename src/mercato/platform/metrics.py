"""Prometheus metrics of one process: HTTP and gRPC traffic, consumer lag and outbox backlog.

Everything hangs off a `Metrics` object with a registry of its own (not the library's global one), so
a test or a second server in the same process gets clean counters. The names are a contract: the Helm
chart scales on `mercato_http_requests_in_flight` and `mercato_grpc_requests_in_flight`.

Labels stay bounded: an HTTP path is recorded only if it is one of a configured set (anything else is
"other"), gRPC methods are the registered ones, consumers and contexts are fixed at startup.

Consumer lag and outbox backlog are read from the servers when `/metrics` is scraped (`sample()`): no
background task to supervise, and the values are as fresh as the scrape. Each source is bounded by a
timeout and keeps its last values when it fails, so a slow NATS or database never hangs a scrape.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

import grpc
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mercato.platform.business_metrics import BusinessCollector
from mercato.platform.grpc.outcome import run_recording_code

if TYPE_CHECKING:
    from mercato.platform.db import Database
    from mercato.platform.outbox import Outbox

log = logging.getLogger(__name__)

OTHER = "other"
DEFAULT_HTTP_PATHS = frozenset({"/graphql", "/healthz", "/readyz", "/metrics"})
_HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Probes and tooling (the same calls the gRPC server lets in without a token): not traffic.
UNCOUNTED_GRPC_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")
DEFAULT_SAMPLE_TIMEOUT = 2.0

# (stream, durable consumer name) -> messages not yet acknowledged.
ConsumerLagSource = Callable[[], Awaitable[Mapping[tuple[str, str], int]]]
# context -> outbox rows not yet published.
OutboxPendingSource = Callable[[], Awaitable[Mapping[str, int]]]
# context -> seconds since the oldest unpublished outbox row was written (0: none pending).
OutboxAgeSource = Callable[[], Awaitable[Mapping[str, float]]]


class Metrics:
    """The metrics of one process, in a registry of their own (`registry`)."""

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        http_paths: Iterable[str] = DEFAULT_HTTP_PATHS,
        sample_timeout: float = DEFAULT_SAMPLE_TIMEOUT,
        process_collectors: bool = True,
    ) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.http_paths = frozenset(http_paths)
        self.sample_timeout = sample_timeout
        # CPU, memory, fds, GC: what the default registry has already (registering twice would fail).
        if process_collectors and self.registry is not REGISTRY:
            ProcessCollector(registry=self.registry)
            PlatformCollector(registry=self.registry)
            GCCollector(registry=self.registry)
        r = self.registry
        # Business and saga counters: process-wide, counted where events commit (business_metrics).
        r.register(BusinessCollector())
        self.http_in_flight = Gauge(
            "mercato_http_requests_in_flight", "HTTP requests being served now.", registry=r
        )
        self.http_requests = Counter(
            "mercato_http_requests_total", "HTTP requests served.", ["method", "path", "status"], registry=r
        )
        self.http_duration = Histogram(
            "mercato_http_request_duration_seconds",
            "Time to serve an HTTP request, body included.",
            ["method", "path"],
            registry=r,
        )
        self.grpc_in_flight = Gauge(
            "mercato_grpc_requests_in_flight", "gRPC calls being served now.", registry=r
        )
        self.grpc_requests = Counter(
            "mercato_grpc_requests_total", "gRPC calls served.", ["service", "method", "code"], registry=r
        )
        self.grpc_duration = Histogram(
            "mercato_grpc_request_duration_seconds",
            "Time to serve a gRPC call.",
            ["service", "method"],
            registry=r,
        )
        self.consumer_pending = Gauge(
            "mercato_consumer_pending_messages",
            "Messages of a stream a durable consumer has not acknowledged yet (its lag).",
            ["stream", "consumer"],
            registry=r,
        )
        self.outbox_pending = Gauge(
            "mercato_outbox_pending_events",
            "Events written to a context's outbox and not yet published.",
            ["context"],
            registry=r,
        )
        self.outbox_age = Gauge(
            "mercato_outbox_oldest_pending_age_seconds",
            "Seconds since the oldest event of a context's outbox not yet published was written "
            "(0: none pending): how late the relay is.",
            ["context"],
            registry=r,
        )
        self._lag_sources: list[ConsumerLagSource] = []
        self._outbox_sources: list[OutboxPendingSource] = []
        self._outbox_age_sources: list[OutboxAgeSource] = []
        self._samplers: list[Callable[[], Awaitable[None]]] = []
        self._sampling: asyncio.Task[None] | None = None

    def http_path(self, path: str) -> str:
        return path if path in self.http_paths else OTHER

    def add_consumer_lag_source(self, source: ConsumerLagSource) -> None:
        self._lag_sources.append(source)

    def add_outbox_source(self, source: OutboxPendingSource) -> None:
        self._outbox_sources.append(source)

    def add_outbox_age_source(self, source: OutboxAgeSource) -> None:
        self._outbox_age_sources.append(source)

    def add_sampler(self, sampler: Callable[[], Awaitable[None]]) -> None:
        """A coroutine that sets gauges of its own at each scrape (bounded like the sources)."""
        self._samplers.append(sampler)

    async def sample(self) -> None:
        """Refresh the gauges fed by sources; takes at most about `sample_timeout`, never raises.

        Concurrent callers (two scrapers) share one sampling rather than doubling the load."""
        task = self._sampling
        if task is None or task.done():
            task = self._sampling = asyncio.create_task(self._sample_all())
        # Shielded: a scrape that goes away must not cancel the sampling another scrape waits for.
        await asyncio.shield(task)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    async def _sample_all(self) -> None:
        await asyncio.gather(
            *(self._sample_one(source, self.consumer_pending) for source in self._lag_sources),
            *(self._sample_one(source, self.outbox_pending) for source in self._outbox_sources),
            *(self._sample_one(source, self.outbox_age) for source in self._outbox_age_sources),
            *(self._run_sampler(sampler) for sampler in self._samplers),
        )

    async def _run_sampler(self, sampler: Callable[[], Awaitable[None]]) -> None:
        try:
            async with asyncio.timeout(self.sample_timeout):
                await sampler()
        except Exception as exc:  # noqa: BLE001 - a failing sampler keeps its gauges' last values
            log.warning("metrics sampler %r failed, keeping its last values: %r", sampler, exc)

    async def _sample_one(self, source: Callable[[], Awaitable[Mapping[Any, float]]], gauge: Gauge) -> None:
        try:
            async with asyncio.timeout(self.sample_timeout):
                values = await source()
        except Exception as exc:  # noqa: BLE001 - a failing source keeps its last values
            log.warning("metrics source %r failed, keeping its last values: %r", source, exc)
            return
        # Labels are never removed: the consumers and contexts of a process are fixed at startup.
        for key, value in values.items():
            labels = key if isinstance(key, tuple) else (key,)
            gauge.labels(*labels).set(value)


# --- HTTP ---------------------------------------------------------------------------------------


class HttpMetricsMiddleware:
    """Pure ASGI middleware counting HTTP requests; lifespan and websocket scopes pass through.

    `not_in_flight` paths are counted but not in flight: a scrape would otherwise always see itself,
    and the gauge the autoscaler reads would never go below one."""

    def __init__(
        self, app: ASGIApp, metrics: Metrics, *, not_in_flight: Collection[str] = ("/metrics",)
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.not_in_flight = frozenset(not_in_flight)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        m = self.metrics
        method = scope["method"] if scope["method"] in _HTTP_METHODS else OTHER
        path = m.http_path(scope["path"])
        status = 500  # what the server answers when the app raises before starting a response

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        in_flight = scope["path"] not in self.not_in_flight
        if in_flight:
            m.http_in_flight.inc()
        start = time.perf_counter()
        try:
            await self.app(scope, receive, send_observed)
        finally:
            if in_flight:
                m.http_in_flight.dec()
            m.http_duration.labels(method, path).observe(time.perf_counter() - start)
            m.http_requests.labels(method, path, str(status)).inc()


def metrics_endpoint(metrics: Metrics) -> Callable[[Request], Awaitable[Response]]:
    """A Starlette endpoint serving the text exposition format: `Route("/metrics", metrics_endpoint(m))`."""

    async def endpoint(request: Request) -> Response:
        await metrics.sample()
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    return endpoint


# --- gRPC ---------------------------------------------------------------------------------------


class GrpcMetricsInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Counts unary-unary calls with the status code the caller gets.

    Install it first (outermost) so it sees the code after every other interceptor mapped errors:
    `GrpcServer(..., metrics=m)` does."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    async def intercept_service(self, continuation: Callable[[Any], Awaitable[Any]], details: Any) -> Any:
        handler = await continuation(details)
        full: str = details.method
        if handler is None or handler.unary_unary is None or full.startswith(UNCOUNTED_GRPC_PREFIXES):
            return handler
        service, _, method = full.lstrip("/").rpartition("/")
        inner = handler.unary_unary
        m = self._metrics

        async def observed(request: Any, context: Any) -> Any:
            m.grpc_in_flight.inc()
            start = time.perf_counter()

            def record(code: grpc.StatusCode) -> None:
                m.grpc_in_flight.dec()
                m.grpc_duration.labels(service, method).observe(time.perf_counter() - start)
                m.grpc_requests.labels(service, method, code.name).inc()

            return await run_recording_code(inner, request, context, record)

        return grpc.unary_unary_rpc_method_handler(
            observed,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


# --- sources ------------------------------------------------------------------------------------


class LaggingConsumer(Protocol):
    """What `consumer_lag_source` needs of a consumer; `inbox.EventConsumer` is one."""

    @property
    def stream(self) -> str: ...

    @property
    def durable(self) -> str: ...

    async def pending(self) -> int: ...


def consumer_lag_source(consumers: Iterable[LaggingConsumer]) -> ConsumerLagSource:
    """Reads every consumer's lag concurrently; one that cannot be read keeps its last value."""
    chosen = list(consumers)

    async def sample() -> Mapping[tuple[str, str], int]:
        results = await asyncio.gather(*(c.pending() for c in chosen), return_exceptions=True)
        lag: dict[tuple[str, str], int] = {}
        for consumer, result in zip(chosen, results, strict=True):
            if isinstance(result, BaseException):
                log.warning("cannot read the lag of consumer %s: %r", consumer.durable, result)
            else:
                lag[(consumer.stream, consumer.durable)] = result
        return lag

    return sample


def outbox_pending_source(
    db: Database, outboxes: Iterable[Outbox], *, statement_timeout_ms: int = 1000
) -> OutboxPendingSource:
    """Counts unpublished outbox rows per context (the outbox's schema) in one statement."""
    schemas = sorted({o.schema for o in outboxes})
    query = text(
        " UNION ALL ".join(
            f"SELECT '{s}' AS context, count(*) AS pending FROM {s}.outbox WHERE published_at IS NULL"
            for s in schemas
        )
    )

    async def sample() -> Mapping[str, int]:
        if not schemas:
            return {}
        async with db.connect() as conn:
            # Bounded on the server too: a cancelled wait must not leave a long count running.
            await conn.execute(text(f"SET LOCAL statement_timeout = {int(statement_timeout_ms)}"))
            rows = (await conn.execute(query)).all()
        return {str(row.context): int(row.pending) for row in rows}

    return sample


def outbox_age_source(
    db: Database, outboxes: Iterable[Outbox], *, statement_timeout_ms: int = 1000
) -> OutboxAgeSource:
    """Age of the oldest unpublished outbox row per context, in one statement.

    The oldest pending row is the first of the partial index on `seq WHERE published_at IS NULL`:
    one index probe per context, however long the backlog."""
    schemas = sorted({o.schema for o in outboxes})
    query = text(
        " UNION ALL ".join(
            f"SELECT '{s}' AS context, (SELECT extract(epoch FROM now() - created_at) FROM {s}.outbox"
            " WHERE published_at IS NULL ORDER BY seq LIMIT 1) AS age"
            for s in schemas
        )
    )

    async def sample() -> Mapping[str, float]:
        if not schemas:
            return {}
        async with db.connect() as conn:
            await conn.execute(text(f"SET LOCAL statement_timeout = {int(statement_timeout_ms)}"))
            rows = (await conn.execute(query)).all()
        return {str(row.context): max(0.0, float(row.age or 0.0)) for row in rows}

    return sample
