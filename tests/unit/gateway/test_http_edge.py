"""The HTTP edge of the gateway without a server: GET query strings, persisted-query hashes, ETags and
the cache headers of stored responses."""

from __future__ import annotations

from urllib.parse import quote, urlencode

import pytest
from graphql import OperationType

from mercato.gateway.graphql_request import GraphQLRequest, RequestRefused
from mercato.gateway.http_caching import CachedResponse, HttpCachePolicy, matches, private
from mercato.gateway.persisted_queries import requested_hash
from mercato.platform.config import Settings

SHA = "a" * 64


def test_a_query_string_becomes_the_same_request_as_its_post_body() -> None:
    raw = urlencode({"query": "{ categories { id } }", "variables": '{"b": 1, "a": [2]}'}).encode()

    from_get = GraphQLRequest.from_query_string(raw, 16_384)
    from_post = GraphQLRequest.from_body(
        b'{"variables": {"a": [2], "b": 1}, "query": "{ categories { id } }"}'
    )

    assert from_post is not None
    assert from_get.identity() == from_post.identity()
    assert from_get.variables == {"a": [2], "b": 1}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"query=" + b"x" * 20_000, "the query string is longer than 16384 bytes"),
        (b"query=%ff%fe", "the query string is not valid UTF-8"),
        (b"query=\xff", "the query string is not valid UTF-8"),
        (b"query=a&query=b", "the query string gives `query` more than once"),
        (b"query=a&variables=%5B1%5D", "`variables` must be a JSON object"),
        (b"query=a&variables=%7B", "`variables` is not valid JSON"),
        (b"query=a&extensions=" + quote("[" * 40 + "]" * 40).encode(), "`extensions` must be a JSON object"),
        (b"query=a&variables=" + quote('{"a":' * 40 + "1" + "}" * 40).encode(), "`variables` nests JSON"),
    ],
)
def test_a_bad_query_string_is_refused_with_a_400(raw: bytes, message: str) -> None:
    with pytest.raises(RequestRefused) as refused:
        GraphQLRequest.from_query_string(raw, 16_384)

    assert refused.value.status == 400
    assert refused.value.message.startswith(message)


def test_a_post_body_that_is_not_one_plain_request_is_left_to_graphql() -> None:
    for body in (b"[]", b"{", b'{"query": 1}', b'{"query": "{ a }", "variables": []}', b"\xff"):
        assert GraphQLRequest.from_body(body) is None


@pytest.mark.parametrize(
    ("query", "name", "kind"),
    [
        ("{ categories { id } }", None, OperationType.QUERY),
        ("mutation { x }", None, OperationType.MUTATION),
        ("query A { a } mutation B { b }", "B", OperationType.MUTATION),
        ("query A { a } mutation B { b }", None, None),  # GraphQL refuses it: no operation runs
        ("{ broken", None, None),
    ],
)
def test_the_operation_that_would_run_is_known_before_running(
    query: str, name: str | None, kind: OperationType | None
) -> None:
    assert GraphQLRequest(query, operation_name=name).operation() == kind


def test_a_persisted_query_names_a_version_1_sha256() -> None:
    assert requested_hash(None) is None
    assert requested_hash({"other": 1}) is None
    assert requested_hash({"persistedQuery": {"version": 1, "sha256Hash": SHA}}) == SHA
    for bad in ({"version": 1, "sha256Hash": "A" * 64}, {"version": 1, "sha256Hash": "ab"}, {"version": 1}):
        with pytest.raises(RequestRefused):
            requested_hash({"persistedQuery": bad})
    with pytest.raises(RequestRefused) as refused:
        requested_hash({"persistedQuery": {"version": 2, "sha256Hash": SHA}})
    assert refused.value.code == "PERSISTED_QUERY_NOT_SUPPORTED"


def test_a_stored_response_keeps_its_etag_and_purge_keys() -> None:
    stored = CachedResponse.of(b'{"data":{"a":"\\n"}}', b"product:1 listings")

    again = CachedResponse.decode(stored.encode())

    assert again == stored
    assert again.keys == b"catalog listings product:1"
    assert again.etag.startswith(b'"') and len(again.etag) == 34
    assert CachedResponse.of(b'{"data":{"a":2}}', b"").etag != stored.etag


def test_if_none_match_compares_weakly_and_accepts_a_list_or_a_star() -> None:
    etag = b'"abc"'
    assert matches(b'"abc"', etag)
    assert matches(b'"x", W/"abc"', etag)
    assert matches(b"*", etag)
    assert not matches(b'"abd"', etag)
    assert not matches(None, etag)


def test_lists_that_depend_on_stock_get_the_short_max_age() -> None:
    policy = HttpCachePolicy(
        Settings(
            http_cache_max_age_seconds=60,
            http_cache_availability_max_age_seconds=5,
            http_cache_stale_while_revalidate_seconds=30,
        )
    )

    catalog = dict(policy.headers(CachedResponse.of(b"{}", b"product:1")))
    stock = dict(policy.headers(CachedResponse.of(b"{}", b"availability listings")))

    assert catalog[b"cache-control"] == b"public, max-age=60, stale-while-revalidate=30"
    assert stock[b"cache-control"] == b"public, max-age=5, stale-while-revalidate=30"
    assert catalog[b"vary"] == b"Authorization"
    assert catalog[b"surrogate-key"] == b"catalog product:1"


def test_a_private_response_loses_its_purge_keys_and_is_not_stored() -> None:
    headers = [(b"content-type", b"application/json"), (b"surrogate-key", b"product:1")]

    assert private(headers) == [(b"content-type", b"application/json"), (b"cache-control", b"no-store")]


def test_nan_in_a_get_parameter_is_not_json() -> None:
    with pytest.raises(RequestRefused) as refused:
        GraphQLRequest.from_query_string(b"query=a&variables=%7B%22a%22%3A%20NaN%7D", 16_384)

    assert refused.value.message == "`variables` is not valid JSON"
