"""Calling a Mercato service over gRPC: channels, deadlines, safe retries and error mapping.

Every call has a deadline (2 s unless configured) that covers all its attempts. Only calls that are
safe to repeat are retried — reads, and writes the server deduplicates by an idempotency key — and
only on UNAVAILABLE (nothing or not all of it reached the server), with exponential backoff and full
jitter. Any other write is tried once: repeating it could apply it twice. Each call is a CLIENT span
whose W3C trace context travels in the metadata beside the service token.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar

import grpc
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from mercato.platform import telemetry
from mercato.platform.auth import Unauthenticated
from mercato.platform.errors import MercatoError, Unavailable
from mercato.platform.grpc.auth import OutgoingTokens
from mercato.platform.grpc.errors import from_status

R = TypeVar("R")

DEFAULT_TIMEOUT_SECONDS = 2.0

# gRPC's default reconnect backoff grows to two minutes: a service that restarts after a crash would
# stay unreachable for its callers long after it is back. Cap it at two seconds.
RECONNECT_OPTIONS: tuple[tuple[str, int | str], ...] = (
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.min_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 2_000),
    # Spread calls over every address the target resolves to (`dns:///<headless service>:port` lists
    # each replica), instead of sending them all down the first connection.
    ("grpc.lb_policy_name", "round_robin"),
)


@dataclass(frozen=True)
class CallPolicy:
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    # Attempts for a call that may be retried (the first one included).
    max_attempts: int = 4
    backoff_initial: float = 0.05
    backoff_max: float = 1.0

    def backoff(self, retry: int) -> float:
        # Full jitter: spreads the retries of many callers that failed together.
        return random.uniform(0, min(self.backoff_max, self.backoff_initial * 2**retry))


def create_channel(
    target: str,
    *,
    credentials: grpc.ChannelCredentials | None = None,
    options: Sequence[tuple[str, Any]] = (),
) -> Any:
    """A `grpc.aio` channel; plaintext only when no credentials are given (loopback, tests)."""
    chosen = [*RECONNECT_OPTIONS, *options]
    if credentials is None:
        return grpc.aio.insecure_channel(target, options=chosen)
    return grpc.aio.secure_channel(target, credentials, options=chosen)


class ServiceCaller:
    """Runs one RPC of a generated stub with the policy, the service token and the error mapping."""

    def __init__(
        self,
        *,
        service: str,
        target_name: str,
        secret: str | None,
        policy: CallPolicy | None = None,
        known_errors: Iterable[type[MercatoError]] = (),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not secret:
            raise Unauthenticated("MERCATO_AUTH_SECRET is not set: service calls cannot be signed")
        self.service = service
        self.target_name = target_name
        self._tokens = OutgoingTokens(service, secret)
        self.policy = policy or CallPolicy()
        self._known: Mapping[str, type[MercatoError]] = {c.__name__: c for c in known_errors}
        self._sleep = sleep

    async def call(
        self,
        method: Callable[..., Awaitable[R]],
        request: Any,
        *,
        retryable: bool,
        codes: type[Enum] | None = None,
        wait: float = 0.0,
    ) -> R:
        """`retryable`: the call is a read or carries an idempotency key the server honours.
        `wait`: seconds the server may spend waiting on purpose, added to the policy's deadline.

        The call (all its attempts) is one CLIENT span; its context goes out as `traceparent`
        metadata, so the server's span is a child of it."""
        name = rpc_name(method, self.target_name)
        service, _, rpc = name.rpartition("/")
        attributes = {"rpc.system": "grpc", "rpc.service": service, "rpc.method": rpc}
        with telemetry.tracer(__name__).start_as_current_span(
            name,
            kind=SpanKind.CLIENT,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            trace_metadata = tuple(telemetry.trace_carrier().items())
            return await self._attempts(
                method, request, retryable, codes, span, trace_metadata, service, wait
            )

    async def _attempts(
        self,
        method: Callable[..., Awaitable[R]],
        request: Any,
        retryable: bool,
        codes: type[Enum] | None,
        span: Span,
        trace_metadata: tuple[tuple[str, str], ...],
        audience: str,
        wait: float,
    ) -> R:
        policy = self.policy
        deadline = time.monotonic() + policy.timeout + max(0.0, wait)
        attempts = policy.max_attempts if retryable else 1
        attempt = 0
        while True:
            attempt += 1
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                _record_code(span, grpc.StatusCode.DEADLINE_EXCEEDED)
                raise Unavailable(f"{self.target_name} did not answer in time")
            try:
                # The tokens are reused while they have half their life left; the trace context is the
                # call's, the same for all attempts.
                metadata = (*self._tokens.metadata(audience), *trace_metadata)
                reply = await method(request, timeout=remaining, metadata=metadata)
            except grpc.aio.AioRpcError as exc:
                code = exc.code()
                if code is grpc.StatusCode.UNAVAILABLE and attempt < attempts:
                    pause = policy.backoff(attempt - 1)
                    if time.monotonic() + pause < deadline:
                        span.add_event("retry", {"rpc.grpc.status_code": code.value[0], "attempt": attempt})
                        await self._sleep(pause)
                        continue
                _record_code(span, code)
                raise self._error(exc, codes) from None
            _record_code(span, grpc.StatusCode.OK)
            return reply

    def _error(self, exc: grpc.aio.AioRpcError, codes: type[Enum] | None) -> MercatoError:
        code = exc.code()
        trailers = exc.trailing_metadata()
        error = from_status(code, exc.details() or "", trailers, codes=codes, known=self._known)
        if code is grpc.StatusCode.UNAVAILABLE and not trailers:
            # No Mercato trailer: the transport failed (connection refused, reset), not the service.
            return Unavailable(f"{self.target_name} is unavailable")
        return error


def rpc_name(method: Callable[..., Any], target_name: str) -> str:
    """`package.Service/Method` of a generated stub's method (what grpc sends as the path)."""
    path = getattr(method, "_method", None)  # grpc's multicallables keep the path they were made for
    if isinstance(path, bytes):
        return path.decode().lstrip("/")
    if isinstance(path, str):
        return path.lstrip("/")
    return f"{target_name}/{getattr(method, '__name__', 'call')}"


def _record_code(span: Span, code: grpc.StatusCode) -> None:
    span.set_attribute("rpc.grpc.status_code", code.value[0])
    if code is not grpc.StatusCode.OK:
        # For the caller every code but OK is a failed call (OpenTelemetry's RPC conventions).
        span.set_status(Status(StatusCode.ERROR, code.name))
