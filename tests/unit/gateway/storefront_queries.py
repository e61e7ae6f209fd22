"""Random storefront documents for the differential test of the compiled executor: any field of the
types reachable from `products`, `product` and `categories`, with aliases, repeated fields, inline and
named fragments, `__typename`, `@skip` / `@include` on literals and variables, and a variable read by
a field argument only (`products(first: $first)`)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
)

_MAX_DEPTH = 6


def _named(type_: GraphQLOutputType) -> Any:
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        type_ = type_.of_type
    return type_


@dataclass
class QueryGenerator:
    schema: GraphQLSchema
    slugs: list[str]
    rng: random.Random = field(default_factory=random.Random)
    fragments: list[str] = field(default_factory=list)
    uses_variable: bool = False
    uses_first: bool = False  # a variable read by a field argument, not by a directive
    _names: int = 0

    def document(self) -> tuple[str, dict[str, Any]]:
        """A document and its variables."""
        self.fragments = []
        self.uses_variable = False
        self.uses_first = False
        self._names = 0
        roots = [self._root() for _ in range(self.rng.randint(1, 2))]
        definitions = ["$flag: Boolean!"] if self.uses_variable else []
        definitions += ["$first: Int!"] if self.uses_first else []
        header = f"query Q({', '.join(definitions)})" if definitions else "query Q"
        body = f"{header} {{ {' '.join(roots)} }}"
        variables: dict[str, Any] = {"flag": self.rng.random() < 0.5} if self.uses_variable else {}
        if self.uses_first:
            variables["first"] = self.rng.randint(1, 25)
        return " ".join([body, *self.fragments]), variables

    def _root(self) -> str:
        query_type = self.schema.query_type
        assert query_type is not None
        choice = self.rng.choice(("products", "products", "product", "categories"))
        field_def = query_type.fields[choice]
        alias = f"r{self.rng.randrange(1000)}: "
        if choice == "products":
            sort = self.rng.choice(("NAME", "PRICE", "CREATED_AT"))
            first = str(self.rng.randint(1, 25))
            if self.rng.random() < 0.3:
                self.uses_first = True
                first = "$first"
            args = f"first: {first}, sortBy: {{ field: {sort} }}"
            if self.rng.random() < 0.3:
                args += f', filter: {{ priceMin: "{self.rng.choice((0, 30, 60))}.00" }}'
        elif choice == "product":
            slug = self.rng.choice([*self.slugs, "no-such-product"])
            args = f'slug: "{slug}"'
        else:
            args = ""
        head = f"{alias}{choice}({args})" if args else f"{alias}{choice}"
        return f"{head} {self._selection(_named(field_def.type), 1)}"

    def _selection(self, type_: GraphQLObjectType, depth: int) -> str:
        names = list(type_.fields)
        picked = self.rng.sample(names, k=self.rng.randint(1, len(names)))
        parts = [self._field(type_, name, type_.fields[name], depth) for name in picked]
        parts = [p for p in parts if p]
        if self.rng.random() < 0.3:
            parts.append("__typename")
        if self.rng.random() < 0.2 and parts:  # the same field again: merged by the executor
            parts.append(self.rng.choice(parts))
        if self.rng.random() < 0.2:
            inner = self._selection(type_, depth + 1) if depth < _MAX_DEPTH else "{ __typename }"
            parts.append(f"... on {type_.name} {inner}")
        if self.rng.random() < 0.15:
            self._names += 1
            name = f"F{self._names}_{type_.name}"
            inner = self._selection(type_, depth + 1) if depth < _MAX_DEPTH else "{ __typename }"
            self.fragments.append(f"fragment {name} on {type_.name} {inner}")
            parts.append(f"...{name}")
        if not parts:
            parts.append("__typename")
        return "{ " + " ".join(parts) + " }"

    def _field(self, parent: GraphQLObjectType, name: str, field_def: GraphQLField, depth: int) -> str:
        if field_def.args and any(isinstance(a.type, GraphQLNonNull) for a in field_def.args.values()):
            return ""
        named = _named(field_def.type)
        if isinstance(named, GraphQLObjectType) and depth >= _MAX_DEPTH:
            return ""
        text = name
        if self.rng.random() < 0.2:
            # Aliases named after the field: two different fields never share one (invalid).
            text = f"a{self.rng.randrange(3)}_{name}: {name}"
        roll = self.rng.random()
        if roll < 0.05:
            text += f" @skip(if: {self.rng.choice(('true', 'false'))})"
        elif roll < 0.1:
            self.uses_variable = True
            text += " @include(if: $flag)"
        if isinstance(named, GraphQLObjectType):
            text += " " + self._selection(named, depth + 1)
        return text
