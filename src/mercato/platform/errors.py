"""One exception root; each class carries its transport mapping so every entrypoint agrees.

Domain errors carry a `code` (an enum member owned by the context) and an optional `field`.
"""

from __future__ import annotations

from enum import Enum


class MercatoError(Exception):
    """Root of every error Mercato raises on purpose."""

    graphql_code = "INTERNAL"
    grpc_status = "INTERNAL"

    def __init__(self, message: str, *, code: Enum | str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field

    @property
    def code_name(self) -> str:
        if isinstance(self.code, Enum):
            return str(self.code.value)
        return self.code or self.graphql_code


class ClientError(MercatoError):
    """The caller sent something we refuse; retrying the same request will not help."""

    graphql_code = "INVALID"
    grpc_status = "INVALID_ARGUMENT"


class NotFound(ClientError):
    graphql_code = "NOT_FOUND"
    grpc_status = "NOT_FOUND"


class Conflict(ClientError):
    """The request contradicts current state (duplicate SKU, insufficient stock, ...)."""

    graphql_code = "CONFLICT"
    grpc_status = "FAILED_PRECONDITION"


class PermissionDenied(ClientError):
    graphql_code = "PERMISSION_DENIED"
    grpc_status = "PERMISSION_DENIED"


class Unavailable(MercatoError):
    """A dependency (database, broker, another service) cannot be reached; retry later."""

    graphql_code = "UNAVAILABLE"
    grpc_status = "UNAVAILABLE"


class Problem(Enum):
    """Generic reasons a single input value is refused; mutation error enums reuse these names."""

    REQUIRED = "REQUIRED"
    INVALID = "INVALID"
    TOO_LONG = "TOO_LONG"
    OUT_OF_RANGE = "OUT_OF_RANGE"


class FieldError:
    """One refused input: which field, a code from the mutation's enum, and a sentence for people."""

    __slots__ = ("code", "field", "message")

    def __init__(self, field: str | None, code: Enum, message: str) -> None:
        self.field = field
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"FieldError({self.field!r}, {self.code}, {self.message!r})"


class InputRejected(ClientError):
    """One or more input values are invalid; nothing was written."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(e.message for e in errors), code=errors[0].code, field=errors[0].field)
        self.errors = errors


def field_errors(exc: MercatoError) -> list[FieldError]:
    """The errors a mutation payload reports for `exc`."""
    if isinstance(exc, InputRejected):
        return exc.errors
    code = exc.code if isinstance(exc.code, Enum) else Problem.INVALID
    return [FieldError(exc.field, code, exc.message)]


def recode(exc: ClientError, codes: type[Enum]) -> ClientError:
    """Give `exc` (and each of its field errors) the member of `codes` with the same name.

    Model code raises generic `Problem`s or string codes; each use case re-codes them into its own
    mutation's enum, so clients see exactly the codes that mutation declares.
    """

    def member(code: Enum | str | None) -> Enum:
        name = code.name if isinstance(code, Enum) else (code or "INVALID")
        return codes[name] if name in codes.__members__ else codes["INVALID"]

    if isinstance(exc, InputRejected):
        for error in exc.errors:
            error.code = member(error.code)
    exc.code = member(exc.code)
    return exc
