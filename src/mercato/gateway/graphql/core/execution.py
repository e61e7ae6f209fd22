"""A faster executor for selections that only read attributes: the storefront's pages.

graphql-core completes every field of every object through the same general path: resolve info,
argument coercion, the resolver, then `complete_value` with its type checks. A listing page is ~1,000
fields, nearly all of them plain attributes of objects built for the page (`Product.of`), and that
path was ~70% of a worker's busy time. `PlainSelectionExecutor` completes an object whose whole
selection (fragments and `@skip`/`@include` already applied by graphql-core's own field collection)
is made of fields Strawberry itself would answer with `getattr` (no resolver, no arguments, no field
extension, no middleware), of concrete object types, lists, scalars and enums, with one compiled
function per selection: `getattr`, `coerce_output_value`, dicts and lists, nothing else.

Anything out of the ordinary is left to the reference executor, so errors, nulls and paths are
graphql-core's own: a selection that is not plain is not compiled, and a value the compiled code
does not take as is (a null for a non-null field, a scalar that does not coerce, an exception
instead of a value, something that is not a list) abandons the compiled completion of that object,
which graphql-core then completes from the start (reading attributes has no side effect, so reading
them again is safe). tests/unit/gateway/test_fast_execution.py checks the two give the same
responses over many generated queries and corrupt data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    Undefined,
)
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

_DEFINITION = "strawberry-definition"  # where Strawberry keeps its field on a graphql-core field

Complete = Callable[[Any], Any]


class _Abandon(Exception):
    """The compiled completion met a value it does not take as is; the reference executor takes over."""


_ABANDON = _Abandon()


def _abandon() -> Any:
    raise _ABANDON


class PlainSelectionExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor, with compiled completion of plain selections (see the module)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Per request, like graphql-core's memo of collected subfields: (type, id(field group)) ->
        # (the field group, kept alive so its id is not reused; the compiled function or None).
        self._compiled: dict[tuple[GraphQLObjectType, int], tuple[Any, Complete | None]] = {}

    def complete_object_value(
        self,
        return_type: GraphQLObjectType,
        field_details_list: Any,
        info: GraphQLResolveInfo,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        complete = self._compile(return_type, field_details_list)
        if complete is not None:
            try:
                return complete(result)
            except _Abandon:
                pass
        return super().complete_object_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def _compile(self, object_type: GraphQLObjectType, field_details_list: Any) -> Complete | None:
        key = (object_type, id(field_details_list))
        known = self._compiled.get(key)
        if known is not None:
            return known[1]
        compiled: Complete | None = None
        # Strawberry always passes a middleware manager; only one holding middleware (an extension
        # with a `resolve` hook) has to see every field.
        middleware = self.middleware_manager.middlewares if self.middleware_manager else ()
        if not middleware and object_type.is_type_of is None:
            compiled = self._object(object_type, field_details_list)
        self._compiled[key] = (field_details_list, compiled)
        return compiled

    def _object(self, object_type: GraphQLObjectType, field_details_list: Any) -> Complete | None:
        """The completion of one object's selection, or None when it is not plain throughout."""
        grouped, new_defer_usages, _ = self.collect_subfields(object_type, field_details_list)
        if new_defer_usages:
            return None
        type_name = object_type.name
        plan: list[tuple[str, str | None, Complete | None]] = []
        for response_name, field_group in grouped.items():
            node = field_group[0].node
            name = node.name.value
            if name == "__typename":
                plan.append((response_name, None, None))
                continue
            field = object_type.fields.get(name)
            if field is None or field.args or node.arguments:
                return None
            definition = (field.extensions or {}).get(_DEFINITION)
            if (
                definition is None
                or not getattr(field.resolve, "_is_default", False)
                or not definition.is_basic_field
                or definition.default_resolver is not getattr
            ):
                return None
            complete = self._value(field.type, field_group)
            if complete is None:
                return None
            plan.append((response_name, definition.python_name, complete))
        fields = tuple(plan)

        def complete_object(source: Any) -> dict[str, Any]:
            if isinstance(source, Exception):
                raise _ABANDON
            data: dict[str, Any] = {}
            try:
                for response_name, attribute, complete in fields:
                    if attribute is None:
                        data[response_name] = type_name
                    else:
                        data[response_name] = complete(getattr(source, attribute))  # type: ignore[misc]
            except _Abandon:
                raise
            except Exception:
                raise _ABANDON from None
            return data

        return complete_object

    def _value(self, type_: GraphQLOutputType, field_group: Any) -> Complete | None:
        """The completion of a value of `type_` (the same steps as graphql-core's `complete_value`)."""
        if isinstance(type_, GraphQLNonNull):
            inner = self._value(type_.of_type, field_group)
            if inner is None:
                return None

            def non_null(value: Any) -> Any:
                completed = inner(value)
                return _abandon() if completed is None else completed

            return non_null
        if isinstance(type_, GraphQLList):
            item = self._value(type_.of_type, field_group)
            if item is None:
                return None

            def list_of(value: Any) -> Any:
                if value is None:
                    return None
                if type(value) is not list and type(value) is not tuple:
                    raise _ABANDON  # other iterables (and async ones) take the reference path
                return [item(v) for v in value]

            return list_of
        if isinstance(type_, GraphQLScalarType | GraphQLEnumType):
            coerce = type_.coerce_output_value

            def leaf(value: Any) -> Any:
                if value is None:
                    return None
                if isinstance(value, Exception):
                    raise _ABANDON
                coerced = coerce(value)
                if coerced is None or coerced is Undefined:
                    raise _ABANDON
                return coerced

            return leaf
        if isinstance(type_, GraphQLObjectType):
            # Compiled now: whether the nested selection is plain decides whether this one is.
            nested = self._compile(type_, field_group)
            if nested is None:
                return None

            def object_of(value: Any) -> Any:
                return None if value is None else nested(value)

            return object_of
        return None  # interfaces and unions: the reference executor resolves their runtime type
