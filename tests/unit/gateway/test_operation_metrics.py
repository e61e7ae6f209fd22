"""Every GraphQL operation is counted and timed by type, first root field and outcome; the labels stay
within the schema's root fields whatever the client sends."""

from __future__ import annotations

from mercato.gateway.graphql.schema import build_schema
from mercato.platform.business_metrics import BUSINESS
from mercato.platform.config import Settings


def counted(kind: str, field: str, outcome: str) -> float:
    labels = {"type": kind, "field": field, "outcome": outcome}
    return BUSINESS.get_sample_value("mercato_graphql_operations_total", labels) or 0.0


def timed(kind: str, field: str) -> float:
    labels = {"type": kind, "field": field}
    return BUSINESS.get_sample_value("mercato_graphql_operation_duration_seconds_count", labels) or 0.0


async def test_a_root_field_the_server_fails_on_is_an_error_of_that_field() -> None:
    schema = build_schema(Settings())
    before, before_timed = counted("query", "products", "error"), timed("query", "products")

    # No request context: the resolver raises, as an unexpected failure would.
    result = await schema.execute("query { products(first: 1) { edges { node { id } } } }")

    assert result.errors is not None and result.errors[0].extensions == {"code": "INTERNAL"}
    assert counted("query", "products", "error") == before + 1
    assert timed("query", "products") == before_timed + 1


async def test_a_field_the_schema_lacks_is_rejected_under_other_and_names_no_new_label() -> None:
    schema = build_schema(Settings())
    before = counted("query", "other", "rejected")

    result = await schema.execute("query { secretFieldChosenByTheClient }")

    assert result.errors is not None
    assert counted("query", "other", "rejected") == before + 1
    assert counted("query", "secretFieldChosenByTheClient", "rejected") == 0.0


async def test_a_document_that_does_not_parse_is_rejected() -> None:
    schema = build_schema(Settings())
    before = counted("other", "other", "rejected")

    result = await schema.execute("{ {")

    assert result.errors is not None
    assert counted("other", "other", "rejected") == before + 1


async def test_an_operation_without_errors_is_ok() -> None:
    schema = build_schema(Settings())
    before = counted("query", "other", "ok")

    result = await schema.execute("query Probe { __typename }")

    assert result.errors is None
    assert counted("query", "other", "ok") == before + 1
