"""Which errors are an engine's fault (platform/faults.py): a database error whose driver cause says
the server went away, is shutting down or has no connection slot free is UNAVAILABLE, as it arrives
from a statement sent straight to the driver (platform/sql.py) during a PostgreSQL restart; a refused
statement is not."""

from __future__ import annotations

import asyncpg
from sqlalchemy.exc import DBAPIError

from mercato.platform.faults import is_unavailable


class DriverError(Exception):
    """The DB-API error SQLAlchemy's adapter raises `from` the driver's own."""


def _wrapped(driver: BaseException) -> DBAPIError:
    try:
        raise DriverError(str(driver)) from driver
    except DriverError as mapped:
        return DBAPIError("SELECT status FROM orders.orders WHERE id = $1", [], mapped)


def test_a_connection_the_server_closed_or_a_shutdown_is_unavailable() -> None:
    gone = asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation")
    shutting_down = asyncpg.exceptions.CannotConnectNowError("the database system is shutting down")
    terminated = asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command")

    assert [is_unavailable(_wrapped(e)) for e in (gone, shutting_down, terminated)] == [True, True, True]


def test_every_connection_slot_taken_is_unavailable() -> None:
    # Seen opening a connection while other processes held the server's max_connections: it reached
    # `accountRegister` as INTERNAL
    full = asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already")

    assert is_unavailable(_wrapped(full)) is True


def test_a_refused_statement_is_not_unavailable() -> None:
    duplicate = asyncpg.exceptions.UniqueViolationError("duplicate key value violates unique constraint")

    assert is_unavailable(_wrapped(duplicate)) is False
    assert is_unavailable(DBAPIError("SELECT 1", [], DriverError("no cause"))) is False
