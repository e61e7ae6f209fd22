"""Plain-value conversions every context's protobuf mapping needs (Struct, Timestamp, uuid)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from google.protobuf import json_format, struct_pb2, timestamp_pb2

from mercato._gen.mercato.common.v1 import principal_pb2
from mercato.platform.auth import Permission, Principal, Role


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
