"""Each document validated once per process, found again by its identity.

Strawberry's `ValidationCache` keeps its results in an LRU keyed by (schema, document, rules), and
graphql-core's AST nodes hash by value: every node of the document, recursively, on every request
(~2% of an uncached listing's CPU). The parser cache (`ParserCache`) hands the same document object
to every request of the same text, so the document's identity is the key here, with the schema's
and the rules (classes, hashed by identity). Each entry keeps its document and schema alive, so no
other object can take their ids while the entry holds them; oldest out first.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

_MAX = 1_000

# (id(document), id(schema), rules) -> (document, schema, errors)
_validated: dict[tuple[int, int, tuple[Any, ...]], tuple[Any, Any, list[GraphQLError]]] = {}


class DocumentValidation(SchemaExtension):
    """Validation as Strawberry runs it (`validate_document`, the schema's rules and those extensions
    add), remembered per document object."""

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        document, schema, rules = ctx.graphql_document, ctx.schema._schema, ctx.validation_rules
        if document is not None:
            key = (id(document), id(schema), rules)
            found = _validated.get(key)
            if found is None or found[0] is not document or found[1] is not schema:
                found = (document, schema, validate_document(schema, document, rules))
                _validated[key] = found
                if len(_validated) > _MAX:
                    del _validated[next(iter(_validated))]
            ctx.pre_execution_errors = found[2]
        yield
