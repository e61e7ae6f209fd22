"""`selected_names` reads the document's nodes; it must name what Strawberry's `info.selected_fields`
names (what it read before): checked inside the `products` resolver over generated documents with
aliases, fragments and directives."""

from __future__ import annotations

import random
from typing import Any

import pytest
import strawberry
from bench.storefront_data import MemoryCatalog, context, memory_clients

from mercato.gateway.graphql.catalog import schema as catalog_schema
from mercato.gateway.graphql.catalog.types import selected_names
from mercato.gateway.graphql.schema import build_schema
from mercato.platform.config import Settings
from tests.unit.gateway.storefront_queries import QueryGenerator

SETTINGS = Settings()


def _strawberrys_names(info: strawberry.Info) -> set[str]:
    """The names as they were read before: every selection of `info.selected_fields` that has one."""
    names: set[str] = set()
    stack: list[Any] = list(info.selected_fields)
    while stack:
        selection = stack.pop()
        name = getattr(selection, "name", None)
        if name is not None:
            names.add(name)
        stack.extend(getattr(selection, "selections", ()))
    return names


@pytest.mark.parametrize("seed", [11, 12])
async def test_the_names_are_strawberrys_over_generated_documents(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the listing resolver reading both, and generated documents
    compared: list[tuple[set[str], set[str]]] = []

    def both(info: strawberry.Info) -> set[str]:
        names = selected_names(info)
        compared.append((names, _strawberrys_names(info)))
        return names

    monkeypatch.setattr(catalog_schema, "selected_names", both)
    schema = build_schema(SETTINGS)
    catalog = MemoryCatalog(products=20)
    clients = memory_clients(catalog)
    generator = QueryGenerator(schema._schema, [p.slug for p in catalog.products], random.Random(seed))

    # When each is executed
    codes = set()
    for _ in range(60):
        document, variables = generator.document()
        result = await schema.execute(document, variables, context_value=context(SETTINGS, clients))
        codes |= {(e.extensions or {}).get("code") for e in result.errors or ()}

    # Then every listing saw the same names both ways, and none failed
    assert codes == set()
    assert len(compared) > 30
    assert [ours for ours, _ in compared] == [theirs for _, theirs in compared]
    assert any("price" in ours for ours, _ in compared)
