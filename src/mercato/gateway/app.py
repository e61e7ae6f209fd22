"""The ASGI application: GraphQL (with GraphiQL) at /graphql, /healthz and /readyz."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator
from typing import Any, Protocol

import orjson
from cross_web import HTTPException
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from mercato.app.runtime import Runtime
from mercato.gateway.context import Clients, GatewayContext
from mercato.gateway.graphql.core.errors import format_error
from mercato.gateway.graphql.schema import build_schema
from mercato.gateway.rate_limits import GatewayRateLimits
from mercato.gateway.response_cache import ResponseCache
from mercato.ops.self_watch import SelfWatch
from mercato.platform.auth import Unauthenticated
from mercato.platform.cache import Cache
from mercato.platform.config import Settings
from mercato.platform.errors import InputRejected
from mercato.platform.metrics import HttpMetricsMiddleware, Metrics, metrics_endpoint
from mercato.platform.shutdown import stop_tasks
from mercato.platform.telemetry import TracingMiddleware, shutdown_tracing
from mercato.platform.validation import nested_deeper_than

# No request needs more (body → variables → input → variants → one → attributes → … is under 10);
# deeper JSON would only exhaust the recursion of whatever walks it next.
MAX_BODY_NESTING = 32
# What a refused request is called in `extensions.code`, by HTTP status.
_HTTP_CODES = {400: "BAD_REQUEST", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "REQUEST_TOO_LARGE"}


def error_response(message: str, code: str, status: int) -> JSONResponse:
    """A refusal before GraphQL runs, shaped as a GraphQL response so clients parse one format."""
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": code}}]}, status_code=status)


class MercatoGraphQL(GraphQL[GatewayContext, None]):
    def __init__(
        self, settings: Settings, clients: Clients, rate_limits: GatewayRateLimits | None = None
    ) -> None:
        super().__init__(
            build_schema(settings),
            graphql_ide="graphiql" if settings.graphiql else None,
            allow_queries_via_get=True,
        )
        self.settings = settings
        self.clients = clients
        self.rate_limits = rate_limits

    async def get_context(self, request: Any, response: Any) -> GatewayContext:
        context = GatewayContext(
            settings=self.settings,
            clients=self.clients,
            request=request,
            response=response,
            rate_limits=self.rate_limits,
        )
        header = request.headers.get("authorization") if request is not None else None
        if header:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token:
                context.auth_error = "the Authorization header must be `Bearer <access token>`"
            else:
                try:
                    context.principal = await self.clients.customers.authenticate(token.strip())
                except Unauthenticated as exc:
                    # Anonymous, but told why: a client can refresh its token and retry.
                    context.auth_error = exc.message
                except InputRejected:
                    # Over gRPC, the customers' edge refuses a token that breaks the text rule (over
                    # 4,096 characters, control characters) before reading it: no valid token either.
                    context.auth_error = "invalid access token"
        return context

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        try:
            response = await self.run(Request(scope=scope, receive=receive))
        except HTTPException as exc:
            # Strawberry answers these in plain text; clients expect a GraphQL-shaped body.
            response = error_response(
                exc.reason, _HTTP_CODES.get(exc.status_code, "BAD_REQUEST"), exc.status_code
            )
        await response(scope, receive, send)

    def decode_json(self, data: str | bytes) -> object:
        """JSON as RFC 8259 has it (UTF-8, strictly), an object or a batch, nested at most
        `MAX_BODY_NESTING` deep: anything else is the client's mistake (400), never a 500."""
        if isinstance(data, bytes):
            try:
                data = data.decode("utf-8")
            except UnicodeDecodeError:
                raise HTTPException(400, "the request body is not valid UTF-8") from None
        try:
            value = json.loads(data)
        except RecursionError:
            value = None
        except json.JSONDecodeError:
            raise  # Strawberry answers it: 400 "Unable to parse request body as JSON"
        except ValueError:  # not a syntax error: an integer longer than Python parses
            raise HTTPException(
                400, f"the request body holds a number of more than {sys.get_int_max_str_digits()} digits"
            ) from None
        if value is None or nested_deeper_than(value, MAX_BODY_NESTING):
            raise HTTPException(400, f"the request body nests JSON more than {MAX_BODY_NESTING} levels deep")
        if not isinstance(value, dict | list):
            raise HTTPException(400, "the request body must be a JSON object")
        return value

    def encode_json(self, data: object) -> str | bytes:
        """orjson: a listing page's ~40 KB took ~1 ms with `json.dumps` (Strawberry's), ~0.05 ms here.
        What orjson refuses (an integer past 64 bits in a JSON value, a lone surrogate in a string)
        goes to `json.dumps` as before."""
        try:
            return orjson.dumps(data)
        except TypeError:
            return json.dumps(data, separators=(",", ":"))

    async def process_result(self, request: Any, result: ExecutionResult) -> GraphQLHTTPResponse:
        # Syntax errors can bypass the schema extensions; every error leaves here with a code.
        for error in result.errors or ():
            format_error(error)
        return await super().process_result(request, result)


