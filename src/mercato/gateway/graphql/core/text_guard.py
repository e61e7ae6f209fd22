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

from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputField,
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
from mercato.platform.validation import MULTILINE_FIELDS, text_errors, text_problem

# Enough to show a client what to fix; a list of 10,000 bad SKUs does not need 10,000 errors.
MAX_ERRORS = 10
_BACKREF = "strawberry-definition"  # where Strawberry keeps its definition on a graphql-core type
_GUARDED = "_mercato_text_guarded"

Refusal = Callable[[list[FieldError]], Any]


def guard_text_arguments(schema: GraphQLSchema) -> None:
    """Install the check on every field of `schema` that takes text. Idempotent."""
    walker = TextWalker(schema)
    for named in schema.type_map.values():
        if not isinstance(named, GraphQLObjectType) or named.name.startswith("__"):
            continue
        for field in named.fields.values():
            plan = walker.plan(field.args)
            resolve = field.resolve or default_field_resolver
            if plan and not getattr(resolve, _GUARDED, False):
                field.resolve = _guarded(resolve, walker, plan, _refusal(field))


def _guarded(
    resolve: Callable[..., Any], walker: TextWalker, plan: Plan, refuse: Refusal
) -> Callable[..., Any]:
    def resolve_checked(source: Any, info: Any, **values: Any) -> Any:
        errors = walker.errors(values, plan)
        if errors:
            return refuse(errors)
        return resolve(source, info, **values)

    setattr(resolve_checked, _GUARDED, True)
    return resolve_checked


# Per argument or input field that can hold text: (GraphQL name, its name in error paths, its type,
# whether it is multi-line).
Plan = tuple[tuple[str, str, GraphQLInputType, bool], ...]


class TextWalker:
    """Walks coerced argument values with their types. What to look at in each input type is worked
    out once, here; per request it is plain loops (no generators): most strings are fine."""

    def __init__(self, schema: GraphQLSchema) -> None:
        self._holds_text = _HoldsText()
        self._inputs: dict[str, Plan] = {
            named.name: self.plan(named.fields)
            for named in schema.type_map.values()
            if isinstance(named, GraphQLInputObjectType)
        }

    def plan(self, fields: Mapping[str, GraphQLArgument] | Mapping[str, GraphQLInputField]) -> Plan:
        return tuple(
            # The fields of the conventional `input` argument are named without it, as use cases do.
            (name, "" if name == "input" else name, field.type, name in MULTILINE_FIELDS)
            for name, field in fields.items()
            if self._holds_text(field.type)
        )

    def errors(self, values: Mapping[str, Any], plan: Plan) -> list[FieldError]:
        """The refused strings among coerced argument `values` (at most `MAX_ERRORS`)."""
        errors: list[FieldError] = []
        self._object(values, plan, "", errors)
        return errors[:MAX_ERRORS]

    def _value(
        self, value: Any, type_: GraphQLInputType, path: str, multiline: bool, errors: list[FieldError]
    ) -> None:
        if isinstance(value, str):
            problem = text_problem(value, multiline=multiline)
            if problem is not None:
                errors.append(FieldError(path, problem[0], f"{path} {problem[1]}"))
            return
        if isinstance(type_, GraphQLNonNull):
            type_ = type_.of_type
        if isinstance(type_, GraphQLList) and isinstance(value, list):
            for index, item in enumerate(value):
                if item is not None and len(errors) < MAX_ERRORS:
                    self._value(item, type_.of_type, f"{path}.{index}", multiline, errors)
        elif isinstance(type_, GraphQLInputObjectType) and isinstance(value, dict):
            self._object(value, self._inputs[type_.name], path, errors)
        elif isinstance(type_, GraphQLScalarType):
            # A JSON value: any plain data, walked whole (its keys name its strings).
            errors.extend(text_errors(value, path))

    def _object(self, value: Mapping[str, Any], plan: Plan, path: str, errors: list[FieldError]) -> None:
        for name, label, type_, multiline in plan:
            item = value.get(name)
            if item is not None:
                self._value(item, type_, f"{path}.{label}" if path else label, multiline, errors)


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
            # No input type here refers to itself; one that did would be judged by its other fields.
            self._known[named.name] = False
            answer = any(self(field.type) for field in named.fields.values())
        else:  # scalars: only the ones that cannot be text are exempt
            answer = named.name not in ("Int", "Float", "Boolean")
        self._known[named.name] = answer
        return answer
