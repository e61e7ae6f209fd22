"""Plain-value conversions every context's protobuf mapping needs (Struct, Timestamp, uuid)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from google.protobuf import json_format, struct_pb2, timestamp_pb2

from mercato._gen.mercato.common.v1 import money_pb2, principal_pb2
from mercato.platform.auth import Permission, Principal, Role
from mercato.platform.errors import ClientError
from mercato.platform.types import Money, MoneyError


def _restore_ints(value: Any) -> Any:
    # Struct stores every number as a double; JSON attributes written as 3 must read back as 3.
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dict):
        return {k: _restore_ints(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_restore_ints(v) for v in value]
    return value


def to_struct(value: dict[str, Any] | None) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    if value:
        struct.update(value)
    return struct


def from_struct(struct: struct_pb2.Struct) -> dict[str, Any]:
    result: dict[str, Any] = _restore_ints(json_format.MessageToDict(struct))
    return result


def to_timestamp(value: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp


def from_timestamp(stamp: timestamp_pb2.Timestamp) -> datetime:
    value: datetime = stamp.ToDatetime(tzinfo=UTC)
    return value


def opt_uuid(value: str | None) -> uuid.UUID | None:
    return uuid.UUID(value) if value else None


def opt_str(value: uuid.UUID | None) -> str | None:
    return str(value) if value is not None else None


def role_value(role: Role) -> str:
    # Enum fields accept the value's name; names map 1:1 to the Python members (see principal.proto).
    return f"ROLE_{role.name}"


def permission_value(permission: Permission) -> str:
    return f"PERMISSION_{permission.name}"


def principal_message(principal: Principal) -> principal_pb2.Principal:
    """The wire form of a principal (informational in request bodies: servicers trust only the signed
    `x-mercato-principal` metadata)."""
    return principal_pb2.Principal(
        user_id=str(principal.user_id),
        email=principal.email,
        role=role_value(principal.role),
        permissions=sorted(permission_value(p) for p in principal.permissions),
    )


def parse_uuid(value: str, field: str) -> uuid.UUID:
    """An id from a request; in-process callers pass UUID objects, so a malformed id only comes off the
    wire, and is refused as the domain would refuse bad input."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise ClientError(f"{field} is not a valid id", code="INVALID", field=field) from None


def parse_money(message: money_pb2.Money, field: str) -> Money:
    """Likewise for an amount: an impossible one cannot be built in process, only received."""
    try:
        return Money(message.amount_minor, message.currency_code)
    except MoneyError as exc:
        raise ClientError(str(exc), code="INVALID", field=field) from None


def money_message(value: Money) -> money_pb2.Money:
    return money_pb2.Money(amount_minor=value.amount, currency_code=value.currency)
