"""The GraphQL validation cache must hit for a document seen before: validating a checkout or listing
query again on every request cost a fifth of a worker's CPU."""

from __future__ import annotations

from strawberry.extensions.validation_cache import _get_validate_cache

from mercato.gateway.graphql.schema import build_schema
from mercato.platform.config import Settings

QUERY = "query Probe { __typename }"
TOO_DEEP = "query { products(first: 1) { edges { node { variants { price { amount } } } } } }"


async def test_the_same_document_is_validated_once() -> None:
    schema = build_schema(Settings(graphql_max_depth=5))
    cache = _get_validate_cache(1_000)
    first = await schema.execute(QUERY)
    misses = cache.cache_info().misses

    again = [await schema.execute(QUERY) for _ in range(3)]

    assert first.errors is None and all(r.errors is None for r in again)
    assert cache.cache_info().misses == misses  # no second validation of the same document


async def test_the_depth_limit_still_refuses_deep_queries_every_time() -> None:
    schema = build_schema(Settings(graphql_max_depth=4))
    for _ in range(2):  # the second answer comes from the cache and must refuse alike
        result = await schema.execute(TOO_DEEP)
        assert result.errors is not None
        assert "exceeds maximum operation depth" in result.errors[0].message
