"""The boundary rule for text at the GraphQL edge, applied once to the arguments of every field.

`guard_text_arguments` wraps, when the schema is built, the resolver of each field with an argument
that can carry text (String, ID, a custom scalar such as JSON, or an input object or list holding
one). The wrapper walks the coerced argument values with their GraphQL types before the resolver
runs, so nothing of a refused request reaches a context. A field whose payload has
`errors { field code message }` answers with that payload and the member of its own code enum; any
other field (the queries) answers with a top-level error coded `INVALID` or `TOO_LONG` naming the
field. Fields without such arguments are left as they are: they pay nothing.

Error fields name what the client sent, in GraphQL names: `filter.search`, `lines.0.sku`,
`shippingAddress.city`, `attributes.color`; the fields of the conventional `input` argument go
without the prefix (`description`, `variants.0.sku`), as the use cases name them.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping
from enum import Enum
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    default_field_resolver,
    get_named_type,
)

from mercato.platform.errors import FieldError, InputRejected
from mercato.platform.validation import text_errors

# Enough to show a client what to fix; a list of 10,000 bad SKUs does not need 10,000 errors.
MAX_ERRORS = 10
_BACKREF = "strawberry-definition"  # where Strawberry keeps its definition on a graphql-core type
_GUARDED = "_mercato_text_guarded"

Refusal = Callable[[list[FieldError]], Any]


def guard_text_arguments(schema: GraphQLSchema) -> None:
    """Install the check on every field of `schema` that takes text. Idempotent."""
    holds_text = _HoldsText()
    for named in schema.type_map.values():
        if not isinstance(named, GraphQLObjectType) or named.name.startswith("__"):
            continue
        for field in named.fields.values():
            arguments = {name: arg.type for name, arg in field.args.items() if holds_text(arg.type)}
            resolve = field.resolve or default_field_resolver
            if arguments and not getattr(resolve, _GUARDED, False):
                field.resolve = _guarded(resolve, arguments, holds_text, _refusal(field))


def argument_errors(
    values: Mapping[str, Any], arguments: Mapping[str, GraphQLInputType], holds_text: _HoldsText
) -> list[FieldError]:
    """The refused strings among coerced argument `values` (at most `MAX_ERRORS`)."""
    found: Iterator[FieldError] = itertools.chain.from_iterable(
        _errors(values[name], type_, "" if name == "input" else name, holds_text)
        for name, type_ in arguments.items()
        if values.get(name) is not None
    )
    return list(itertools.islice(found, MAX_ERRORS))


def _guarded(
    resolve: Callable[..., Any],
    arguments: Mapping[str, GraphQLInputType],
    holds_text: _HoldsText,
    refuse: Refusal,
) -> Callable[..., Any]:
    def resolve_checked(source: Any, info: Any, **values: Any) -> Any:
        errors = argument_errors(values, arguments, holds_text)
        if errors:
            return refuse(errors)
        return resolve(source, info, **values)

    setattr(resolve_checked, _GUARDED, True)
    return resolve_checked


def _errors(value: Any, type_: GraphQLInputType, path: str, holds_text: _HoldsText) -> Iterator[FieldError]:
    if value is None:
        return
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    if isinstance(type_, GraphQLList):
        if isinstance(value, list):
            for index, item in enumerate(value):
                yield from _errors(item, type_.of_type, _join(path, str(index)), holds_text)
    elif isinstance(type_, GraphQLInputObjectType):
        if isinstance(value, dict):
            for name, field in type_.fields.items():
                if name in value and holds_text(field.type):
                    yield from _errors(value[name], field.type, _join(path, name), holds_text)
    elif isinstance(type_, GraphQLScalarType):
        # A String or ID is a str; a JSON value is any plain data, walked whole.
        yield from text_errors(value, path)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


class _HoldsText:
    """Whether a value of an input type can hold a string (memoised per named type)."""

    def __init__(self) -> None:
        self._known: dict[str, bool] = {}

    def __call__(self, type_: GraphQLInputType) -> bool:
        return self._named(get_named_type(type_))

    def _named(self, named: GraphQLNamedType) -> bool:
        if named.name in self._known:
            return self._known[named.name]
        if isinstance(named, GraphQLEnumType):
            answer = False
        elif isinstance(named, GraphQLInputObjectType):
            self._known[named.name] = False  # a recursive input type holds text only through other fields
            answer = any(self(field.type) for field in named.fields.values())
        else:  # scalars: only the ones that cannot be text are exempt
            answer = named.name not in ("Int", "Float", "Boolean")
        self._known[named.name] = answer
        return answer


def _refusal(field: GraphQLField) -> Refusal:
    """How `field` answers refused input: its payload with `errors` when it has one, else an error."""
    payload = _payload_shape(get_named_type(field.type))
    if payload is None:
        return _raise
    payload_class, error_class, codes = payload

    def answer(errors: list[FieldError]) -> Any:
        return payload_class(
            errors=[
                error_class(field=e.field, code=_member(codes, e.code), message=e.message) for e in errors
            ]
        )

    return answer


def _raise(errors: list[FieldError]) -> Any:
    raise InputRejected(errors)


def _payload_shape(named: GraphQLNamedType) -> tuple[type, type, type[Enum]] | None:
    """(payload class, error class, code enum) of a mutation payload `{… errors { field code message }}`."""
    if not isinstance(named, GraphQLObjectType) or "errors" not in named.fields:
        return None
    error_type = get_named_type(named.fields["errors"].type)
    if not isinstance(error_type, GraphQLObjectType) or not {"field", "code", "message"} <= set(
        error_type.fields
    ):
        return None
    code_type = get_named_type(error_type.fields["code"].type)
    payload_def = (named.extensions or {}).get(_BACKREF)
    error_def = (error_type.extensions or {}).get(_BACKREF)
    code_def = (code_type.extensions or {}).get(_BACKREF)
    codes = getattr(code_def, "wrapped_cls", None)
    if payload_def is None or error_def is None or not (isinstance(codes, type) and issubclass(codes, Enum)):
        return None
    if "INVALID" not in codes.__members__:
        return None
    return payload_def.origin, error_def.origin, codes


def _member(codes: type[Enum], problem: Enum) -> Enum:
    return codes[problem.name] if problem.name in codes.__members__ else codes["INVALID"]
