"""The gateway's HTTP-edge machinery on real Redis and a real HTTP endpoint: local copies of cached
entries dropped by another process's bump, the persisted-query store's bounds, and the CDN purger."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from redis.asyncio import Redis

from mercato.gateway.graphql_request import GraphQLRequest, RequestRefused
from mercato.gateway.persisted_queries import HASH_MISMATCH, PersistedQueries, PersistedQueryNotFound
from mercato.platform.cache import Cache
from mercato.platform.cdn import HttpPurger, purged_keys
from mercato.platform.config import Settings
from tests.conftest import ref


async def until(condition: Any, attempts: int = 200) -> None:
    for _ in range(attempts):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never held")


async def test_a_bump_in_another_process_drops_this_processs_local_copies(
    redis: Redis, settings: Settings
) -> None:
    here = Cache(redis, settings.namespace, local_ttl_seconds=60.0, local_max_bytes=1_000_000)
    elsewhere = Cache(redis, settings.namespace)
    generation, key = here.key("gen", ref()), here.key("page", ref())
    watcher = asyncio.create_task(here.watch_invalidations())
    try:
        await until(lambda: here.local.usable)
        loads: list[bytes] = []

        async def load() -> bytes:
            loads.append(b"v%d" % len(loads))
            return loads[-1]

        assert await here.get_or_load_versioned(generation, key, load, bytes, bytes) == b"v0"
        assert await here.get_or_load_versioned(generation, key, load, bytes, bytes) == b"v0"  # from Redis
        await redis.delete(f"{key}:g0")  # gone from Redis: only the local copy can answer now
        assert await here.get_or_load_versioned(generation, key, load, bytes, bytes) == b"v0"

        await elsewhere.bump(generation)
        await until(lambda: here.local.get(key) is None)

        assert await here.get_or_load_versioned(generation, key, load, bytes, bytes) == b"v1"
        assert loads == [b"v0", b"v1"]
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
    assert not here.local.usable


async def test_without_the_watcher_every_read_asks_redis(redis: Redis, settings: Settings) -> None:
    cache = Cache(redis, settings.namespace, local_ttl_seconds=60.0, local_max_bytes=1_000_000)
    generation, key = cache.key("gen", ref()), cache.key("page", ref())

    async def load() -> bytes:
        return b"v"

    await cache.get_or_load_versioned(generation, key, load, bytes, bytes)
    await cache.get_or_load_versioned(generation, key, load, bytes, bytes)

    assert cache.local.get(key) is None


def sha(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


def persisted(query: str | None, digest: str) -> GraphQLRequest:
    return GraphQLRequest(query, extensions={"persistedQuery": {"version": 1, "sha256Hash": digest}})


async def test_persisted_queries_keep_at_most_their_bound_dropping_the_oldest(
    redis: Redis, settings: Settings
) -> None:
    namespace = f"{settings.namespace}_{ref()}"[:40].lower().replace("-", "_")
    store = PersistedQueries(redis, namespace, max_documents=3, max_chars=200)
    documents = [f"{{ q{n}: categories {{ id }} }}" for n in range(5)]
    for document in documents:
        await store.resolve(persisted(document, sha(document)))

    fresh = PersistedQueries(redis, namespace, max_documents=3, max_chars=200)  # another process
    for document in documents[:2]:
        with pytest.raises(PersistedQueryNotFound):
            await fresh.resolve(persisted(None, sha(document)))
    for document in documents[2:]:
        assert (await fresh.resolve(persisted(None, sha(document)))).query == document
    assert await redis.hlen(f"{namespace}:apq:documents") == 3
    await redis.delete(*(f"{namespace}:apq:{k}" for k in ("documents", "order", "counter")))


async def test_a_document_is_registered_only_under_its_own_hash_and_within_bounds(
    redis: Redis, settings: Settings
) -> None:
    store = PersistedQueries(redis, settings.namespace, max_documents=10, max_chars=100)
    query = "{ categories { id } }"

    with pytest.raises(RequestRefused) as refused:
        await store.resolve(persisted(query, sha(query + " ")))
    assert refused.value.code == HASH_MISMATCH

    too_long = "{ categories { id } }" + " " * 100
    assert (await store.resolve(persisted(too_long, sha(too_long)))).query == too_long  # it still runs
    fresh = PersistedQueries(redis, settings.namespace, max_documents=10, max_chars=100)
    for digest in (sha(query + " "), sha(too_long)):
        with pytest.raises(PersistedQueryNotFound):
            await fresh.resolve(persisted(None, digest))


class _Recorder(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], Any]] = []
    status = 200

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        type(self).received.append((dict(self.headers), json.loads(body)))
        self.send_response(type(self).status)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *_: object) -> None:
        return None


@pytest.fixture
def purge_endpoint() -> Iterator[tuple[str, type[_Recorder]]]:
    handler = type("Recorder", (_Recorder,), {"received": [], "status": 200})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/purge", handler
    server.shutdown()
    server.server_close()


async def test_the_http_purger_posts_the_keys_with_its_credential(
    purge_endpoint: tuple[str, type[_Recorder]],
) -> None:
    url, endpoint = purge_endpoint
    purger = HttpPurger(url, token="s3cret", auth_header="Fastly-Key")

    await purger.purge(["product:1", "listings"])

    [(headers, body)] = endpoint.received
    assert headers["Surrogate-Key"] == "product:1 listings"
    assert headers["Fastly-Key"] == "s3cret"
    assert body == {"keys": ["product:1", "listings"]}


async def test_a_failed_purge_is_counted_and_never_raised(
    purge_endpoint: tuple[str, type[_Recorder]],
) -> None:
    url, endpoint = purge_endpoint
    endpoint.status = 503
    failed = purged_keys.labels("product", "failed")
    before = failed._value.get()

    await HttpPurger(url).purge(["product:2"])

    assert failed._value.get() == before + 1
    assert "Authorization" not in endpoint.received[0][0]
