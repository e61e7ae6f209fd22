"""Requests that are not what a GraphQL client sends: bodies that are not UTF-8 or not JSON, odd JSON
shapes and content types, documents built to exhaust a parser or the validator, GET requests, and
forged, tampered or malformed Authorization headers."""

from __future__ import annotations

from urllib.parse import urlencode

from hypothesis import strategies as st

from tests.fuzz.request import CALLERS, Request
from tests.fuzz.values import Known, to_json

_FIRST = b'{"query": "query($f: Int!) { products(first: $f) { edges { cursor } } }", '
RAW_BODIES: dict[str, bytes] = {
    "empty": b"",
    "not json": b"{",
    "json null": b"null",
    "json string": b'"x"',
    "empty batch": b"[]",
    "batch": b'[{"query": "{ me { id } }"}]',
    "not utf-8": b'{"query": "\xff\xfe"}',
    "utf-8 surrogate": b'{"query": "\xed\xa0\x80"}',
    "query not a string": b'{"query": 5}',
    "query null": b'{"query": null}',
    "no query": b'{"variables": {}}',
    "variables a string": b'{"query": "{ me { id } }", "variables": "x"}',
    "variables a list": b'{"query": "{ me { id } }", "variables": [1]}',
    "operationName a number": b'{"query": "{ me { id } }", "operationName": 5}',
    "extensions a string": b'{"query": "{ me { id } }", "extensions": "x"}',
    "unknown operation": b'{"query": "query A { me { id } }", "operationName": "B"}',
    "two operations, none named": b'{"query": "query A { me { id } } query B { me { id } }"}',
    "subscription": b'{"query": "subscription { me { id } }"}',
    "introspection": b'{"query": "{ __schema { types { name fields { name args { name } } } } }"}',
    "duplicate keys": b'{"query": "{ me { id } }", "query": "{ categories { id } }"}',
    "huge integer": b'{"query": "{ me { id } }", "variables": {"a": 1' + b"0" * 5000 + b"}}",
    "nan variable": _FIRST + b'"variables": {"f": NaN}}',
    "infinite variable": _FIRST + b'"variables": {"f": 1e999}}',
}
DOCUMENTS: dict[str, str] = {
    "selection 3,000 deep": "{ me " + "{ id " * 3000 + "}" * 3001,
    "list literal 3,000 deep": "{ product(slug: " + "[" * 3000 + "]" * 3000 + ") { id } }",
    "type 3,000 deep": "query($a: " + "[" * 3000 + "ID" + "]" * 3000 + ") { me { id } }",
    "10,000 aliases": "{ " + " ".join(f"a{i}: __typename" for i in range(10_000)) + " }",
    "fragment cycle": "{ me { ...A } } fragment A on MyAccount { ...B } fragment B on MyAccount { ...A }",
    "fragment on a bad type": "{ me { ... on Product { id } } }",
    "skip with a bad if": '{ me @skip(if: "yes") { id } }',
    "unknown directive": "{ me @nope { id } }",
    "many directives": "{ me " + "@include(if: true) " * 2000 + "{ id } }",
    "huge first": "{ products(first: 2147483647) { edges { node { variants { sku } } } } }",
    "too costly": "{ products(first: 100) { edges { node { variants { price { amount } } } } } }",
    "deep orders": "{ me { orders(first: 100) { nodes { lines { sku } history { status } } } } }",
    "string with NUL escape": '{ product(slug: "a\\u0000b") { id } }',
    "string with surrogate escape": '{ product(slug: "\\ud800") { id } }',
    "block string": '{ product(slug: """a\u0000b""") { id } }',
    "comment only": "# nothing",
    "mutation via GET": "mutation { cartCreate { cart { id } } }",
}
CONTENT_TYPES = [
    "application/json",
    "application/json; charset=latin-1",
    "text/plain",
    "application/graphql",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "",
]


def raw_requests() -> st.SearchStrategy[Request]:
    bodies = st.sampled_from(sorted(RAW_BODIES)).map(lambda k: ("raw " + k, RAW_BODIES[k]))
    documents = st.sampled_from(sorted(DOCUMENTS)).map(
        lambda k: ("document " + k, to_json({"query": DOCUMENTS[k]}).encode())
    )
    garbage = st.binary(max_size=40).map(lambda b: ("raw bytes", b))
    posts = st.tuples(st.one_of(bodies, documents, garbage), st.sampled_from(CONTENT_TYPES), CALLERS).map(
        lambda t: Request(
            t[2], "raw", f"{t[0][0]} as {t[1] or 'no content type'}", body=t[0][1], content_type=t[1]
        )
    )
    # A URL holds at most 64 kB (httpx refuses longer ones; so does every proxy).
    short = sorted(k for k, d in DOCUMENTS.items() if len(urlencode({"query": d})) < 60_000)
    gets = st.tuples(st.sampled_from(short), st.sampled_from(["", "{}", "[", '{"a": NaN}', "x"])).map(
        lambda t: Request(
            "anonymous", "raw", f"GET {t[0]}", method="GET",
            params=urlencode({"query": DOCUMENTS[t[0]], **({"variables": t[1]} if t[1] else {})}),
        )
    )  # fmt: skip
    return st.one_of(posts, gets)


def _authorizations(known: Known) -> list[str]:
    """Authorization headers that are not a valid access token of this server."""
    forged = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiIwIiwicm9sZSI6IkFETUlOIn0."
    headers = ["", "Bearer", "Bearer ", "Bearer  x", "bearer x.y.z", "Basic dXNlcjpwYXNz", "Token abc"]
    headers += [f"Bearer {forged}", "Bearer a.b.c", "Bearer ....", "Bearer \t x", "Bearer " + "a" * 10_000]
    for token in known.access_tokens:
        headers += [f"Bearer {token[:-3]}xyz", f"Bearer {token}{token}", f"Bearer {token[::-1]}"]
    headers += [f"Bearer {token}" for token in known.refresh_tokens]
    return headers


def auth_requests(known: Known) -> st.SearchStrategy[Request]:
    """A small query or mutation sent with a forged, tampered or malformed Authorization header."""
    documents = ["{ me { id email role } }", "{ myOrders { nodes { id } } }", "{ warehouses { id } }",
                 "mutation { cartCreate { cart { id } errors { field code message } } }"]  # fmt: skip
    return st.tuples(st.sampled_from(documents), st.sampled_from(_authorizations(known))).map(
        lambda t: Request(
            "anonymous", "mutation" if t[0].startswith("mutation") else "query",
            f"forged Authorization: {t[0].split('{')[1].strip()}",
            keys=("cartCreate",) if t[0].startswith("mutation") else (),
            fields=("cartCreate",) if t[0].startswith("mutation") else (),
            body=to_json({"query": t[0]}).encode(), authorization=t[1],
        )
    )  # fmt: skip
