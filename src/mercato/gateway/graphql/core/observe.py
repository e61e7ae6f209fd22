"""RED metrics per GraphQL operation: how many, how many failed, how long, by root field.

An operation is labelled by its type (query, mutation) and its first root field (`products`,
`checkoutComplete`): names fixed by the schema, unlike operation names, which the client picks. A
root field the schema does not have (the document fails validation) is "other", so a client cannot
grow the label set. The outcome is `ok` (no error), `rejected` (the request's own fault: syntax,
validation, authentication, bad input) or `error` (the server's: an unexpected exception or a
dependency unavailable). Those are the storefront's and checkout's SLIs (deploy/helm/mercato/files/
prometheus/mercato-rules.yaml). A mutation that answers with payload errors (a declined card) is `ok`:
the API worked.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterator
from functools import lru_cache

from graphql import FieldNode, OperationDefinitionNode, parse
from graphql.error import GraphQLError
from strawberry.extensions import SchemaExtension

from mercato.gateway.graphql.core.errors import SERVER_ERROR_CODES
from mercato.platform.business_metrics import graphql_duration, graphql_operations

OTHER = "other"


class OperationMetrics(SchemaExtension):
    """Counts and times every operation; `root_fields` are the schema's Query and Mutation fields.

    Listed before `ErrorFormatting` so that it leaves the operation after it: the errors carry their
    `extensions.code` by then."""

    def __init__(self, root_fields: Collection[str]) -> None:
        self._root_fields = root_fields

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        except GraphQLError:  # a document that does not parse leaves through here
            self._observe(time.perf_counter() - started, "rejected")
            raise
        except BaseException:
            self._observe(time.perf_counter() - started, "error")
            raise
        self._observe(time.perf_counter() - started, _outcome(self._errors()))

    def _observe(self, elapsed: float, outcome: str) -> None:
        kind, field = self._operation()
        graphql_operations.labels(kind, field, outcome).inc()
        graphql_duration.labels(kind, field).observe(elapsed)

    def _operation(self) -> tuple[str, str]:
        ctx = self.execution_context
        document = ctx.graphql_document
        if document is None:
            return OTHER, OTHER
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if ctx.operation_name is not None:
            operations = [o for o in operations if o.name is not None and o.name.value == ctx.operation_name]
        if len(operations) != 1:
            return OTHER, OTHER
        operation = operations[0]
        kind = operation.operation.value
        first = operation.selection_set.selections[0] if operation.selection_set.selections else None
        if not isinstance(first, FieldNode) or first.name.value not in self._root_fields:
            return kind, OTHER
        return kind, first.name.value

    def _errors(self) -> list[GraphQLError]:
        ctx = self.execution_context
        errors = [*(ctx.pre_execution_errors or ()), *((ctx.result.errors or ()) if ctx.result else ())]
        return list({id(e): e for e in errors}.values())


def _outcome(errors: list[GraphQLError]) -> str:
    if not errors:
        return "ok"
    codes = {(e.extensions or {}).get("code") for e in errors}
    return "error" if codes & SERVER_ERROR_CODES else "rejected"


def observe_cached_query(query: str, elapsed: float) -> None:
    """A query the response cache answered without executing it: an `ok` operation all the same, so
    throughput and the storefront's SLIs count what the client got, however it was served."""
    field = _cached_root_field(query)
    graphql_operations.labels("query", field, "ok").inc()
    graphql_duration.labels("query", field).observe(elapsed)


@lru_cache(maxsize=2_048)
def _cached_root_field(query: str) -> str:
    """The first root field of a document the cache stored, so one that ran without errors: a field
    of the schema (the label stays bounded by it)."""
    try:
        document = parse(query)
    except GraphQLError:
        return OTHER
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and definition.selection_set.selections:
            first = definition.selection_set.selections[0]
            return first.name.value if isinstance(first, FieldNode) else OTHER
    return OTHER
