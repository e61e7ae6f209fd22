"""The ASGI application: GraphQL (with GraphiQL) at /graphql, /healthz and /readyz."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

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
from mercato.gateway.response_cache import ResponseCache
from mercato.platform.auth import Unauthenticated
from mercato.platform.config import Settings


class MercatoGraphQL(GraphQL[GatewayContext, None]):
    def __init__(self, settings: Settings, clients: Clients) -> None:
        super().__init__(
            build_schema(settings),
            graphql_ide="graphiql" if settings.graphiql else None,
            allow_queries_via_get=True,
        )
        self.settings = settings
        self.clients = clients

    async def get_context(self, request: Any, response: Any) -> GatewayContext:
        context = GatewayContext(
            settings=self.settings, clients=self.clients, request=request, response=response
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
        return context

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
        response = JSONResponse(
            {
                "errors": [
                    {
                        "message": f"request body is larger than {self.max_bytes} bytes",
                        "extensions": {"code": "REQUEST_TOO_LARGE"},
                    }
                ]
            },
            status_code=413,
        )
        await response(scope, receive, send)


class _TooLarge(Exception):
    pass


def create_app(settings: Settings, runtime: Runtime | None = None, clients: Clients | None = None) -> ASGIApp:
    """The gateway app. Without `runtime`, it builds and starts one in its lifespan. Without `clients`,
    it calls the runtime's contexts in process."""
    own_runtime = runtime is None
    rt = runtime or Runtime(settings)
    clients = clients or Clients(
        catalog=rt.catalog_client,
        inventory=rt.inventory_client,
        cart=rt.cart_client,
        customers=rt.customers_client,
        orders=rt.orders_client,
    )
    graphql = MercatoGraphQL(settings, clients)

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        checks = await rt.ready()
        ready = all(checks.values())
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        if own_runtime:
            await rt.start()
        try:
            yield
        finally:
            if own_runtime:
                await rt.stop()

    app = Starlette(
        routes=[
            Route(
                "/graphql",
                ResponseCache(graphql, rt.cache, rt.catalog.queries.generation_key),
                methods=["GET", "POST"],
            ),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
        ],
        lifespan=lifespan,
    )
    return BodyLimit(app, settings.graphql_max_body_bytes)