class BodyLimit:
    """Refuse bodies over the limit with a typed GraphQL error before anything reads them."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Any:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise _TooLarge
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _TooLarge:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(
            f"request body is larger than {self.max_bytes} bytes", "REQUEST_TOO_LARGE", 413
        )
        await response(scope, receive, send)


class _TooLarge(Exception):
    pass


class Backend(Protocol):
    """What the gateway runs on: the contexts' clients, the cache of whole responses and health."""

    clients: Clients
    cache: Cache
    generation_key: str  # the catalog's cache generation; cached responses live under it

    async def start(self) -> None: ...

    async def ready(self) -> dict[str, bool]:
        """The checks that decide readiness (all must hold)."""
        ...

    async def upstreams(self) -> dict[str, str]:
        """The contexts it calls and whether they answer: reported, never gating readiness (one
        context down must not take the whole storefront out of the load balancer)."""
        ...

    def instrument(self, metrics: Metrics) -> None:
        """Report what the backend runs (consumer lag, outbox backlog) on `metrics`; after `start`."""
        ...

    @property
    def healthy(self) -> bool:
        """False once the backend's watchdog gave up on a wedged loop (the process must be replaced)."""
        ...

    async def stop(self) -> None: ...


class InProcessBackend:
    """Every context in this process (`Runtime`); `clients` may replace its in-process clients."""

    def __init__(self, runtime: Runtime, clients: Clients | None = None) -> None:
        self.runtime = runtime
        self.clients = clients or Clients(
            catalog=runtime.catalog_client,
            inventory=runtime.inventory_client,
            cart=runtime.cart_client,
            customers=runtime.customers_client,
            orders=runtime.orders_client,
            payments=runtime.payments_client,
            search=runtime.search_client,
        )
        self.cache = runtime.cache
        self.generation_key = runtime.catalog.queries.generation_key

    async def start(self) -> None:
        await self.runtime.start()

    async def ready(self) -> dict[str, bool]:
        return await self.runtime.ready()

    async def upstreams(self) -> dict[str, str]:
        return {}

    def instrument(self, metrics: Metrics) -> None:
        self.runtime.host.instrument(metrics)

    @property
    def healthy(self) -> bool:
        return self.runtime.host.healthy

    async def stop(self) -> None:
        await self.runtime.stop()


def create_app(settings: Settings, runtime: Runtime | None = None, clients: Clients | None = None) -> ASGIApp:
    """The gateway on the in-process topology. Without `runtime`, it builds and starts one in its
    lifespan. Without `clients`, it calls the runtime's contexts in process."""
    own_runtime = runtime is None
    backend = InProcessBackend(runtime or Runtime(settings), clients)
    return gateway_app(settings, backend, owns_backend=own_runtime)


def gateway_app(settings: Settings, backend: Backend, *, owns_backend: bool) -> ASGIApp:
    """The gateway app on `backend`; it starts and stops the backend in its lifespan if it owns it."""
    graphql = MercatoGraphQL(settings, backend.clients, GatewayRateLimits(backend.cache.redis, settings))
    metrics = Metrics()

    async def healthz(_: Request) -> Response:
        if not backend.healthy:  # the watchdog gave up on a wedged loop: replace this process
            return JSONResponse({"status": "wedged"}, status_code=503)
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        checks = await backend.ready()
        ready = all(checks.values())
        body: dict[str, Any] = {"ready": ready, "checks": checks}
        upstreams = await backend.upstreams()
        if upstreams:
            body["upstreams"] = upstreams
        return JSONResponse(body, status_code=200 if ready else 503)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        if owns_backend:
            await backend.start()
        backend.instrument(metrics)
        interval = settings.anomaly_watch_interval_seconds
        watching = [asyncio.create_task(SelfWatch(metrics, interval=interval).run())] if interval > 0 else []
        try:
            yield
        finally:
            await stop_tasks(watching, grace=1.0)
            if owns_backend:
                await backend.stop()
            shutdown_tracing()

    app = Starlette(
        routes=[
            Route(
                "/graphql",
                ResponseCache(graphql, backend.cache, backend.generation_key),
                methods=["GET", "POST"],
            ),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint(metrics)),
        ],
        lifespan=lifespan,
    )
    return TracingMiddleware(HttpMetricsMiddleware(BodyLimit(app, settings.graphql_max_body_bytes), metrics))
