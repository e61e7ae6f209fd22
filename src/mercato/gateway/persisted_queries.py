"""Automatic persisted queries (Apollo's APQ protocol): a client sends a query's SHA-256 instead of its
text, so a storefront's queries fit in a GET's URL and a CDN can keep the answers.

`extensions.persistedQuery = {version: 1, sha256Hash}` without `query`: the document registered under
that hash, or `PERSISTED_QUERY_NOT_FOUND` (404, never cached), after which the client sends the query
and the hash together; the hash is checked against the text (SHA-256 of its UTF-8) and the document,
when it parses, registered. Registered documents live in Redis, shared by every gateway process, at
most `persisted_queries_max` of them and `persisted_query_max_chars` each: past the count the oldest
registered goes (a client meeting NOT_FOUND simply registers again). A document never changes under
its hash, so each process also keeps the ones it used (no TTL needed, only a bound).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import OrderedDict
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from mercato.gateway.graphql_request import GraphQLRequest, RequestRefused, parsed

log = logging.getLogger(__name__)

NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
HASH_MISMATCH = "PERSISTED_QUERY_HASH_MISMATCH"
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_KEPT_IN_PROCESS = 2_048

# Register a document unless its hash is known; past `max`, drop the oldest registered. One round trip.
_REGISTER = """
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[3]), ARGV[1])
local excess = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[3])
if excess > 0 then
  local oldest = redis.call('ZPOPMIN', KEYS[2], excess)
  for i = 1, #oldest, 2 do redis.call('HDEL', KEYS[1], oldest[i]) end
end
return 1
"""


class PersistedQueryNotFound(Exception):
    def response_body(self) -> dict[str, Any]:
        return {"errors": [{"message": "PersistedQueryNotFound", "extensions": {"code": NOT_FOUND}}]}


def requested_hash(extensions: dict[str, Any] | None) -> str | None:
    """The SHA-256 the request names, or None when it names none; a malformed one is refused."""
    if not extensions or "persistedQuery" not in extensions:
        return None
    persisted = extensions["persistedQuery"]
    if not isinstance(persisted, dict):
        raise RequestRefused("extensions.persistedQuery must be an object")
    if persisted.get("version") != 1:
        raise RequestRefused("extensions.persistedQuery.version must be 1", "PERSISTED_QUERY_NOT_SUPPORTED")
    sha = persisted.get("sha256Hash")
    if not isinstance(sha, str) or not _SHA256_HEX.fullmatch(sha):
        raise RequestRefused("extensions.persistedQuery.sha256Hash must be 64 lowercase hexadecimal digits")
    return sha


class PersistedQueries:
    def __init__(self, redis: Redis, namespace: str, *, max_documents: int, max_chars: int) -> None:
        self.redis = redis
        self.max_documents = max_documents
        self.max_chars = max_chars
        prefix = f"{namespace}:apq:"
        self._keys = [prefix + "documents", prefix + "order", prefix + "counter"]
        self._register = redis.register_script(_REGISTER)
        self._known: OrderedDict[str, str] = OrderedDict()

    async def resolve(self, request: GraphQLRequest) -> GraphQLRequest:
        """`request` with the document its hash names; unchanged when it names none."""
        sha = requested_hash(request.extensions)
        if sha is None:
            return request
        if request.query is not None:
            await self._register_checked(sha, request.query)
            return request
        return request.with_query(await self._document(sha))

    async def _document(self, sha: str) -> str:
        known = self._known.get(sha)
        if known is not None:
            self._known.move_to_end(sha)
            return known
        try:
            stored = await self.redis.hget(self._keys[0], sha)
        except RedisError as exc:
            # The client sends the full query next: the request still succeeds, only bigger.
            log.warning("persisted query lookup failed (%s)", exc)
            raise PersistedQueryNotFound from None
        if stored is None:
            raise PersistedQueryNotFound
        document = stored.decode() if isinstance(stored, bytes) else str(stored)
        self._keep(sha, document)
        return document

    async def _register_checked(self, sha: str, query: str) -> None:
        try:
            actual = hashlib.sha256(query.encode("utf-8")).hexdigest()
        except UnicodeEncodeError:
            raise RequestRefused("the query holds an unpaired surrogate, which is not text") from None
        if actual != sha:
            raise RequestRefused("the query's SHA-256 is not its sha256Hash", HASH_MISMATCH)
        if sha in self._known or len(query) > self.max_chars or parsed(query) is None:
            return  # known already; too long to keep (it still runs); or GraphQL answers its syntax error
        try:
            await self._register(keys=self._keys, args=[sha, query, self.max_documents])
        except RedisError as exc:
            log.warning("persisted query registration failed (%s)", exc)
            return
        self._keep(sha, query)

    def _keep(self, sha: str, document: str) -> None:
        self._known[sha] = document
        if len(self._known) > _KEPT_IN_PROCESS:
            self._known.popitem(last=False)
