"""Requests generated from `schema.graphql`, three ways:

- `variable_operations`: one root field (any query or mutation) with its arguments sent as variables of
  the declared types, values from `values` (hostile text, overflowing numbers, wrong types, known ids),
  and a random selection of the result, nested fields' arguments included; now and then a required
  argument left out, a variable declared with the wrong type or a scalar written inline.
- `literal_operations`: hypothesis-graphql's documents (several root fields, every value written in
  the document), valid ones and ones with one schema violation, with our scalar strategies.
- `raw_requests` and `auth_requests` (in `raw.py`): what a GraphQL client would not send.

Every mutation payload selects `errors { field code message }`, so the oracle can tell a refusal."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import graphql
import hypothesis_graphql as hg
from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    get_named_type,
)
from hypothesis import strategies as st
from hypothesis_graphql import nodes

from mercato.gateway.graphql.schema import SCHEMA_FILE
from tests.fuzz.raw import auth_requests, raw_requests
from tests.fuzz.request import CALLERS, Request
from tests.fuzz.values import (
    Known,
    Raw,
    by_name,
    deep_list,
    hostile_int,
    hostile_text,
    json_values,
    odd_ids,
    to_json,
    weighted,
    wrong_type,
)

SCHEMA: GraphQLSchema = graphql.build_schema(SCHEMA_FILE.read_text())
ERRORS_SELECTION = graphql.parse("{ errors { field code message } }").definitions[0].selection_set  # type: ignore[attr-defined]
MAX_SELECTION_DEPTH = 3


# The kind of id an argument or input field named `id` (or `...Id`) wants, by the field it is on.
ID_KINDS = {
    "cartId": "cart", "productId": "product", "userId": "account", "warehouseId": "warehouse",
    "categoryId": "category", "category": "category", "parentId": "category", "cart": "cart",
    "product": "product", "productUpdate": "product", "productDelete": "product", "variantUpdate": "variant",
    "addressUpdate": "address", "addressDelete": "address", "order": "order", "orderCancel": "order",
    "orderFulfill": "order", "orderRefund": "order",
}  # fmt: skip


def _hint(name: str, root: str) -> str:
    if name in ("id", "category") or name.endswith("Id"):
        kind = ID_KINDS.get(name) or ID_KINDS.get(root)
        return f"id:{kind}" if kind else "id"
    return name


class _Values:
    """Strategies of variable values by input type and field name (built once, reused), in one of
    three moods: "clean" (realistic values only), "hostile" (hostile values of the declared types) and
    "sloppy" (hostile, plus wrong types, nulls where a value is required and missing fields)."""

    def __init__(self, known: Known, mood: str) -> None:
        self.names = by_name(known, hostile=mood != "clean")
        self.mood = mood
        self._cache: dict[tuple[str, str, str], st.SearchStrategy[Any]] = {}

    def of(self, type_: GraphQLInputType, name: str, root: str) -> st.SearchStrategy[Any]:
        key = (str(type_), name, root)
        if key not in self._cache:
            strategy = self._of(type_, name, root)
            self._cache[key] = (
                weighted((30, strategy), (1, wrong_type())) if self.mood == "sloppy" else strategy
            )
        return self._cache[key]

    def _of(self, type_: GraphQLInputType, name: str, root: str) -> st.SearchStrategy[Any]:
        if isinstance(type_, GraphQLNonNull):
            inner = self._nullable(type_.of_type, name, root)
            return weighted((40, inner), (1, st.none())) if self.mood == "sloppy" else inner
        return weighted((12, self._nullable(type_, name, root)), (1, st.none()))

    def _nullable(self, type_: GraphQLInputType, name: str, root: str) -> st.SearchStrategy[Any]:
        if isinstance(type_, GraphQLList):
            item = self.of(type_.of_type, name, root)
            lists = st.lists(item, max_size=3)
            if self.mood == "clean":
                return lists
            long = st.lists(item, min_size=101, max_size=120)
            if self.mood == "hostile":
                return weighted((12, lists), (1, long))
            return weighted(
                (12, lists), (1, long), (1, item), (1, st.sampled_from([3, 33, 3_000]).map(deep_list))
            )
        if isinstance(type_, GraphQLInputObjectType):
            return self._object(type_, root)
        if isinstance(type_, GraphQLEnumType):
            valid = st.sampled_from(sorted(type_.values))
            if self.mood != "sloppy":
                return valid
            return weighted((9, valid), (1, st.sampled_from(["asc", "", 0, "NOPE", "Z" * 5000])))
        assert isinstance(type_, GraphQLScalarType)
        if type_.name in ("Int", "Float"):
            return (
                st.integers(0, 20) if self.mood == "clean" else hostile_int(in_range=self.mood == "hostile")
            )
        if type_.name == "Boolean":
            return st.booleans()
        if type_.name == "JSON":
            return json_values(hostile=self.mood != "clean")
        strategy = self.names.get(_hint(name, root)) or self.names[""]
        return strategy()

    def _object(self, type_: GraphQLInputObjectType, root: str) -> st.SearchStrategy[dict[str, Any]]:
        fields = sorted(type_.fields.items())
        sloppy = self.mood == "sloppy"

        @st.composite
        def build(draw: st.DrawFn) -> dict[str, Any]:
            value: dict[str, Any] = {}
            for name, f in fields:
                required = isinstance(f.type, GraphQLNonNull) and f.default_value is graphql.Undefined
                if draw(st.integers(0, 99)) < (100 if required and not sloppy else 97 if required else 50):
                    value[name] = draw(self.of(f.type, name, root))
            if sloppy and draw(st.integers(0, 9)) == 0:
                value["bogus"] = draw(wrong_type())
            return value

        return build()


# How hostile one generated operation is: every value realistic; one argument hostile, the others
# realistic (so that the one bad value is what reaches the use case); every argument hostile; or
# sloppy (wrong types, missing or undeclared variables: mostly GraphQL validation's business).
MOODS = [("clean", 2), ("one", 4), ("hostile", 2), ("sloppy", 1)]


class _Document:
    """One operation being written: its variables, their declared types and values."""

    def __init__(self, draw: st.DrawFn, values: dict[str, _Values], mood: str) -> None:
        self.draw = draw
        self.values = values
        self.mood = mood
        self.declarations: list[str] = []
        self.variables: dict[str, Any] = {}

    def _source(self, index: int, bad: int) -> _Values:
        if self.mood == "one":
            return self.values["hostile" if index == bad else "clean"]
        return self.values[self.mood]

    def arguments(self, args: dict[str, GraphQLArgument], root: str, nested: bool = False) -> str:
        parts = []
        sloppy = self.mood == "sloppy"
        bad = -1 if nested else self.draw(st.integers(0, max(0, len(args) - 1)))
        for index, (name, arg) in enumerate(sorted(args.items())):
            required = isinstance(arg.type, GraphQLNonNull) and arg.default_value is graphql.Undefined
            if self.draw(st.integers(0, 99)) >= (100 if required and not sloppy else 97 if required else 60):
                continue
            value = self.draw(self._source(index, bad).of(arg.type, name, root))
            leaf = isinstance(get_named_type(arg.type), GraphQLScalarType | GraphQLEnumType)
            if leaf and not isinstance(value, list | dict) and self.draw(st.integers(0, 9)) == 0:
                parts.append(f"{name}: {_literal(value, get_named_type(arg.type))}")
                continue
            var = f"v{len(self.declarations)}"
            declared = str(arg.type)
            if sloppy and self.draw(st.integers(0, 9)) == 0:
                declared = self.draw(st.sampled_from(["String", "Int!", "[ID]", "JSON", "Boolean!"]))
            self.declarations.append(f"${var}: {declared}")
            if not sloppy or self.draw(st.integers(0, 9)) != 0:  # else: declared, never given
                self.variables[var] = value
            parts.append(f"{name}: ${var}")
        return f"({', '.join(parts)})" if parts else ""

    def selection(self, type_: Any, depth: int, mutation_payload: bool = False) -> str:
        named = get_named_type(type_)
        if not isinstance(named, GraphQLObjectType):
            return ""
        names = sorted(named.fields)
        chosen = self.draw(st.lists(st.sampled_from(names), max_size=4, unique=True))
        parts = ["__typename"]
        if mutation_payload and "errors" in named.fields:
            chosen = [n for n in chosen if n != "errors"]
            parts.append("errors { field code message }")
        for name in chosen:
            field = named.fields[name]
            inner = get_named_type(field.type)
            if isinstance(inner, GraphQLObjectType):
                if depth >= MAX_SELECTION_DEPTH:
                    continue
                args = self.arguments(field.args, name, nested=True)
                parts.append(f"{name}{args} {self.selection(field.type, depth + 1)}")
            else:
                parts.append(f"{name}{self.arguments(field.args, name, nested=True)}")
        return "{ " + " ".join(parts) + " }"


def _literal(value: Any, type_: Any) -> str:
    if isinstance(value, Raw):
        return value.token
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(type_, GraphQLEnumType) and isinstance(value, str) and re.fullmatch(r"[_A-Za-z]\w*", value):
        return value
    return to_json(value)


def variable_operations(known: Known) -> st.SearchStrategy[Request]:
    values = {mood: _Values(known, mood) for mood in ("clean", "hostile", "sloppy")}
    moods = weighted(*((w, st.just(m)) for m, w in MOODS))
    roots = [("query", n) for n in sorted(SCHEMA.query_type.fields)]  # type: ignore[union-attr]
    roots += [("mutation", n) for n in sorted(SCHEMA.mutation_type.fields)] * 2  # type: ignore[union-attr]

    @st.composite
    def build(draw: st.DrawFn) -> Request:
        kind, name = draw(st.sampled_from(roots))
        root = SCHEMA.mutation_type if kind == "mutation" else SCHEMA.query_type
        field = root.fields[name]  # type: ignore[union-attr]
        doc = _Document(draw, values, draw(moods))
        args = doc.arguments(field.args, name)
        selection = doc.selection(field.type, 1, mutation_payload=kind == "mutation")
        declarations = f"({', '.join(doc.declarations)})" if doc.declarations else ""
        query = f"{kind} Fuzz{declarations} {{ {name}{args} {selection} }}"
        body = to_json({"query": query, "variables": doc.variables}).encode()
        return Request(draw(CALLERS), kind, f"{kind} {name}", (name,), (name,), body)

    return build()


# ---- hypothesis-graphql ------------------------------------------------------------------------------

_NAME = re.compile(r"[^_0-9A-Za-z]")


def _node(value: Any) -> graphql.ValueNode:
    """A literal for a JSON value (keys made into names, since a literal object has names for keys)."""
    if isinstance(value, dict):
        fields = {(_NAME.sub("_", str(k)) or "_").lstrip("0123456789") or "_": v for k, v in value.items()}
        return nodes.Object(
            [
                graphql.ObjectFieldNode(name=graphql.NameNode(value=k), value=_node(v))
                for k, v in fields.items()
            ]
        )
    if isinstance(value, list):
        return nodes.List([_node(v) for v in value])
    if isinstance(value, bool):
        return nodes.Boolean(value)
    if isinstance(value, int):
        return nodes.Int(value)
    if isinstance(value, float):
        return (
            nodes.Float(value) if value == value and abs(value) != float("inf") else nodes.String(repr(value))
        )
    if isinstance(value, Raw):
        return (
            graphql.FloatValueNode(value=value.token)
            if value.token[:1].isdigit()
            else nodes.String(value.token)
        )
    return nodes.Null if value is None else nodes.String(str(value))


def _printer(kind: str) -> Any:
    def print_with_errors(document: graphql.DocumentNode) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
        [operation] = document.definitions
        assert isinstance(operation, graphql.OperationDefinitionNode)
        root = SCHEMA.mutation_type if kind == "mutation" else SCHEMA.query_type
        names, keys, selections = [], [], []
        for node in operation.selection_set.selections:
            assert isinstance(node, graphql.FieldNode)
            names.append(node.name.value)
            keys.append(node.alias.value if node.alias else node.name.value)
            payload = get_named_type(root.fields[node.name.value].type)  # type: ignore[union-attr]
            selected = node.selection_set.selections if node.selection_set else ()
            wants_errors = kind == "mutation" and "errors" in payload.fields  # type: ignore[union-attr]
            has_errors = any(isinstance(s, graphql.FieldNode) and s.name.value == "errors" for s in selected)
            if wants_errors and node.selection_set and not has_errors:
                with_errors = replace(
                    node.selection_set, selections=(*selected, *ERRORS_SELECTION.selections)
                )
                node = replace(node, selection_set=with_errors)
            selections.append(node)
        operation = replace(
            operation, selection_set=replace(operation.selection_set, selections=tuple(selections))
        )
        return graphql.print_ast(replace(document, definitions=(operation,))), tuple(names), tuple(keys)

    return print_with_errors


def literal_operations(known: Known) -> st.SearchStrategy[Request]:
    ids = st.one_of(st.sampled_from(known.all_ids()), odd_ids()).map(lambda v: nodes.String(str(v)))
    scalars = {
        "String": hostile_text(
            st.sampled_from([*known.skus, *known.slugs, *known.emails, "GB", "USD", "19.99"])
        ).map(nodes.String),
        "ID": ids,
        "Int": hostile_int(in_range=True).map(_node),
        "JSON": json_values(max_leaves=5).map(_node),
        "DateTime": st.just(nodes.String("2020-01-01T00:00:00+00:00")),
    }
    options = []
    for kind in ("query", "mutation"):
        for mode in (hg.Mode.POSITIVE, hg.Mode.NEGATIVE):
            maker = hg.queries if kind == "query" else hg.mutations
            strategy = maker(SCHEMA, custom_scalars=scalars, mode=mode, print_ast=_printer(kind))
            options.append(st.tuples(st.just(kind), strategy, CALLERS))

    def request(spec: tuple[str, tuple[str, tuple[str, ...], tuple[str, ...]], str]) -> Request:
        kind, (query, names, keys), caller = spec
        body = to_json({"query": query}).encode()
        return Request(caller, kind, f"{kind} {'+'.join(names)} (literal)", keys, names, body)

    return st.one_of(*options).map(request)


def requests(known: Known) -> st.SearchStrategy[Request]:
    """The mix the suite sends: mostly operations with variables, then literal documents, then raw."""
    return weighted(
        (14, variable_operations(known)),
        (4, literal_operations(known)),
        (1, raw_requests()),
        (1, auth_requests(known)),
    )
