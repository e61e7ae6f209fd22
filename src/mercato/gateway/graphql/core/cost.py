"""Static query cost: refuse expensive operations before running them; report the cost in `extensions`.

Every field costs 1 for each time it can be resolved. A field with a `first` argument multiplies the
cost of what it selects by `first` (its `edges` list then adds no further factor); any other list
field multiplies by `DEFAULT_LIST_SIZE`. Computed from the document and its variables, before
execution, so an over-cost query costs the server almost nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    Visitor,
    get_named_type,
    value_from_ast_untyped,
    visit,
)
from strawberry.extensions import SchemaExtension

DEFAULT_LIST_SIZE = 10
_MAX_FRAGMENT_DEPTH = 50


class QueryCost(SchemaExtension):
    def __init__(self, max_cost: int) -> None:
        self.max_cost = max_cost
        self.cost: int | None = None

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        document = ctx.graphql_document
        if document is not None and not ctx.pre_execution_errors:
            self.cost = _cost(ctx.schema._schema, document, ctx.operation_name, ctx.variables or {})
            if self.cost > self.max_cost:
                ctx.pre_execution_errors = [
                    GraphQLError(
                        f"query cost {self.cost} exceeds the maximum of {self.max_cost}; ask for fewer items",
                        extensions={"code": "QUERY_TOO_COSTLY", "cost": self.cost, "maxCost": self.max_cost},
                    )
                ]
        yield

    def get_results(self) -> dict[str, Any]:
        if self.cost is None:
            return {}
        return {"cost": {"requestedQueryCost": self.cost, "maximumAvailable": self.max_cost}}


def _cost(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None, variables: Any) -> int:
    """The cost of the operation, computed once per document, operation and values of the variables
    that `first` arguments read: walking the document again on every request was ~1% of an uncached
    listing. Only those variables: a checkout's cart, key and address are unique to each request, and
    keying by them computed every checkout's cost again (and filled the table with entries never
    reused). Documents are found by identity (the parser cache gives every request of a text the same
    one; the entry keeps it alive)."""
    names = _sizing_variables(document)
    values = variables or {}
    frozen = repr([(name, name in values, values.get(name)) for name in names]) if names else ""
    key = (id(document), id(schema), operation_name, frozen) if len(frozen) <= _VARIABLES_MAX else None
    found = _costs.get(key) if key is not None else None
    if found is not None and found[0] is document and found[1] is schema:
        return found[2]
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    calculator = _Calculator(schema, fragments, variables)
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [o for o in operations if operation_name in (None, o.name.value if o.name else None)]
    cost = sum(calculator.operation(op) for op in chosen[:1] or operations[:1])
    if key is not None:
        _costs[key] = (document, schema, cost)
        if len(_costs) > _COSTS_MAX:
            del _costs[next(iter(_costs))]
    return cost


def _sizing_variables(document: DocumentNode) -> tuple[str, ...]:
    """The sorted names of the variables read by the document's `first` arguments: the only ones the
    cost depends on (`_Calculator._argument`)."""
    known = _sizing.get(id(document))
    if known is not None and known[0] is document:
        return known[1]
    names: set[str] = set()
    visit(document, _FirstArgumentVariables(names))
    found = tuple(sorted(names))
    _sizing[id(document)] = (document, found)
    if len(_sizing) > _COSTS_MAX:
        del _sizing[next(iter(_sizing))]
    return found


class _FirstArgumentVariables(Visitor):
    def __init__(self, names: set[str]) -> None:
        super().__init__()
        self.names = names

    def enter_argument(self, node: ArgumentNode, *_args: Any) -> None:
        if node.name.value == "first":
            visit(node.value, _Variables(self.names))


class _Variables(Visitor):
    def __init__(self, names: set[str]) -> None:
        super().__init__()
        self.names = names

    def enter_variable(self, node: VariableNode, *_args: Any) -> None:
        self.names.add(node.name.value)


# (id(document), id(schema), operation name, sizing variables) -> (document, schema, cost); oldest out.
_costs: dict[tuple[int, int, str | None, str], tuple[DocumentNode, GraphQLSchema, int]] = {}
_COSTS_MAX = 4_096
_VARIABLES_MAX = 2_000
# id(document) -> (document, kept alive so its id is not reused; the variables its `first`s read).
_sizing: dict[int, tuple[DocumentNode, tuple[str, ...]]] = {}


class _Calculator:
    def __init__(
        self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode], variables: dict[str, Any]
    ):
        self.schema = schema
        self.fragments = fragments
        self.variables = variables

    def operation(self, op: OperationDefinitionNode) -> int:
        root = {
            OperationType.QUERY: self.schema.query_type,
            OperationType.MUTATION: self.schema.mutation_type,
            OperationType.SUBSCRIPTION: self.schema.subscription_type,
        }[op.operation]
        return self.selections(op.selection_set, root, 1, 0) if root is not None else 0

    def selections(self, selection_set: SelectionSetNode, parent: Any, multiplier: int, depth: int) -> int:
        if depth > _MAX_FRAGMENT_DEPTH or not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return 0
        total = 0
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                total += self.field(node, parent, multiplier, depth)
            elif isinstance(node, InlineFragmentNode):
                target = (
                    self.schema.get_type(node.type_condition.name.value) if node.type_condition else parent
                )
                total += self.selections(node.selection_set, target, multiplier, depth + 1)
            elif isinstance(node, FragmentSpreadNode):
                fragment = self.fragments.get(node.name.value)
                if fragment is not None:
                    target = self.schema.get_type(fragment.type_condition.name.value)
                    total += self.selections(fragment.selection_set, target, multiplier, depth + 1)
        return total

    def field(
        self, node: FieldNode, parent: GraphQLObjectType | GraphQLInterfaceType, multiplier: int, depth: int
    ) -> int:
        name = node.name.value
        definition = parent.fields.get(name)
        if definition is None:
            return 1 if name.startswith("__") else 0
        inner = multiplier
        first = self._argument(node, "first")
        field_type = definition.type
        if isinstance(field_type, GraphQLNonNull):
            field_type = field_type.of_type
        if isinstance(first, int) and first > 0:
            inner = multiplier * first
        elif isinstance(field_type, GraphQLList) and name != "edges":
            inner = multiplier * DEFAULT_LIST_SIZE
        total = multiplier
        if node.selection_set is not None:
            total += self.selections(node.selection_set, get_named_type(definition.type), inner, depth + 1)
        return total

    def _argument(self, node: FieldNode, name: str) -> Any:
        for argument in node.arguments or ():
            if argument.name.value == name:
                return value_from_ast_untyped(argument.value, self.variables)
        return None
