"""MercatoError <-> gRPC status, so a caller cannot tell an in-process call from a remote one.

The server sends the status code of the error's class (`grpc_status`), the message as the status
text, and a `google.rpc.Status` whose details hold a `mercato.common.v1.ErrorDetails` (the
`grpc-status-details-bin` trailer, the standard rich-error channel). The concrete class name and its
extra attributes (e.g. `InsufficientStock.skus`) travel as trailers too, so the client can rebuild
the very class the domain raised when it knows it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from enum import Enum
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import status_pb2

from mercato._gen.mercato.common.v1 import errors_pb2
from mercato.platform.auth import Unauthenticated
from mercato.platform.errors import (
    ClientError,
    Conflict,
    FieldError,
    InputRejected,
    MercatoError,
    NotFound,
    PermissionDenied,
    Problem,
    Unavailable,
)

DETAILS_KEY = "grpc-status-details-bin"
CLASS_KEY = "x-mercato-error-class"
ATTRS_KEY = "x-mercato-error-attrs"
INTERNAL_MESSAGE = "internal error"

# The platform class each status code stands for when the concrete class is not known to the caller.
_BY_STATUS: dict[grpc.StatusCode, type[MercatoError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: ClientError,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.FAILED_PRECONDITION: Conflict,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
}
_PLATFORM_CLASSES: tuple[type[MercatoError], ...] = (*_BY_STATUS.values(), InputRejected)
# Attributes every MercatoError has; anything else a subclass sets is sent as JSON.
_BASE_ATTRS = frozenset({"message", "code", "field", "errors"})

Metadata = Sequence[tuple[str, str | bytes]]


def status_code_of(cls: type[MercatoError]) -> grpc.StatusCode:
    code: grpc.StatusCode = getattr(grpc.StatusCode, cls.grpc_status, grpc.StatusCode.INTERNAL)
    return code


def status_code(exc: MercatoError) -> grpc.StatusCode:
    return status_code_of(type(exc))


def _code_name(code: Enum | str | None) -> str:
    if isinstance(code, Enum):
        return code.name
    return code or ""


def error_details(exc: MercatoError) -> errors_pb2.ErrorDetails:
    items: list[tuple[Enum | str | None, str | None, str]]
    if isinstance(exc, InputRejected):
        items = [(e.code, e.field, e.message) for e in exc.errors]
    else:
        items = [(exc.code, exc.field, exc.message)]
    return errors_pb2.ErrorDetails(
        errors=[
            errors_pb2.ErrorDetail(reason=_code_name(code), field=field or "", message=message)
            for code, field, message in items
        ]
    )


def _unserialisable(value: object) -> object:
    raise TypeError(f"{type(value).__name__} is not plain data")


def _extra_attrs(exc: MercatoError) -> str | None:
    extra = {k: v for k, v in vars(exc).items() if k not in _BASE_ATTRS and not k.startswith("_")}
    if not extra:
        return None
    try:
        # Ids travel as text; a client that expects a UUID attribute turns it back.
        return json.dumps(extra, default=lambda v: str(v) if isinstance(v, uuid.UUID) else _unserialisable(v))
    except (TypeError, ValueError):
        return None  # not plain data: the class and codes still arrive, only these extras do not


def to_status(exc: BaseException) -> tuple[grpc.StatusCode, str, Metadata]:
    """Status code, status text and trailing metadata for an exception raised by a servicer.

    Anything that is not a MercatoError is a bug or an infrastructure fault: INTERNAL, with a fixed
    text so no SQL, path or secret leaks to the caller (the server logs the real one).
    """
    if not isinstance(exc, MercatoError):
        return grpc.StatusCode.INTERNAL, INTERNAL_MESSAGE, ()
    code = status_code(exc)
    detail = any_pb2.Any()
    detail.Pack(error_details(exc))
    rpc_status = status_pb2.Status(code=code.value[0], message=exc.message, details=[detail])
    trailers: list[tuple[str, str | bytes]] = [
        (DETAILS_KEY, rpc_status.SerializeToString()),
        (CLASS_KEY, type(exc).__name__),
    ]
    attrs = _extra_attrs(exc)
    if attrs is not None:
        trailers.append((ATTRS_KEY, attrs))
    return code, exc.message, tuple(trailers)


def _resolve(name: str, codes: type[Enum] | None) -> Enum | str | None:
    if not name:
        return None
    if codes is not None and name in codes.__members__:
        return codes[name]
    return name  # a code the caller's enum does not declare: keep it readable rather than drop it


def _member(name: str, codes: type[Enum] | None) -> Enum:
    resolved = _resolve(name, codes)
    if isinstance(resolved, Enum):
        return resolved
    return Problem[name] if name in Problem.__members__ else Problem.INVALID


def _details_from(trailers: Mapping[str, str | bytes]) -> list[errors_pb2.ErrorDetail]:
    raw = trailers.get(DETAILS_KEY)
    if not isinstance(raw, bytes):
        return []
    rpc_status = status_pb2.Status()
    rpc_status.ParseFromString(raw)
    for detail in rpc_status.details:
        details = errors_pb2.ErrorDetails()
        if detail.Unpack(details):
            return list(details.errors)
    return []


def _instance(cls: type[MercatoError], message: str, code: Enum | str | None, field: str | None) -> Any:
    # Domain subclasses have their own constructor signatures (InsufficientStock(skus), ...); build
    # them without calling it and set what the base constructor would.
    exc = cls.__new__(cls)
    MercatoError.__init__(exc, message, code=code, field=field)
    return exc


def from_status(
    code: grpc.StatusCode,
    message: str,
    trailing_metadata: Iterable[tuple[str, str | bytes]] | None,
    *,
    codes: type[Enum] | None = None,
    known: Mapping[str, type[MercatoError]] | None = None,
) -> MercatoError:
    """The MercatoError a non-OK status stands for; codes resolved by name against `codes`."""
    trailers = dict(trailing_metadata or ())
    platform_class = _BY_STATUS.get(code)
    if platform_class is None:
        if code is grpc.StatusCode.DEADLINE_EXCEEDED:
            return Unavailable("the service did not answer in time")
        return MercatoError(INTERNAL_MESSAGE)
    details = _details_from(trailers)
    class_name = trailers.get(CLASS_KEY)
    if class_name == InputRejected.__name__ and details:
        return InputRejected(
            [FieldError(d.field or None, _member(d.reason, codes), d.message) for d in details]
        )
    cls = platform_class
    registry = {c.__name__: c for c in _PLATFORM_CLASSES} | dict(known or {})
    candidate = registry.get(class_name) if isinstance(class_name, str) else None
    # Only a class that maps to the same status is trusted; anything else falls back to the platform one.
    if candidate is not None and issubclass(candidate, platform_class) and status_code_of(candidate) == code:
        cls = candidate
    first = details[0] if details else None
    exc: MercatoError = _instance(
        cls,
        message,
        _resolve(first.reason, codes) if first else None,
        (first.field or None) if first else None,
    )
    if cls is not platform_class:
        _restore_attrs(exc, trailers.get(ATTRS_KEY))
    return exc


def _restore_attrs(exc: MercatoError, raw: str | bytes | None) -> None:
    if not isinstance(raw, str):
        return
    try:
        extra = json.loads(raw)
    except ValueError:
        return  # a garbled trailer costs the extras, never the error itself
    if isinstance(extra, dict):
        for key, value in extra.items():
            if key not in _BASE_ATTRS:
                setattr(exc, key, value)
