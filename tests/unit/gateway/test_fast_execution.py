"""The compiled executor (core/execution.py) against graphql-core's own: the same responses — data,
nulls, errors with their paths and codes, key order — for many generated storefront documents, over
a sound catalog and over one whose values break the schema in every way the compiled code gives up on."""

from __future__ import annotations

import dataclasses
import random
from typing import Any

import orjson
import pytest
from bench.storefront_data import MemoryCatalog, context, listing_mix, memory_clients

from mercato.gateway.graphql.core.execution import PlainSelectionExecutor
from mercato.gateway.graphql.schema import MercatoSchema, build_schema
from mercato.platform.config import Settings
from tests.unit.gateway.storefront_queries import QueryGenerator

SETTINGS = Settings()


class CountingExecutor(PlainSelectionExecutor):
    """Counts how objects were completed, so the test shows both paths ran."""

    compiled = 0
    fallback = 0

    def complete_object_value(self, return_type: Any, field_details_list: Any, *args: Any) -> Any:
        if self._compile(return_type, field_details_list) is not None:
            CountingExecutor.compiled += 1
        return super().complete_object_value(return_type, field_details_list, *args)

    def collect_and_execute_subfields(self, *args: Any) -> Any:
        CountingExecutor.fallback += 1
        return super().collect_and_execute_subfields(*args)


def _schemas() -> tuple[MercatoSchema, MercatoSchema]:
    reference = build_schema(SETTINGS, fast_execution=False)
    fast = build_schema(SETTINGS)
    fast.execution_context_class = CountingExecutor
    return reference, fast


def _broken(catalog: MemoryCatalog, rng: random.Random) -> MemoryCatalog:
    """Values of the wrong type or null where the schema says non-null, on about half the products
    (the values the listing sorts by stay sound: the fake catalog sorts by them)."""
    bad_values: list[tuple[str, Any]] = [
        ("slug", None),
        ("slug", 12),
        ("description", ValueError("boom")),
        ("media", [None, "x"]),
        ("media", "not a list"),
        ("published", "yes"),
        ("updated_at", "not a date"),
        ("attributes", {"deep": [1, {"x": None}]}),
        ("variants", ()),
        ("category_id", None),
    ]
    for index, product in enumerate(catalog.products):
        if rng.random() < 0.5:
            name, value = rng.choice(bad_values)
            catalog.products[index] = dataclasses.replace(product, **{name: value})
    return catalog


def _response(result: Any) -> bytes:
    errors = [e.formatted for e in result.errors or ()]
    return orjson.dumps({"data": result.data, "errors": errors}, option=orjson.OPT_NON_STR_KEYS)


def _other_variables(variables: dict[str, Any]) -> list[dict[str, Any]]:
    """`variables` with the directive's flag flipped, with another `first`, and with both."""
    flips = [{"flag": not variables["flag"]}] if "flag" in variables else []
    firsts = [{"first": variables["first"] % 25 + 1}] if "first" in variables else []
    both = [{**flips[0], **firsts[0]}] if flips and firsts else []
    return [{**variables, **change} for change in (*flips, *firsts, *both)]


async def _compare(catalog: MemoryCatalog, seed: int, count: int) -> int:
    """Run `count` generated documents through both executors; returns how many raised errors."""
    reference, fast = _schemas()
    clients = memory_clients(catalog)
    generator = QueryGenerator(
        reference._schema, [p.slug for p in catalog.products[:20]], random.Random(seed)
    )
    with_errors = 0
    for _ in range(count):
        document, variables = generator.document()
        expected = await reference.execute(document, variables, context_value=context(SETTINGS, clients))
        actual = await fast.execute(document, variables, context_value=context(SETTINGS, clients))
        assert _response(actual) == _response(expected), document
        with_errors += bool(expected.errors)
        for changed in _other_variables(variables):
            # The same document again with other values: its compiled selections are shared by
            # requests, keyed by the values of the variables that `@skip` / `@include` read only.
            expected = await reference.execute(document, changed, context_value=context(SETTINGS, clients))
            actual = await fast.execute(document, changed, context_value=context(SETTINGS, clients))
            assert _response(actual) == _response(expected), (document, changed)
    return with_errors


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_generated_documents_answer_alike_over_a_sound_catalog(seed: int) -> None:
    CountingExecutor.compiled = 0

    await _compare(MemoryCatalog(products=60), seed, count=100)

    assert CountingExecutor.compiled > 0


@pytest.mark.parametrize("seed", [4, 5, 6])
async def test_generated_documents_answer_alike_over_a_broken_catalog(seed: int) -> None:
    CountingExecutor.compiled = 0
    CountingExecutor.fallback = 0
    catalog = _broken(MemoryCatalog(products=60), random.Random(seed))

    with_errors = await _compare(catalog, seed, count=100)

    assert with_errors > 0
    assert CountingExecutor.compiled > 0
    assert CountingExecutor.fallback > 0


