"""The GraphQL validation cache must hit for a document seen before: validating a checkout or listing
query again on every request cost a fifth of a worker's CPU. So must the query cost's."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from mercato.gateway.graphql.core import cost, validation
from mercato.gateway.graphql.schema import build_schema
from mercato.platform.config import Settings

QUERY = "query Probe { __typename }"
TOO_DEEP = "query { products(first: 1) { edges { node { variants { price { amount } } } } } }"


def _counting(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> list[object]:
    calls: list[object] = []
    original = getattr(module, name)

    def counted(*args: Any) -> Any:
        calls.append(args)
        return original(*args)

    monkeypatch.setattr(module, name, counted)
    return calls


async def test_the_same_document_is_validated_once(monkeypatch: pytest.MonkeyPatch) -> None:
    schema = build_schema(Settings(graphql_max_depth=5))
    validated = _counting(monkeypatch, validation, "validate_document")
    query = QUERY.replace("Probe", f"Probe{uuid.uuid4().hex}")  # a document this process never saw
    first = await schema.execute(query)

    again = [await schema.execute(query) for _ in range(3)]

    assert first.errors is None and all(r.errors is None for r in again)
    assert len(validated) == 1  # no second validation of the same document


async def test_the_cost_is_computed_once_per_document_and_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a listing whose cost depends on a variable
    schema = build_schema(Settings(graphql_max_cost=10_000))
    computed = _counting(monkeypatch, cost, "_Calculator")
    query = "query Q($n: Int!) { products(first: $n) { edges { node { name } } } }"

    # When it is asked three times with one value and once with another
    costs = [(await schema.execute(query, {"n": n})).extensions for n in (3, 3, 3, 5)]

    # Then each value's cost is the document's for it, computed once per value
    assert [c["cost"]["requestedQueryCost"] for c in costs if c] == [10, 10, 10, 16]
    assert len(computed) == 2


async def test_variables_no_first_reads_do_not_make_the_cost_computed_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a document with a variable its cost depends on (`first`) and one it does not (`slug`)
    schema = build_schema(Settings(graphql_max_cost=10_000))
    computed = _counting(monkeypatch, cost, "_Calculator")
    query = (
        "query Q($n: Int!, $s: String!) { products(first: $n) { edges { node { name } } } "
        "product(slug: $s) { name } }"
    )

    # When it is asked with a new slug each time (as every checkout has its own cart and key)
    costs = [
        (await schema.execute(query, {"n": n, "s": f"slug-{i}"})).extensions
        for i, n in enumerate((3, 3, 3, 5))
    ]

    # Then the cost is computed once per value of `first` only
    assert [c["cost"]["requestedQueryCost"] for c in costs if c] == [12, 12, 12, 18]
    assert len(computed) == 2


async def test_the_depth_limit_still_refuses_deep_queries_every_time() -> None:
    schema = build_schema(Settings(graphql_max_depth=4))
    for _ in range(2):  # the second answer comes from the cache and must refuse alike
        result = await schema.execute(TOO_DEEP)
        assert result.errors is not None
        assert "exceeds maximum operation depth" in result.errors[0].message
