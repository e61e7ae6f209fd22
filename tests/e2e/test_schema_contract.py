"""The committed `schema.graphql` is the API contract: code and file must not drift."""

from __future__ import annotations

from mercato.gateway.graphql.schema import SCHEMA_FILE, schema_sdl


def test_committed_schema_matches_the_code() -> None:
    assert SCHEMA_FILE.exists(), "run `make schema` and commit schema.graphql"
    assert SCHEMA_FILE.read_text() == schema_sdl(), (
        "the GraphQL schema changed: run `make schema` and review the diff"
    )
