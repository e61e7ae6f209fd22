"""Whole-response cache for anonymous storefront queries, in front of the GraphQL executor.

A storefront asks the same few queries over and over (the home page listing, a category page). For an
anonymous request (POST, or GET: `?query=` or a persisted query's hash, see `persisted_queries`)
whose operation is a query touching only catalog data, the response is stored in Redis under the
catalog's cache generation, keyed by the request's query, operation name and variables (the same for
a GET and a POST); a hit is answered without parsing or executing GraphQL, and usually without Redis
either (`platform.local_cache`). Anything personal or fast-moving (stock levels, the viewer, carts,
orders) is never stored, nor is any response with errors. Events that bump the catalog generation
(product changes, a SKU going in or out of stock) drop every stored response at once.

Stored responses are the ones HTTP caches may keep too (`http_caching`): they leave with an ETag
(a GET with a matching `If-None-Match` gets 304), `Cache-Control: public, ...` and their purge keys;
every other response leaves with `Cache-Control: no-store`. A GET runs queries only.
"""

from __future__ import annotations

import hashlib
import time
from functools import lru_cache
from typing import Any

import orjson
from graphql import FieldNode, OperationDefinitionNode, OperationType, visit
from graphql.language import Visitor
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mercato.gateway.graphql.core.observe import observe_cached_query
from mercato.gateway.graphql_request import GraphQLRequest, RequestRefused, parsed
from mercato.gateway.http_caching import SURROGATE_KEY, CachedResponse, HttpCachePolicy, matches, private
from mercato.gateway.persisted_queries import PersistedQueries, PersistedQueryNotFound
from mercato.platform.business_metrics import response_cache
from mercato.platform.cache import Cache

# Fields whose values change with every order or differ per caller: responses selecting them are
# never stored.
VOLATILE_FIELDS = frozenset(
    {"quantityAvailable", "inStock", "stockLevels", "warehouses", "me", "cart", "order", "orders"}
)
_MAX_CACHEABLE_BODY = 16_384