async def test_the_listing_mix_answers_alike_with_and_without_availability() -> None:
    reference, fast = _schemas()
    clients = memory_clients(MemoryCatalog())
    for query in listing_mix() + listing_mix(stock=True):
        expected = await reference.execute(query, context_value=context(SETTINGS, clients))
        actual = await fast.execute(query, context_value=context(SETTINGS, clients))
        assert expected.errors is None
        assert _response(actual) == _response(expected)


class BuildingExecutor(PlainSelectionExecutor):
    """Counts the completions built (not found among those requests share)."""

    built = 0

    def _object(self, object_type: Any, field_details_list: Any) -> Any:
        BuildingExecutor.built += 1
        return super()._object(object_type, field_details_list)


async def test_requests_of_one_document_share_its_compiled_selections() -> None:
    # Given the fast schema and one listing document it has answered once
    schema = build_schema(SETTINGS)
    schema.execution_context_class = BuildingExecutor
    clients = memory_clients(MemoryCatalog(products=30))
    query = listing_mix(1)[0]
    first = await schema.execute(query, context_value=context(SETTINGS, clients))
    built_first = BuildingExecutor.built

    # When the same document is asked again
    again = await schema.execute(query, context_value=context(SETTINGS, clients))

    # Then it answers the same without building any completion
    assert first.errors is None
    assert again.data == first.data
    assert built_first > 0
    assert BuildingExecutor.built == built_first


async def test_requests_differing_only_in_variables_no_directive_reads_share_compiled_selections() -> None:
    # Given a document whose variables are read by arguments only (as a checkout's cart, key and
    # address are), answered once
    schema = build_schema(SETTINGS)
    schema.execution_context_class = BuildingExecutor
    catalog = MemoryCatalog(products=30)
    clients = memory_clients(catalog)
    query = "query($s: String!) { product(slug: $s) { name slug variants { sku } } }"
    slugs = [p.slug for p in catalog.products if p.published][:3]
    first = await schema.execute(query, {"s": slugs[0]}, context_value=context(SETTINGS, clients))
    built_first = BuildingExecutor.built

    # When it is asked again with other values
    others = [
        await schema.execute(query, {"s": s}, context_value=context(SETTINGS, clients)) for s in slugs[1:]
    ]

    # Then each answers its own product without building any completion
    assert first.errors is None
    assert built_first > 0
    assert [o.errors for o in others] == [None, None]
    assert [o.data["product"]["slug"] for o in others if o.data] == slugs[1:]
    assert BuildingExecutor.built == built_first


async def test_requests_differing_in_a_directive_variable_build_their_own_selection() -> None:
    # Given a document whose `@include` reads a variable, answered with it true
    schema = build_schema(SETTINGS)
    schema.execution_context_class = BuildingExecutor
    catalog = MemoryCatalog(products=30)
    clients = memory_clients(catalog)
    query = "query($s: String!, $v: Boolean!) { product(slug: $s) { slug name @include(if: $v) } }"
    product = next(p for p in catalog.products if p.published)
    shown = await schema.execute(
        query, {"s": product.slug, "v": True}, context_value=context(SETTINGS, clients)
    )
    built_first = BuildingExecutor.built

    # When it is asked with the variable false
    hidden = await schema.execute(
        query, {"s": product.slug, "v": False}, context_value=context(SETTINGS, clients)
    )

    # Then that request built its own selection, without the field
    assert shown.data == {"product": {"slug": product.slug, "name": product.name}}
    assert hidden.data == {"product": {"slug": product.slug}}
    assert BuildingExecutor.built > built_first


async def test_availability_asked_inside_an_inline_fragment_is_loaded() -> None:
    # `_asks_for` read `.name` of every selection, and inline fragments have none: INTERNAL before.
    schema = build_schema(SETTINGS)
    catalog = MemoryCatalog(products=10)
    query = (
        "{ products(first: 3) { edges { node { ... on Product { variants { sku quantityAvailable } } } } } }"
    )

    result = await schema.execute(query, context_value=context(SETTINGS, memory_clients(catalog)))

    assert result.errors is None
    assert result.data is not None
    variants = [v for e in result.data["products"]["edges"] for v in e["node"]["variants"]]
    assert [v["quantityAvailable"] for v in variants] == [catalog.levels[v["sku"]] for v in variants]


def test_the_generated_documents_ask_for_availability() -> None:
    # The differential runs above cover the page's availability (loaded with the listing's page, or by
    # one batched call for a product) only if the generator selects it: it does, on every seed used.
    reference, _fast = _schemas()
    slugs = [p.slug for p in MemoryCatalog(products=60).products[:20]]  # as `_compare` has them
    for seed in (1, 2, 3, 4, 5, 6):
        generator = QueryGenerator(reference._schema, slugs, random.Random(seed))
        documents = [generator.document()[0] for _ in range(100)]
        assert any("quantityAvailable" in d for d in documents), seed
        assert any("inStock" in d for d in documents), seed
