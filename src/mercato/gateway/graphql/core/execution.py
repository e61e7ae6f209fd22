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
    DirectiveNode,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLField,
    GraphQLID,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    GraphQLString,
    Undefined,
    VariableNode,
    Visitor,
    visit,
)
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

_DEFINITION = "strawberry-definition"  # where Strawberry keeps its field on a graphql-core field

Complete = Callable[[Any], Any]


class _Abandon(Exception):
    """The compiled completion met a value it does not take as is; the reference executor takes over."""


_ABANDON = _Abandon()


class PlainSelectionExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor, with compiled completion of plain selections (see the module)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Per request, like graphql-core's memo of collected subfields: (type, id(field group)) ->
        # (the field group, kept alive so its id is not reused; the compiled function or None).
        self._compiled: dict[tuple[GraphQLObjectType, int], tuple[Any, Complete | None]] = {}
        self._variables_key = _frozen(self.operation, self.fragments, self.variable_values)

    def complete_object_value(
        self,
        return_type: GraphQLObjectType,
        field_details_list: Any,
        info: GraphQLResolveInfo[Any],
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
        shared_key = self._shared_key(object_type, field_details_list)
        shared = _shared.get(shared_key) if shared_key is not None else None
        if shared is not None:
            compiled = shared[1]
        else:
            compiled = None
            # Strawberry always passes a middleware manager; only one holding middleware (an extension
            # with a `resolve` hook) has to see every field.
            middleware = self.middleware_manager.middlewares if self.middleware_manager else ()
            if not middleware and object_type.is_type_of is None:
                compiled = self._object(object_type, field_details_list)
            if shared_key is not None:
                _shared[shared_key] = (self.operation, compiled)
                if len(_shared) > _SHARED_MAX:
                    del _shared[next(iter(_shared))]
        self._compiled[key] = (field_details_list, compiled)
        return compiled

    def _shared_key(self, object_type: GraphQLObjectType, field_details_list: Any) -> Any:
        """The key of a selection's completion among requests, or None when it is not shared.

        Requests of the same document get the same parsed operation (Strawberry's parser cache), so a
        selection is named by that operation, its field nodes and the values of the variables its
        directives read (`@skip`/`@include` decide which fields are collected; nothing else the
        compiled code does reads a variable): building a completion anew for every request was ~12%
        of an uncached listing. The entry keeps the operation alive, so no other operation can take
        its id while the key holds it."""
        variables = self._variables_key
        if variables is None:
            return None
        nodes = []
        for details in field_details_list:
            if details.defer_usage is not None or details.fragment_variable_values is not None:
                return None
            nodes.append(id(details.node))
        return (id(self.operation), object_type, variables, tuple(nodes))

    def _object(self, object_type: GraphQLObjectType, field_details_list: Any) -> Complete | None:
        """The completion of one object's selection, or None when it is not plain throughout."""
        grouped, new_defer_usages, _ = self.collect_subfields(object_type, field_details_list)
        if new_defer_usages:
            return None
        code = _Code()
        for response_name, field_group in grouped.items():
            node = field_group[0].node
            if node.name.value == "__typename":
                code.constant(response_name, object_type.name)
                continue
            attribute = _plain_attribute(object_type, node)
            if attribute is None:
                return None
            field_type = object_type.fields[node.name.value].type
            complete = self._value(field_type, field_group)
            if complete is None:
                return None
            code.field(response_name, attribute, field_type, complete)
        return code.function()

    def _value(self, type_: GraphQLOutputType, field_group: Any) -> Complete | None:
        """The completion of a value of `type_` (the same steps as graphql-core's `complete_value`)."""
        non_null = isinstance(type_, GraphQLNonNull)
        inner = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
        if isinstance(inner, GraphQLList):
            item = self._value(inner.of_type, field_group)
            return None if item is None else _list(item, non_null)
        if isinstance(inner, GraphQLScalarType | GraphQLEnumType):
            return _leaf(inner.coerce_output_value, non_null)
        if isinstance(inner, GraphQLObjectType):
            # Compiled now: whether the nested selection is plain decides whether this one is.
            nested = self._compile(inner, field_group)
            return None if nested is None else _object_value(nested, non_null)
        return None  # interfaces and unions: the reference executor resolves their runtime type


def _plain_attribute(object_type: GraphQLObjectType, node: Any) -> str | None:
    """The attribute Strawberry would read for this field, or None if it does more than read one."""
    if node.arguments:
        return None
    key = (object_type, node.name.value)
    if key not in _attributes:
        _attributes[key] = _attribute_of(object_type.fields.get(node.name.value))
    return _attributes[key]


def _attribute_of(field: GraphQLField | None) -> str | None:
    if field is None or field.args:
        return None
    definition = (field.extensions or {}).get(_DEFINITION)
    if (
        definition is None
        or not getattr(field.resolve, "_is_default", False)
        or not definition.is_basic_field
        or definition.default_resolver is not getattr
        or not definition.python_name.isidentifier()
    ):
        return None
    name: str = definition.python_name
    return name


def _frozen(operation: Any, fragments: dict[str, Any], variables: Any) -> str | None:
    """The values of the variables that the operation's directives read, as part of a key: the repr of
    their coerced values (the same for the same values); None, not shared, when too long to be worth
    keeping. Only those: a checkout's cart, key and address are unique to each request, and keying by
    them compiled every checkout's selection again and filled the table with entries never reused."""
    if not operation.variable_definitions:
        return ""
    names = _directive_variables(operation, fragments)
    if not names:
        return ""
    coerced: dict[str, Any] = variables.coerced
    text = repr([(name, name in coerced, coerced.get(name)) for name in names])
    return text if len(text) <= _VARIABLES_MAX else None


def _directive_variables(operation: Any, fragments: dict[str, Any]) -> tuple[str, ...]:
    """The sorted names of the variables read by any directive of the operation or of the fragments
    of its document (all of them, spread or not: more names only make the key stricter)."""
    known = _read_by_directives.get(id(operation))
    if known is not None and known[0] is operation:
        return known[1]
    names: set[str] = set()
    for root in (operation, *(details.definition for details in fragments.values())):
        visit(root, _DirectiveVariables(names))
    found = tuple(sorted(names))
    _read_by_directives[id(operation)] = (operation, found)
    if len(_read_by_directives) > _SHARED_MAX:
        del _read_by_directives[next(iter(_read_by_directives))]
    return found


class _DirectiveVariables(Visitor):
    """Adds to `names` the variables found in directive arguments."""

    def __init__(self, names: set[str]) -> None:
        super().__init__()
        self.names = names

    def enter_directive(self, node: DirectiveNode, *_args: Any) -> None:
        for argument in node.arguments or ():
            visit(argument.value, _Variables(self.names))


class _Variables(Visitor):
    def __init__(self, names: set[str]) -> None:
        super().__init__()
        self.names = names

    def enter_variable(self, node: VariableNode, *_args: Any) -> None:
        self.names.add(node.name.value)


# Per operation (the entry keeps it alive, so its id is not reused while the entry holds it): the
# variables its directives read.
_read_by_directives: dict[int, tuple[Any, tuple[str, ...]]] = {}


# Completions shared by requests: (operation id, type, directive variables, field node ids) -> (the operation,
# kept alive so its id is not reused; the compiled function or None). Oldest out first.
_shared: dict[Any, tuple[Any, Complete | None]] = {}
_SHARED_MAX = 4_096
_VARIABLES_MAX = 2_000


# Per field of the schema (types are made once with it): what `_attribute_of` found.
_attributes: dict[tuple[GraphQLObjectType, str], str | None] = {}


# Values graphql-core's `coerce_output_value` hands back unchanged for these scalars: the generated
# code takes them as they are and calls the full completion for anything else.
_EXACT = ((GraphQLString, "str"), (GraphQLID, "str"), (GraphQLBoolean, "bool"))


class _Code:
    """The source of one object's completion: read each attribute, take it as is when it is already
    what the response holds, else complete it with its function; one dict at the end."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.items: list[str] = []
        self.functions: list[Complete] = []

    def constant(self, response_name: str, value: str) -> None:
        self.items.append(f"{response_name!r}: {value!r}")

    def field(self, response_name: str, attribute: str, type_: GraphQLOutputType, complete: Complete) -> None:
        index = len(self.functions)
        self.functions.append(complete)
        value, function = f"v{index}", f"f{index}"
        self.lines.append(f"            {value} = source.{attribute}")
        non_null = isinstance(type_, GraphQLNonNull)
        named = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
        exact = next((python for scalar, python in _EXACT if named is scalar), None)
        if exact is None:
            self.lines.append(f"            {value} = {function}({value})")
        elif non_null:
            self.lines.append(
                f"            if {value}.__class__ is not {exact}: {value} = {function}({value})"
            )
        else:
            check = f"{value} is not None and {value}.__class__ is not {exact}"
            self.lines.append(f"            if {check}: {value} = {function}({value})")
        self.items.append(f"{response_name!r}: {value}")

    def function(self) -> Complete:
        functions = ", ".join(f"f{i}" for i in range(len(self.functions)))
        source = "\n".join(
            [
                f"def make(ABANDON, Abandon, {functions}):" if functions else "def make(ABANDON, Abandon):",
                "    def complete(source):",
                "        if isinstance(source, Exception): raise ABANDON",
                "        try:",
                *self.lines,
                "            pass" if not self.lines else "",
                "        except Abandon: raise",
                "        except Exception: raise ABANDON from None",
                "        return {" + ", ".join(self.items) + "}",
                "    return complete",
            ]
        )
        make = _made.get(source)
        if make is None:
            namespace: dict[str, Any] = {}
            exec(compile(source, "<mercato plain selection>", "exec"), namespace)  # noqa: S102
            make = _made[source] = namespace["make"]
            if len(_made) > _MADE_MAX:  # drop the oldest: documents come and go
                del _made[next(iter(_made))]
        complete: Complete = make(_ABANDON, _Abandon, *self.functions)
        return complete


# Compiled sources, shared by requests (compiling is what costs; the source is cheap to build again).
_made: dict[str, Callable[..., Complete]] = {}
_MADE_MAX = 4_096


def _list(item: Complete, non_null: bool) -> Complete:
    def list_of(value: Any) -> Any:
        if value.__class__ is not list and value.__class__ is not tuple:
            if value is None and not non_null:
                return None
            raise _ABANDON  # null for a non-null list, other iterables, async ones: the reference path
        return [item(v) for v in value]

    return list_of


def _leaf(coerce: Callable[[Any], Any], non_null: bool) -> Complete:
    def leaf(value: Any) -> Any:
        if value is None:
            if non_null:
                raise _ABANDON
            return None
        if isinstance(value, Exception):
            raise _ABANDON
        coerced = coerce(value)
        if coerced is None or coerced is Undefined:
            raise _ABANDON
        return coerced

    return leaf


def _object_value(nested: Complete, non_null: bool) -> Complete:
    def object_value(value: Any) -> Any:
        if value is None:
            if non_null:
                raise _ABANDON
            return None
        return nested(value)

    return object_value
