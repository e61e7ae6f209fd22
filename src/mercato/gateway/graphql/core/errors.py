"""Turning Mercato errors into GraphQL: mutation payload errors, and formatted top-level errors."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from enum import Enum
from typing import Any, TypeVar

from graphql.error import GraphQLError
from strawberry.extensions import SchemaExtension

from mercato.platform.errors import ClientError, MercatoError, field_errors
from mercato.platform.faults import is_unavailable

log = logging.getLogger(__name__)

E = TypeVar("E")
# Codes of errors that are the server's fault, not the request's: what the availability SLOs count.
SERVER_ERROR_CODES = frozenset({"INTERNAL", "UNAVAILABLE"})


def payload_errors(exc: ClientError, error_type: Callable[..., E]) -> list[E]:
    """The `errors` list of a mutation payload for a refused request."""
    return [error_type(field=_camel(e.field), code=e.code, message=e.message) for e in field_errors(exc)]


def _camel(field: str | None) -> str | None:
    if field is None:
        return None
    head, *rest = field.split("_")
    return head + "".join(part.title() for part in rest)


def _code_of(original: BaseException | None) -> tuple[str, bool]:
    """(extensions code, whether the message is safe to show)."""
    if original is None:
        return "GRAPHQL_VALIDATION_FAILED", True
    if isinstance(original, MercatoError):
        if isinstance(original.code, Enum):
            return str(original.code.value), True
        return original.graphql_code, True
    if is_unavailable(original):
        return "UNAVAILABLE", False
    return "INTERNAL", False


class ErrorFormatting(SchemaExtension):
    """Gives every error an `extensions.code`; hides the text of anything unexpected (no stack traces)."""

    def on_operation(self) -> Iterator[None]:
        yield
        ctx = self.execution_context
        # Errors before execution (syntax, validation) may live only in `pre_execution_errors`;
        # the response holds the same error objects, so they are formatted in place.
        errors = [*(ctx.pre_execution_errors or ()), *((ctx.result.errors or ()) if ctx.result else ())]
        for error in {id(e): e for e in errors}.values():
            format_error(error)

    def on_parse(self) -> Iterator[None]:
        yield
        self._document_errors()

    def on_validate(self) -> Iterator[None]:
        yield
        self._document_errors()

    def _document_errors(self) -> None:
        # Parsing and validation run no resolver and no I/O: what they find is the document's fault,
        # even an exception a scalar's parser let out (graphql-core keeps it as `original_error`: a
        # 5,000-digit Int literal raises ValueError). Later, Strawberry also keeps execution errors in
        # `pre_execution_errors`, so this runs right after these phases only.
        for error in self.execution_context.pre_execution_errors or ():
            format_error(error, validation=True)


def format_error(error: GraphQLError, *, validation: bool = False) -> None:
    """Give `error` an `extensions.code`, and hide the text of anything unexpected. Idempotent.
    `validation`: the error was found parsing or validating the document."""
    if error.extensions and "code" in error.extensions:
        return
    original = error.original_error
    if isinstance(original, GraphQLError):  # nested by the executor
        original = original.original_error
    code, safe = _code_of(None if validation and not isinstance(original, MercatoError) else original)
    extensions: dict[str, Any] = dict(error.extensions or {})
    extensions.setdefault("code", code)
    if isinstance(original, MercatoError) and original.field:
        extensions["field"] = original.field
    message = error.message
    if not safe:
        if code == "INTERNAL":
            log.error("unexpected error in GraphQL operation", exc_info=original)
            message = "Internal error; it has been logged."
        else:
            log.warning("dependency unavailable: %r", original)
            message = "A service this request needs is unavailable; try again shortly."
    error.message = message
    error.extensions = extensions
    error.original_error = None
