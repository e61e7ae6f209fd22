"""A `grpc.aio` server with what every Mercato service needs: the standard health service
(`grpc.health.v1`), reflection, service-token authentication, error mapping, a SERVER span per call
(child of the caller's, from its `traceparent` metadata) and a graceful stop."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from mercato.platform import telemetry
from mercato.platform.auth import Unauthenticated
from mercato.platform.errors import MercatoError, Unavailable
from mercato.platform.faults import is_unavailable
from mercato.platform.grpc import auth
from mercato.platform.grpc.errors import to_status
from mercato.platform.grpc.inputs import check_request
from mercato.platform.grpc.outcome import run_recording_code
from mercato.platform.metrics import GrpcMetricsInterceptor, Metrics

log = logging.getLogger(__name__)

# Probes and tooling call these without a service token (a kubelet has none); they expose no data.
_OPEN_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")
DEFAULT_GRACE_SECONDS = 5.0
# Callers keep one connection per server for as long as it lives; closing it after five minutes (calls in
# flight get 30 s to finish) makes them resolve the name again and find replicas added since.
SERVER_OPTIONS = (("grpc.max_connection_age_ms", 300_000), ("grpc.max_connection_age_grace_ms", 30_000))
# The codes that mean the server failed (OpenTelemetry's RPC conventions): the others are the caller's
# doing (NOT_FOUND, INVALID_ARGUMENT, ...) and leave the server span unset.
_SERVER_FAULTS = frozenset(
    {
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DATA_LOSS,
    }
)

Behavior = Callable[[Any, Any], Awaitable[Any]]


@dataclass(frozen=True)
class ServiceRegistration:
    """One servicer: its full proto name (for health and reflection) and the generated `add_…` hook."""

    name: str
    servicer: object
    add_to_server: Callable[[Any, Any], None]


def _map_errors(behavior: Behavior, method: str) -> Behavior:
    async def run(request: Any, context: Any) -> Any:
        try:
            return await behavior(request, context)
        except grpc.aio.AbortError:
            raise  # the servicer aborted on purpose: its status stands
        except MercatoError as exc:
            code, message, trailers = to_status(exc)
            context.set_trailing_metadata(trailers)
            await context.abort(code, message)
        except Exception as exc:
            trace.get_current_span().record_exception(exc)
            if is_unavailable(exc):
                # An engine down, slow or out of connections: the caller may retry (its client does).
                log.warning("%s: an engine is unavailable: %r", method, exc)
                unavailable = Unavailable("a store this service needs is unavailable; retry")
                code, message, trailers = to_status(unavailable)
                context.set_trailing_metadata(trailers)
                await context.abort(code, message)
            # The caller gets a bare INTERNAL; the details (SQL, paths, ...) stay in our log and trace.
            log.exception("unhandled error in %s", method)
            code, message, _ = to_status(RuntimeError())
            await context.abort(code, message)

    return run


class TracingInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Runs each unary call in a SERVER span, a child of the caller's `traceparent` (if it sent one).

    Install it before `AuthAndErrorsInterceptor` (outer) so the span holds the refusal or the mapped
    error and its status code; health checks and reflection are not traced."""

    async def intercept_service(self, continuation: Callable[[Any], Awaitable[Any]], details: Any) -> Any:
        handler = await continuation(details)
        method: str = details.method
        if handler is None or method.startswith(_OPEN_PREFIXES) or handler.unary_unary is None:
            return handler
        carrier = {
            k: v
            for k, v in details.invocation_metadata or ()
            if k in telemetry.TRACE_KEYS and isinstance(v, str)
        }
        name = method.lstrip("/")
        service, _, rpc = name.rpartition("/")
        attributes = {"rpc.system": "grpc", "rpc.service": service, "rpc.method": rpc}
        inner: Behavior = handler.unary_unary

        async def traced(request: Any, context: Any) -> Any:
            with telemetry.tracer(__name__).start_as_current_span(
                name,
                context=telemetry.extract(carrier),
                kind=SpanKind.SERVER,
                attributes=attributes,
                record_exception=False,
                set_status_on_exception=False,
            ) as span:

                def record(code: grpc.StatusCode) -> None:
                    span.set_attribute("rpc.grpc.status_code", code.value[0])
                    if code in _SERVER_FAULTS:
                        span.set_status(Status(StatusCode.ERROR, code.name))

                return await run_recording_code(inner, request, context, record)

        return grpc.unary_unary_rpc_method_handler(
            traced,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


class AuthAndErrorsInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Refuses calls without a valid service token, exposes the caller's principal and maps errors.

    One interceptor for both so the principal contextvar is set in the task that runs the servicer.
    """

    def __init__(self, secret: str) -> None:
        self._secret = secret

    async def intercept_service(self, continuation: Callable[[Any], Awaitable[Any]], details: Any) -> Any:
        handler = await continuation(details)
        method: str = details.method
        if handler is None or method.startswith(_OPEN_PREFIXES) or handler.unary_unary is None:
            return handler
        metadata = {k: v for k, v in details.invocation_metadata or () if isinstance(v, str)}
        secret = self._secret
        inner: Behavior = handler.unary_unary

        audience = auth.audience_of(method)

        async def authenticated(request: Any, context: Any) -> Any:
            caller = auth.verify_service_token(auth.bearer(metadata), secret, audience=audience)
            token = metadata.get(auth.PRINCIPAL_KEY)
            principal = auth.verify_principal_token(token, secret, audience=audience) if token else None
            # The boundary rule for text, after authentication: an unknown caller learns nothing.
            check_request(request)
            caller_token = auth.current_caller.set(caller)
            principal_token = auth.current_principal.set(principal)
            try:
                return await inner(request, context)
            finally:
                auth.current_principal.reset(principal_token)
                auth.current_caller.reset(caller_token)

        return grpc.unary_unary_rpc_method_handler(
            _map_errors(authenticated, method),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


class GrpcServer:
    """Build with the services, `await start()`, `await stop()`; `port` is the bound port."""

    def __init__(
        self,
        services: Sequence[ServiceRegistration],
        *,
        secret: str | None,
        address: str = "127.0.0.1:0",
        credentials: grpc.ServerCredentials | None = None,
        interceptors: Sequence[Any] = (),
        metrics: Metrics | None = None,
    ) -> None:
        if not secret:
            # No fallback key: tokens signed with a guessable key would be forgeable by anyone.
            raise Unauthenticated("MERCATO_AUTH_SECRET is not set: service calls cannot be verified")
        self._services = list(services)
        chain: list[Any] = [TracingInterceptor(), AuthAndErrorsInterceptor(secret), *interceptors]
        if metrics is not None:
            # First means outermost: it sees the status after the errors were mapped (and refusals).
            chain.insert(0, GrpcMetricsInterceptor(metrics))
        self.server = grpc.aio.server(interceptors=chain, options=SERVER_OPTIONS)
        self.health = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        for service in self._services:
            service.add_to_server(service.servicer, self.server)
        reflection.enable_server_reflection(
            [s.name for s in self._services] + [health.SERVICE_NAME, reflection.SERVICE_NAME], self.server
        )
        # Insecure only when no credentials are given; the default address is loopback for that reason.
        if credentials is None:
            self.port: int = self.server.add_insecure_port(address)
        else:
            self.port = self.server.add_secure_port(address, credentials)

    async def start(self) -> None:
        await self.server.start()
        serving = health_pb2.HealthCheckResponse.SERVING
        await self.health.set("", serving)
        for service in self._services:
            await self.health.set(service.name, serving)

    async def stop(self, grace: float | None = DEFAULT_GRACE_SECONDS) -> None:
        """Report NOT_SERVING first so balancers drain, then let in-flight calls finish for `grace`."""
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)

    async def wait_for_termination(self) -> None:
        await self.server.wait_for_termination()
