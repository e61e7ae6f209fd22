"""Parsing ids from GraphQL input."""

from __future__ import annotations

import uuid
from enum import Enum

from mercato.platform.errors import ClientError, Problem


def parse_id(value: str | None, field: str, code: Enum = Problem.INVALID) -> uuid.UUID:
    """A UUID from an `ID` argument, or a typed INVALID error naming `field`."""
    if value is not None and len(value) <= 64:
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    raise ClientError(f"{field} is not a valid id", code=code, field=field)


def parse_optional_id(value: str | None, field: str) -> uuid.UUID | None:
    return None if value is None else parse_id(value, field)