class _FieldNames(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()
        self.only_queries = True

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        self.names.add(node.name.value)

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        if node.operation is not OperationType.QUERY:
            self.only_queries = False


@lru_cache(maxsize=2_048)
def is_cacheable_query(query: str) -> bool:
    document = parsed(query)
    if document is None:
        return False
    collector = _FieldNames()
    visit(document, collector)
    return collector.only_queries and not (collector.names & VOLATILE_FIELDS)


class ResponseCache:
    """ASGI middleware for the GraphQL route: GET and POST requests, persisted queries, the cache of
    whole responses and their HTTP caching headers."""

    def __init__(
        self,
        app: ASGIApp,
        cache: Cache,
        generation_key: str,
        persisted: PersistedQueries,
        policy: HttpCachePolicy,
        *,
        max_query_string_bytes: int = 16_384,
        path: str = "/graphql",
    ) -> None:
        self.app = app
        self.cache = cache
        self.generation_key = generation_key
        self.persisted = persisted
        self.policy = policy
        self.max_query_string_bytes = max_query_string_bytes
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        if method in ("GET", "HEAD") and scope.get("query_string"):
            await self._get(scope, send)
        elif method == "POST":
            await self._post(scope, receive, send)
        else:  # GraphiQL (a GET without parameters), or whatever GraphQL's handler answers
            await self.app(scope, receive, send)

    async def _get(self, scope: Scope, send: Send) -> None:
        try:
            request = GraphQLRequest.from_query_string(scope["query_string"], self.max_query_string_bytes)
            request = await self.persisted.resolve(request)
            if request.query is None:
                raise RequestRefused("a GET request needs `query` or extensions.persistedQuery")
            if request.operation() not in (OperationType.QUERY, None):
                # A GET must not change anything (a link, a prefetch or a CDN may send it again).
                raise RequestRefused(
                    "only queries may be sent with GET: send mutations with POST", "METHOD_NOT_ALLOWED", 405
                )
        except RequestRefused as refused:
            extra = {"allow": "POST"} if refused.status == 405 else None
            await refused.response(extra)(scope, _no_body, send)
            return
        except PersistedQueryNotFound as missing:
            await _not_found(missing, scope, send)
            return
        await self._serve(_as_post(scope), request, request.body(), send, conditional=True)

    async def _post(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await _read_body(receive)
        content_type = dict(scope.get("headers") or []).get(b"content-type", b"")
        # Other content types get GraphQL's own answer (it reads JSON only, or refuses them).
        request = GraphQLRequest.from_body(body) if content_type.startswith(b"application/json") else None
        if request is None:
            await self.app(scope, replay_once(body), _private(send))
            return
        try:
            resolved = await self.persisted.resolve(request)
        except RequestRefused as refused:
            await refused.response()(scope, _no_body, send)
            return
        except PersistedQueryNotFound as missing:
            await _not_found(missing, scope, send)
            return
        if resolved is not request:
            body = resolved.body()
        await self._serve(scope, resolved, body, send)

    async def _serve(
        self, scope: Scope, request: GraphQLRequest, body: bytes, send: Send, *, conditional: bool = False
    ) -> None:
        """Answer `request` (its JSON `body`), from the cache when it may be stored; `conditional`: a
        GET, which an `If-None-Match` naming the stored response's ETag answers with 304."""
        started = time.perf_counter()
        headers = dict(scope.get("headers") or [])
        if (
            b"authorization" in headers
            or request.query is None
            or len(body) > _MAX_CACHEABLE_BODY
            or not is_cacheable_query(request.query)
        ):
            await self.app(scope, replay_once(body), _private(send))
            return
        key = self.cache.key("response", hashlib.blake2b(request.identity(), digest_size=20).hexdigest())
        captured: list[Message] = []

        async def load() -> bytes | None:
            captured.clear()
            await self.app(scope, replay_once(body), _capture(captured))
            return _cacheable(captured)

        stored = await self.cache.get_or_load_versioned(
            self.generation_key, key, load, _identity, _identity, store_if=_is_bytes
        )
        response_cache.labels("miss" if captured else "hit").inc()
        if stored is None:
            if not captured:  # a concurrent loader's response was not cacheable: run it for this caller
                await self.app(scope, replay_once(body), _capture(captured))
            private = _private(send)
            for message in captured:
                await private(message)
            return
        revalidating = conditional and _matches(headers, stored)
        response = CachedResponse.decode(stored)
        await self._send_cached(response, send, hit=not captured, not_modified=revalidating)
        if not captured:  # a hit: GraphQL never saw it, so its operation metrics are counted here
            observe_cached_query(request.query, time.perf_counter() - started)

    async def _send_cached(
        self, response: CachedResponse, send: Send, *, hit: bool, not_modified: bool
    ) -> None:
        headers = [*self.policy.headers(response), (b"x-mercato-cache", b"hit" if hit else b"miss")]
        if not_modified:
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        length = str(len(response.body)).encode()
        headers += [(b"content-type", b"application/json"), (b"content-length", length)]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": response.body})


def _matches(headers: dict[bytes, bytes], stored: bytes) -> bool:
    given = headers.get(b"if-none-match")
    return given is not None and matches(given, stored[: stored.index(b"\n")])


def _as_post(scope: Scope) -> Scope:
    """A GET's scope as the JSON POST GraphQL's handler reads (the request was checked above)."""
    kept = [(k, v) for k, v in scope.get("headers") or [] if k not in (b"content-type", b"content-length")]
    headers = [*kept, (b"content-type", b"application/json")]
    return {**scope, "method": "POST", "query_string": b"", "headers": headers}


async def _not_found(missing: PersistedQueryNotFound, scope: Scope, send: Send) -> None:
    # 404 as Apollo Server 4 answers it; the client sends the query with its hash next.
    answer = JSONResponse(missing.response_body(), 404, headers={"cache-control": "no-store"})
    await answer(scope, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.disconnect"}


def _private(send: Send) -> Send:
    """`send`, with the response start marked as one no shared cache may keep."""

    async def private_send(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": private(list(message.get("headers") or []))}
        await send(message)

    return private_send


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def replay_once(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


def _identity(value: Any) -> Any:
    return value


def _is_bytes(value: object) -> bool:
    return isinstance(value, bytes)


def _capture(messages: list[Message]) -> Send:
    async def send(message: Message) -> None:
        messages.append(message)

    return send


def _cacheable(messages: list[Message]) -> bytes | None:
    """The stored form of a captured response, or None when it is not for keeping: not a 200, not
    JSON, or carrying errors or no data."""
    start = next((m for m in messages if m["type"] == "http.response.start"), None)
    if start is None or start["status"] != 200:
        return None
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    if not _plainly_data(body):
        try:
            decoded = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(decoded, dict) or decoded.get("errors") or decoded.get("data") is None:
            return None
    keys = dict(start.get("headers") or []).get(SURROGATE_KEY, b"")
    return CachedResponse.of(body, keys).encode()


def _plainly_data(body: bytes) -> bool:
    """Whether `body` is, without parsing it, a response with data and no errors: an object whose
    first member is a non-null `data` object, with no `"errors":` anywhere (inside a JSON string the
    quotes would be escaped, so only a member named `errors` has it; one inside the data, say of a
    JSON attribute, only sends the body to the full check). Parsing a listing page (~40 KB) to
    look for errors was ~3% of an uncached request."""
    return body.startswith(b'{"data":{') and body.endswith(b"}") and b'"errors":' not in body
