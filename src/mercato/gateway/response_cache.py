"""Whole-response cache for anonymous storefront queries, in front of the GraphQL executor.

A storefront asks the same few queries over and over (the home page listing, a category page). For an
anonymous POST whose operation is a query touching only catalog data, the response bytes are stored
in Redis under the catalog's cache generation, keyed by a hash of the request body; a hit is answered
without parsing or executing GraphQL. Anything personal or fast-moving (stock levels, the viewer,
carts, orders) is never stored, nor is any response with errors. Events that bump the catalog
generation (product changes, a SKU going in or out of stock) drop every stored response at once.
"""

from __future__ import annotations

import hashlib
import time
from functools import lru_cache
from typing import Any

import orjson
from graphql import FieldNode, OperationDefinitionNode, OperationType, parse, visit
from graphql.error import GraphQLError
from graphql.language import Visitor
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mercato.gateway.graphql.core.observe import observe_cached_query
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
    try:
        document = parse(query)
    except GraphQLError:
        return False
    collector = _FieldNames()
    visit(document, collector)
    return collector.only_queries and not (collector.names & VOLATILE_FIELDS)


class ResponseCache:
    """ASGI middleware for the GraphQL route."""

    def __init__(self, app: ASGIApp, cache: Cache, generation_key: str, path: str = "/graphql") -> None:
        self.app = app
        self.cache = cache
        self.generation_key = generation_key
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._candidate(scope):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        body = await _read_body(receive)
        query = _query_of(body)
        if query is None or not is_cacheable_query(query):
            await self.app(scope, replay_once(body), send)
            return
        key = self.cache.key("response", hashlib.blake2b(body, digest_size=20).hexdigest())
        captured: list[Message] = []

        async def load() -> bytes | None:
            captured.clear()
            await self.app(scope, replay_once(body), _capture(captured))
            return _cacheable_body(captured)

        stored = await self.cache.get_or_load_versioned(
            self.generation_key, key, load, _identity, _identity, store_if=_is_bytes
        )
        response_cache.labels("miss" if captured else "hit").inc()
        if captured:  # this request ran the query: send what it produced, cached or not
            for message in captured:
                await send(message)
            return
        if stored is None:
            # A concurrent loader produced an uncacheable response; run it for this caller.
            await self.app(scope, replay_once(body), send)
            return
        await _send_json(send, stored, hit=True)
        observe_cached_query(query, time.perf_counter() - started)

    def _candidate(self, scope: Scope) -> bool:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != self.path:
            return False
        headers = dict(scope.get("headers") or [])
        if b"authorization" in headers:
            return False
        content_type = headers.get(b"content-type", b"")
        length = headers.get(b"content-length", b"")
        return (
            content_type.startswith(b"application/json")
            and length.isdigit()
            and int(length) <= _MAX_CACHEABLE_BODY
        )


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


def _query_of(body: bytes) -> str | None:
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    query = payload.get("query") if isinstance(payload, dict) else None
    return query if isinstance(query, str) else None


def _capture(messages: list[Message]) -> Send:
    async def send(message: Message) -> None:
        messages.append(message)

    return send


def _cacheable_body(messages: list[Message]) -> bytes | None:
    start = next((m for m in messages if m["type"] == "http.response.start"), None)
    if start is None or start["status"] != 200:
        return None
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    try:
        decoded = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(decoded, dict) or decoded.get("errors") or decoded.get("data") is None:
        return None
    return body


async def _send_json(send: Send, body: bytes, *, hit: bool) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"x-mercato-cache", b"hit" if hit else b"miss"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
