"""Which exceptions are an engine's fault (a store or broker down, slow or out of connections) rather
than a bug: both entrypoints answer them as UNAVAILABLE — GraphQL's `extensions.code` and the gRPC
status alike — so a caller retries instead of reporting an INTERNAL error."""

from __future__ import annotations

from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from mercato.platform.errors import Unavailable

_UNAVAILABLE: tuple[type[BaseException], ...] = (
    Unavailable,
    OperationalError,  # the server went away, refused, or cancelled the statement
    InterfaceError,
    PoolTimeout,  # no connection free in the pool within its timeout
    RedisError,
    ConnectionError,
    TimeoutError,
    OSError,
)


def is_unavailable(exc: BaseException) -> bool:
    """Whether `exc` means an engine could not serve the request now (retrying later may work)."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, _UNAVAILABLE)
