"""The root schema: every context's Query and Mutation types merged, plus the protective extensions."""

from __future__ import annotations

import logging
from pathlib import Path

import strawberry
from graphql import GraphQLError
from strawberry.extensions import AddValidationRules, ParserCache, QueryDepthLimiter
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from mercato.gateway.graphql.cart.schema import CartMutations, CartQueries
from mercato.gateway.graphql.catalog.schema import CatalogMutations, CatalogQueries
from mercato.gateway.graphql.core.cost import QueryCost
from mercato.gateway.graphql.core.errors import ErrorFormatting
from mercato.gateway.graphql.core.execution import PlainSelectionExecutor
from mercato.gateway.graphql.core.observe import OperationMetrics
from mercato.gateway.graphql.core.plain_inputs import build_plain_inputs
from mercato.gateway.graphql.core.text_guard import guard_text_arguments
from mercato.gateway.graphql.core.validation import DocumentValidation
from mercato.gateway.graphql.customers.schema import CustomersMutations, CustomersQueries
from mercato.gateway.graphql.inventory.schema import InventoryMutations, InventoryQueries
from mercato.gateway.graphql.orders.schema import OrdersMutations, OrdersQueries
from mercato.gateway.graphql.search.schema import SearchQueries
from mercato.platform.config import Settings
from mercato.platform.errors import ClientError, MercatoError

log = logging.getLogger(__name__)

Query = merge_types(
    "Query",
    (CatalogQueries, InventoryQueries, CartQueries, CustomersQueries, OrdersQueries, SearchQueries),
)
Mutation = merge_types(
    "Mutation", (CatalogMutations, InventoryMutations, CartMutations, CustomersMutations, OrdersMutations)
)

SCHEMA_FILE = Path(__file__).with_name("schema.graphql")


class MercatoSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Expected failures (bad input, a context that is down) are one log line each; only what nobody
        anticipated keeps its traceback."""
        for error in errors:
            original = error.original_error
            if isinstance(original, ClientError):
                log.info("%s: %s", type(original).__name__, original.message)
            elif isinstance(original, MercatoError):
                log.warning("%s at %s: %s", type(original).__name__, error.path, original.message)
            else:
                super().process_errors([error], execution_context)


def build_schema(settings: Settings, *, fast_execution: bool = True) -> MercatoSchema:
    """The gateway's schema. `fast_execution=False`: graphql-core's executor alone (the reference the
    fast one is tested against, and the baseline of `bench/graphql_exec.py`)."""
    # The depth rule is made once: `QueryDepthLimiter` makes a new rule class per instance, and with a
    # new class in the rules of every request the validation cache (keyed by the rules) never hit,
    # so every request was validated again (~18% of a worker's CPU under checkout load).
    depth_rules = QueryDepthLimiter(max_depth=settings.graphql_max_depth).validation_rules
    root_fields: set[str] = set()  # filled below, once the schema knows its fields
    schema = MercatoSchema(
        query=Query,
        mutation=Mutation,
        extensions=[
            lambda: OperationMetrics(root_fields),
            lambda: ErrorFormatting(),
            lambda: ParserCache(maxsize=1_000),
            lambda: DocumentValidation(),
            lambda: AddValidationRules(depth_rules),
            lambda: QueryCost(max_cost=settings.graphql_max_cost),
        ],
        # Plain selections (a listing page's products, variants, prices) completed by compiled code,
        # everything else by graphql-core as before: see core/execution.py.
        execution_context_class=PlainSelectionExecutor if fast_execution else None,
    )
    core = schema._schema
    for root in (core.query_type, core.mutation_type):
        root_fields.update(root.fields if root is not None else ())
    # The boundary rule for text, once for every argument of every field (see core/text_guard.py).
    guard_text_arguments(schema._schema)
    # Inputs of scalars and enums built from a table, not Strawberry's general conversion.
    build_plain_inputs(schema)
    return schema


def schema_sdl() -> str:
    """The schema in SDL, as committed in `schema.graphql`."""
    return strawberry.Schema(query=Query, mutation=Mutation).as_str() + "\n"
