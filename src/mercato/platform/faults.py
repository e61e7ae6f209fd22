"""Which exceptions are an engine's fault (a store or broker down, slow or out of connections) rather
than a bug: both entrypoints answer them as UNAVAILABLE — GraphQL's `extensions.code` and the gRPC
status alike — so a caller retries instead of reporting an INTERNAL error."""

from __future__ import annotations

import asyncpg
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

# The server went away or refuses sessions for now: SQLSTATE class 08 (the connection), 53 (out of
# resources: `too many clients already` when every connection slot is taken, out of memory, disk full)
# and 57 (an operator: shutdown, restart, a cancelled statement). A statement sent straight to the driver
# (platform/sql.py) arrives as a plain DBAPIError with the driver's error as its cause, without
# SQLAlchemy's disconnect check: a PostgreSQL restart showed it (`terminating connection due to
# administrator command` answered as an internal error, docs/reliability.md).
_DRIVER_UNAVAILABLE = (
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.OperatorInterventionError,
)


def is_unavailable(exc: BaseException) -> bool:
    """Whether `exc` means an engine could not serve the request now (retrying later may work)."""
    if isinstance(exc, DBAPIError) and (exc.connection_invalidated or _driver_gone(exc)):
        return True
    return isinstance(exc, _UNAVAILABLE)


def _driver_gone(exc: DBAPIError) -> bool:
    cause: BaseException | None = exc.orig
    while cause is not None:
        if isinstance(cause, _DRIVER_UNAVAILABLE):
            return True
        cause = cause.__cause__
    return False
