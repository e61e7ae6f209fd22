"""The checkout driver's lean side: one HTTP/1.1 keep-alive connection per shopper (an asyncio
protocol, httptools' C parser, orjson, requests built once per shopper as bytes), and one watcher that
checks every cart waiting to be emptied with one Redis command per tick.

Why not httpx: the load client runs on the two cores the servers under test use, and at 128 shoppers
httpx's client (pool, request and response objects, header models, h11) plus a poll of Redis per
waiting shopper every 10-50 ms cost 12 CPU ms per confirmed order, almost as much as Mercato's own
14.6 ms. What is asked and checked is the same as through `checkout.gql`: the same documents, HTTP 200,
no GraphQL error, no payload error (`checkout.checked`).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar, cast

import httptools
import orjson
from redis.asyncio import Redis

from bench.validate import BadResponse
from mercato.cart.adapters.scripts import META_FIELDS

T = TypeVar("T")

KEY_HOLE = "@@idempotency-key@@"  # where each order's idempotency key goes in the prebuilt request
KEY_LENGTH = 16  # secrets.token_hex(8), as `checkout.checkout_once` makes its keys


class WireError(Exception):
    """The request failed on the wire (refused, closed, timed out): the shopper tries again."""


class _Connection(asyncio.Protocol):
    """One keep-alive connection: one request at a time (a shopper's loop is sequential)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.chunks: list[bytes] = []
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.closed = False
        self.keep_alive = True
        self.last_used = time.monotonic()

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without deriving from it.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(WireError(f"bad HTTP response: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(WireError(f"connection closed: {exc!r}" if exc else "connection closed by the server"))

    # httptools callbacks
    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)

    def on_message_complete(self) -> None:
        body = b"".join(self.chunks)
        self.chunks = []
        self.keep_alive = self.parser.should_keep_alive()
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result((self.parser.get_status_code(), body))

    def _fail(self, error: Exception) -> None:
        self.closed = True
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)
        if self.transport is not None:
            self.transport.close()

    def send(self, request: bytes) -> asyncio.Future[tuple[int, bytes]]:
        assert self.transport is not None and self.waiter is None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return self.waiter

    def usable(self, idle_limit: float) -> bool:
        return not self.closed and self.keep_alive and time.monotonic() - self.last_used < idle_limit

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class ShopperLine:
    """A shopper's own connection and prebuilt requests. `idle_limit`: a connection idle that long is
    replaced before use (below uvicorn's 5 s keep-alive timeout, as `checkout.KEEPALIVE_EXPIRY`), so
    a request never goes out on a connection the server is closing."""

    def __init__(self, host: str, port: int, token: str, idle_limit: float, timeout: float) -> None:
        self.host, self.port = host, port
        self.idle_limit, self.timeout = idle_limit, timeout
        self.head = (
            f"POST /graphql HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {token}\r\nContent-Length: "
        ).encode()
        self.conn: _Connection | None = None
        self.checkout_parts: tuple[bytes, bytes] = (b"", b"")
        self.add_request = b""

    def request(self, body: bytes) -> bytes:
        return self.head + str(len(body)).encode() + b"\r\n\r\n" + body

    def prepare(self, checkout_body: bytes, add_body: bytes) -> None:
        """Build the shopper's two requests once: the checkout around a hole for its key (a key is
        always 16 hex digits: the length does not change), and the cart line it puts back."""
        body_before, body_after = checkout_body.split(KEY_HOLE.encode())
        length = len(body_before) + KEY_LENGTH + len(body_after)
        self.checkout_parts = (self.head + str(length).encode() + b"\r\n\r\n" + body_before, body_after)
        self.add_request = self.request(add_body)

    def checkout_request(self) -> bytes:
        before, after = self.checkout_parts
        return before + secrets.token_hex(KEY_LENGTH // 2).encode() + after

    async def post(self, request: bytes) -> bytes:
        """The response body of a 200; BadResponse for another status, WireError on the wire."""
        conn = self.conn
        if conn is None or not conn.usable(self.idle_limit):
            if conn is not None:
                conn.close()
            conn = self.conn = await self._connect()
        try:
            status, body = await asyncio.wait_for(conn.send(request), self.timeout)
        except TimeoutError:
            conn.close()
            self.conn = None
            raise WireError(f"no answer in {self.timeout:g} s") from None
        except WireError:
            self.conn = None
            raise
        conn.last_used = time.monotonic()
        if status != 200:
            raise BadResponse(f"checkout: HTTP {status}: {body[:500]!r}")
        return body

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            _, conn = await loop.create_connection(_Connection, self.host, self.port)
        except OSError as exc:
            raise WireError(f"connect: {exc}") from None
        return conn

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


# One command for any number of carts: each cart hash's field count (0 when it is gone).
_FIELD_COUNTS = "local n = {} for i, key in ipairs(KEYS) do n[i] = redis.call('HLEN', key) end return n"


class CartWatch:
    """Waits for confirmed orders' carts to be emptied: each cart is read once right away, then,
    while any shopper waits, every `interval` seconds one script reads the field count of every
    waiting cart (a cart hash holds META_FIELDS fields besides its lines, see
    `cart.adapters.scripts`). The lag is measured to within the interval, as the per-shopper poll
    measured it to within its own (10 ms growing to 50 ms)."""

    def __init__(self, redis: Redis, key_prefix: str, interval: float = 0.01) -> None:
        self.redis = redis
        self.key_prefix = key_prefix
        self.interval = interval
        self.counts = redis.register_script(_FIELD_COUNTS)
        self.waiting: dict[str, tuple[float, float, asyncio.Future[float | None]]] = {}
        self.ticker: asyncio.Task[None] | None = None

    async def has_lines(self, cart: str) -> bool:
        (count,) = await self.counts(keys=[self.key_prefix + cart])
        return int(count) > META_FIELDS

    async def wait_empty(self, cart: str, limit: float) -> float | None:
        """Seconds until the cart held no line (None: still not empty after `limit` seconds). The
        cart is read at once first, as the per-shopper poll did: a cart already emptied when the
        answer came must not wait for the next tick (that added ~10 ms to the lag's median)."""
        started = time.perf_counter()
        if not await self.has_lines(cart):
            return time.perf_counter() - started
        future: asyncio.Future[float | None] = asyncio.get_running_loop().create_future()
        self.waiting[self.key_prefix + cart] = (started, limit, future)
        if self.ticker is None or self.ticker.done():
            self.ticker = asyncio.ensure_future(self._tick())
        return await future

    async def _tick(self) -> None:
        while self.waiting:
            keys = list(self.waiting)
            try:
                counts = await self.counts(keys=keys)
            except Exception as exc:  # noqa: BLE001 - hand the failure to every waiting shopper
                for _, _, future in self.waiting.values():
                    if not future.done():
                        future.set_exception(exc)
                self.waiting.clear()
                return
            now = time.perf_counter()
            for key, count in zip(keys, counts, strict=True):
                started, limit, future = self.waiting[key]
                if int(count) <= META_FIELDS:
                    del self.waiting[key]
                    future.set_result(now - started)
                elif now - started > limit:
                    del self.waiting[key]
                    future.set_result(None)
            if self.waiting:
                await asyncio.sleep(self.interval)

    async def close(self) -> None:
        if self.ticker is not None:
            self.ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.ticker


def json_body(query: str, variables: dict[str, Any]) -> bytes:
    return orjson.dumps({"query": query, "variables": variables})


def run_fast(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """`asyncio.run(main())` on uvloop's event loop when it is installed (uvicorn[standard] brings
    it): the loop's own overhead is a large part of a client that does little else."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main())
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main())
