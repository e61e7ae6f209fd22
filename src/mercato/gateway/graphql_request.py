"""One GraphQL request as the HTTP layer sees it before GraphQL runs: from a GET's query string or a
POST's JSON body, checked at the edge (docs/security.md, "The boundary rule for text"): a query
string that is too long, not UTF-8, repeats a parameter or holds JSON that is not an object is the
client's mistake, answered 400 in GraphQL's shape, never a 500."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl

import orjson
from graphql import DocumentNode, OperationType, get_operation_ast, parse
from graphql.error import GraphQLError
from starlette.responses import JSONResponse

from mercato.platform.validation import nested_deeper_than

# The same bound as a POST body's (gateway.app.MAX_BODY_NESTING).
MAX_NESTING = 32
_PARAMETERS = ("query", "variables", "operationName", "extensions")


class RequestRefused(Exception):
    """Answered before GraphQL runs, in GraphQL's shape."""

    def __init__(self, message: str, code: str = "BAD_REQUEST", status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status

    def response(self, headers: dict[str, str] | None = None) -> JSONResponse:
        return refusal(self.message, self.code, self.status, headers)


def refusal(message: str, code: str, status: int, headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    # Refusals are never for a shared cache to keep (a not-yet-registered hash is registered next).
    return JSONResponse(body, status_code=status, headers={"cache-control": "no-store", **(headers or {})})


@dataclass(frozen=True)
class GraphQLRequest:
    query: str | None
    variables: dict[str, Any] | None = None
    operation_name: str | None = None
    extensions: dict[str, Any] | None = None

    @classmethod
    def from_query_string(cls, raw: bytes, max_bytes: int) -> GraphQLRequest:
        if len(raw) > max_bytes:
            raise RequestRefused(
                f"the query string is longer than {max_bytes} bytes: send the query with POST, "
                "or its hash (extensions.persistedQuery)"
            )
        try:
            pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, errors="strict", max_num_fields=16)
        except UnicodeDecodeError:
            raise RequestRefused("the query string is not valid UTF-8") from None
        except ValueError:
            raise RequestRefused("the query string has too many parameters") from None
        given: dict[str, str] = {}
        for name, value in pairs:
            if name in given and name in _PARAMETERS:
                raise RequestRefused(f"the query string gives `{name}` more than once")
            given[name] = value
        return cls(
            query=given.get("query"),
            variables=_json_object(given.get("variables"), "variables"),
            operation_name=given.get("operationName") or None,
            extensions=_json_object(given.get("extensions"), "extensions"),
        )

    @classmethod
    def from_body(cls, body: bytes) -> GraphQLRequest | None:
        """The request in a POST body, or None when it is not one plain request object (a batch,
        bad JSON, fields of the wrong type): GraphQL's own handling answers those."""
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(payload, dict):
            return None
        query, variables = payload.get("query"), payload.get("variables")
        name, extensions = payload.get("operationName"), payload.get("extensions")
        if (
            not isinstance(query, str | None)
            or not isinstance(variables, dict | None)
            or not isinstance(name, str | None)
            or not isinstance(extensions, dict | None)
        ):
            return None
        return cls(query, variables, name, extensions)

    def with_query(self, query: str) -> GraphQLRequest:
        return GraphQLRequest(query, self.variables, self.operation_name, self.extensions)

    def body(self) -> bytes:
        """The request as the JSON body GraphQL's POST handling reads."""
        payload: dict[str, Any] = {"query": self.query}
        if self.variables is not None:
            payload["variables"] = self.variables
        if self.operation_name is not None:
            payload["operationName"] = self.operation_name
        return _dumps(payload)

    def identity(self) -> bytes:
        """What the response depends on, the same however the request came (GET or POST, any key
        order or spacing): the response cache's key."""
        return _dumps([self.query, self.operation_name, self.variables], sort_keys=True)

    def operation(self) -> OperationType | None:
        """The kind of operation that would run, or None when GraphQL will refuse the request."""
        if self.query is None:
            return None
        document = parsed(self.query)
        if document is None:
            return None
        found = get_operation_ast(document, self.operation_name)
        return found.operation if found is not None else None


@lru_cache(maxsize=2_048)
def parsed(query: str) -> DocumentNode | None:
    try:
        return parse(query)
    except GraphQLError:
        return None


def _dumps(value: object, *, sort_keys: bool = False) -> bytes:
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS if sort_keys else None)
    except TypeError:  # an integer past 64 bits: what orjson refuses, json writes
        return json.dumps(value, separators=(",", ":"), sort_keys=sort_keys).encode()


def _not_json(constant: str) -> None:
    # `NaN` and the infinities are Python's extensions of JSON, not JSON (RFC 8259).
    raise json.JSONDecodeError(f"{constant} is not JSON", constant, 0)


def _json_object(text: str | None, name: str) -> dict[str, Any] | None:
    if text is None or text == "":
        return None
    try:
        value = json.loads(text, parse_constant=_not_json)
    except RecursionError:
        raise RequestRefused(f"`{name}` nests JSON more than {MAX_NESTING} levels deep") from None
    except json.JSONDecodeError:
        raise RequestRefused(f"`{name}` is not valid JSON") from None
    except ValueError:  # not a syntax error: an integer longer than Python parses
        raise RequestRefused(
            f"`{name}` holds a number of more than {sys.get_int_max_str_digits()} digits"
        ) from None
    if value is not None and not isinstance(value, dict):
        raise RequestRefused(f"`{name}` must be a JSON object")
    if value is not None and nested_deeper_than(value, MAX_NESTING):
        raise RequestRefused(f"`{name}` nests JSON more than {MAX_NESTING} levels deep")
    return value
