"""The checkout driver's lean client (bench/checkout_wire.py): the requests it writes, the answers it
reads (in pieces, chunked), keep-alive and reconnection against a local HTTP server, and the cart
watcher against the cart store in the real Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import orjson
import pytest
from bench.checkout import checked
from bench.checkout_wire import KEY_HOLE, CartWatch, ShopperLine, WireError, json_body, run_fast
from bench.validate import BadResponse
from redis.asyncio import Redis

from mercato.cart.adapters.redis_store import RedisCartStore
from mercato.cart.domain.model import Cart, CartLimits
from mercato.platform.config import Settings

OK = b'{"data":{"checkoutComplete":{"order":{"id":"o1","status":"CONFIRMED","reason":null},"errors":[]}}}'

Answer = Callable[[bytes], list[bytes]]  # request body -> the pieces written back


def _content_length(body: bytes) -> list[bytes]:
    head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n" % len(OK)
    whole = head + OK
    return [whole[:30], whole[30:70], whole[70:]]  # the client must put pieces together


class FakeServer:
    """Reads requests (Content-Length bodies), records them per connection, answers with `answer`."""

    def __init__(self, answer: Answer = _content_length, close_after: int = 0) -> None:
        self.answer = answer
        self.close_after = close_after  # close a connection after that many answers (0: never)
        self.requests: list[tuple[int, bytes, bytes]] = []  # (connection number, head, body)
        self.connections = 0
        self.server: asyncio.Server | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number, answered = self.connections, 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                )
                body = await reader.readexactly(length)
                self.requests.append((number, head, body))
                for piece in self.answer(body):
                    writer.write(piece)
                    await writer.drain()
                answered += 1
                if self.close_after and answered >= self.close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])


@pytest.fixture
async def fake() -> AsyncIterator[FakeServer]:
    server = FakeServer()
    server.server = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    yield server
    server.server.close()


def _line(port: int, idle_limit: float = 2.0) -> ShopperLine:
    line = ShopperLine("127.0.0.1", port, "tok-1", idle_limit, timeout=5)
    line.prepare(
        json_body("mutation($k: String!) { checkoutComplete }", {"c": "cart-1", "k": KEY_HOLE}),
        json_body("mutation { cartLinesAdd }", {"c": "cart-1"}),
    )
    return line


async def test_checkout_requests_carry_the_token_a_fresh_key_each_and_share_one_connection(
    fake: FakeServer,
) -> None:
    # Given a shopper's line to a server
    line = _line(fake.port)

    # When it checks out twice and puts its line back once
    answers = [await line.post(line.checkout_request()) for _ in range(2)]
    answers.append(await line.post(line.add_request))
    line.close()

    # Then every answer was read whole, over one connection, and each request is well formed
    assert answers == [OK, OK, OK]
    assert [number for number, _, _ in fake.requests] == [1, 1, 1]
    heads = [head for _, head, _ in fake.requests]
    assert all(b"\r\nAuthorization: Bearer tok-1\r\n" in head for head in heads)
    bodies = [orjson.loads(body) for _, _, body in fake.requests]
    keys = [b["variables"]["k"] for b in bodies[:2]]
    assert [len(k) for k in keys] == [16, 16]
    assert keys[0] != keys[1]
    assert all(int(k, 16) >= 0 for k in keys)
    assert bodies[0]["variables"]["c"] == "cart-1"
    assert bodies[2] == {"query": "mutation { cartLinesAdd }", "variables": {"c": "cart-1"}}
    assert checked(answers[0])["checkoutComplete"]["order"]["status"] == "CONFIRMED"


def test_the_line_works_on_the_loop_the_driver_runs_on() -> None:
    # The measured levels run on uvloop (`run_fast`), whose transports are not asyncio's classes.
    async def go() -> list[bytes]:
        server = FakeServer()
        server.server = await asyncio.start_server(server.handle, "127.0.0.1", 0)
        line = _line(server.port)
        try:
            return [await line.post(line.checkout_request()), await line.post(line.add_request)]
        finally:
            line.close()
            server.server.close()

    assert run_fast(go) == [OK, OK]


async def test_a_chunked_answer_is_read_whole(fake: FakeServer) -> None:
    def chunked(_body: bytes) -> list[bytes]:
        head = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
        return [head, b"%x\r\n%s\r\n" % (20, OK[:20]), b"%x\r\n%s\r\n0\r\n\r\n" % (len(OK) - 20, OK[20:])]

    fake.answer = chunked
    line = _line(fake.port)

    assert [await line.post(line.add_request) for _ in range(2)] == [OK, OK]
    line.close()
    assert fake.connections == 1


async def test_a_connection_the_server_closed_or_left_idle_is_replaced(fake: FakeServer) -> None:
    # Given a server that closes each connection after one answer, and a line replacing idle ones
    fake.close_after = 1
    line = _line(fake.port)

    # When the shopper sends three requests (letting the close arrive between them)
    for _ in range(3):
        assert await line.post(line.add_request) == OK
        await asyncio.sleep(0.05)
    line.close()

    # Then each went out on a connection of its own, none failed
    assert [number for number, _, _ in fake.requests] == [1, 2, 3]


async def test_an_idle_connection_is_not_reused(fake: FakeServer) -> None:
    line = _line(fake.port, idle_limit=0.0)

    for _ in range(2):
        assert await line.post(line.add_request) == OK
    line.close()

    assert [number for number, _, _ in fake.requests] == [1, 2]


async def test_another_status_is_a_bad_response_and_a_cut_is_a_wire_error(fake: FakeServer) -> None:
    fake.answer = lambda _body: [b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 4\r\n\r\noops"]
    line = _line(fake.port)
    with pytest.raises(BadResponse, match="HTTP 500"):
        await line.post(line.add_request)

    fake.answer = lambda _body: [b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\ncut"]
    fake.close_after = 1
    with pytest.raises(WireError, match="closed"):
        await line.post(line.add_request)
    line.close()


def test_payload_errors_and_graphql_errors_are_bad_responses() -> None:
    with pytest.raises(BadResponse, match="payload errors"):
        checked(b'{"data":{"cartLinesAdd":{"errors":[{"code":"OUT_OF_STOCK","message":"no"}]}}}')
    with pytest.raises(BadResponse, match="GraphQL errors"):
        checked(b'{"data":null,"errors":[{"message":"boom"}]}')
    with pytest.raises(BadResponse, match="not JSON"):
        checked(b"<html>")


async def test_the_watch_sees_carts_emptied_and_gives_up_on_full_ones(
    redis: Redis, settings: Settings
) -> None:
    # Given two carts holding a line each
    store = RedisCartStore(redis, settings.namespace, ttl_seconds=60)
    now = datetime.now(UTC)
    emptied = await store.create(Cart.new(None, now))
    full = await store.create(Cart.new(None, now))
    for cart in (emptied, full):
        await store.add(cart.id, None, {"SKU-W": 1}, CartLimits(max_lines=5, max_quantity=5), now)
    watch = CartWatch(redis, store.prefix, interval=0.005)

    # When one is emptied while both are watched
    waits = [
        asyncio.ensure_future(watch.wait_empty(str(cart.id), limit))
        for cart, limit in ((emptied, 5.0), (full, 0.2))
    ]
    await asyncio.sleep(0.05)
    assert await watch.has_lines(str(emptied.id))
    await store.remove(emptied.id, None, ["SKU-W"], now)
    lag, gave_up = await asyncio.gather(*waits)
    await watch.close()

    # Then the emptied one is reported after it was emptied, the other one not at all
    assert lag is not None and lag >= 0.05
    assert gave_up is None
    assert not await watch.has_lines(str(emptied.id))
    assert await watch.has_lines(str(full.id))
    assert not await watch.has_lines(str(uuid.uuid4()))  # a cart gone (expired) holds no line


async def test_a_cart_already_empty_is_read_at_once_without_waiting_for_a_tick(
    redis: Redis, settings: Settings
) -> None:
    # Given an empty cart and a watch that ticks rarely
    store = RedisCartStore(redis, settings.namespace, ttl_seconds=60)
    cart = await store.create(Cart.new(None, datetime.now(UTC)))
    watch = CartWatch(redis, store.prefix, interval=3600.0)

    # When a shopper waits for it
    lag = await watch.wait_empty(str(cart.id), 5.0)

    # Then it is answered by the first read: no shopper was left waiting, no tick ran
    assert lag is not None
    assert watch.waiting == {}
    assert watch.ticker is None
