"""The fault runs' TCP proxy (bench/chaos/proxy.py), in its own process in front of a loopback echo
server: it forwards both ways, a cut aborts open connections and refuses new ones until healed, a
stalled link keeps connections open and accepts new ones but forwards nothing until healed, a delayed
link still forwards everything, and the upstream can be moved. And the run's private PostgreSQL behind
it: an outage stops the server, the heal starts it again on the same port and data directory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
from bench.chaos.engines import PrivatePostgres
from bench.chaos.proxy import ProxyProcess


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65_536):
        writer.write(data)
        await writer.drain()
    writer.close()


@pytest.fixture
async def echo() -> AsyncIterator[int]:
    server = await asyncio.start_server(_echo, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


@pytest.fixture
def proxy(echo: int) -> Iterator[ProxyProcess]:
    process = ProxyProcess({"echo": f"127.0.0.1:{echo}"})
    yield process
    process.stop()


async def _round_trip(port: int, payload: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(payload)
        await writer.drain()
        return await reader.readexactly(len(payload))
    finally:
        writer.close()


async def test_the_proxy_forwards_both_ways(proxy: ProxyProcess) -> None:
    payload = b"x" * 200_000  # many chunks
    assert await _round_trip(proxy.ports["echo"], payload) == payload


async def test_a_cut_aborts_open_connections_and_refuses_new_ones_until_healed(proxy: ProxyProcess) -> None:
    port = proxy.ports["echo"]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"before")
    assert await reader.readexactly(6) == b"before"

    proxy.cut("echo")

    assert await reader.read(100) == b""  # the open connection was aborted
    writer.close()
    with pytest.raises((asyncio.IncompleteReadError, ConnectionError)):
        await _round_trip(port, b"during")
    proxy.heal("echo")
    assert await _round_trip(port, b"after") == b"after"


async def test_a_stall_forwards_nothing_on_open_or_new_connections_until_healed(proxy: ProxyProcess) -> None:
    port = proxy.ports["echo"]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"before")
    assert await reader.readexactly(6) == b"before"

    proxy.stall("echo")
    writer.write(b"held")
    await writer.drain()
    late_reader, late_writer = await asyncio.open_connection("127.0.0.1", port)  # accepted, not refused
    late_writer.write(b"late")
    await late_writer.drain()

    for silent in (reader, late_reader):  # nothing comes back while stalled (a bound, not a measure)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.3):
                await silent.read(100)
    proxy.heal("echo")
    assert await reader.readexactly(4) == b"held"  # what was held flows on, as after a partition
    assert await late_reader.readexactly(4) == b"late"
    writer.close()
    late_writer.close()


async def test_a_cut_while_stalled_aborts_the_connections_waiting_on_it(proxy: ProxyProcess) -> None:
    port = proxy.ports["echo"]
    proxy.stall("echo")
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"waiting")
    await writer.drain()

    proxy.cut("echo")

    assert await reader.read(100) == b""  # aborted, not left waiting for a heal
    writer.close()
    proxy.heal("echo")
    assert await _round_trip(port, b"after") == b"after"


async def test_a_delayed_link_still_forwards_everything(proxy: ProxyProcess) -> None:
    proxy.delay("echo", 0.05)
    assert await _round_trip(proxy.ports["echo"], b"slow" * 1000) == b"slow" * 1000


async def test_the_upstream_can_move(proxy: ProxyProcess) -> None:
    async def shout(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write((await reader.read(100)).upper())
        await writer.drain()
        writer.close()

    other = await asyncio.start_server(shout, "127.0.0.1", 0)
    try:
        proxy.upstream("echo", f"127.0.0.1:{other.sockets[0].getsockname()[1]}")
        assert await _round_trip(proxy.ports["echo"], b"moved") == b"MOVED"
    finally:
        other.close()
        await other.wait_closed()


async def test_a_private_postgres_restarts_on_its_port_with_its_data_behind_the_proxy() -> None:
    engine = PrivatePostgres()
    proxy: ProxyProcess | None = None
    try:
        await asyncio.to_thread(engine.start)
        port = engine.port
        proxy = ProxyProcess({"postgres": f"127.0.0.1:{port}"})
        dsn = f"postgresql://postgres@{proxy.address('postgres')}/postgres"
        before = await asyncpg.connect(dsn)
        await before.execute("CREATE TABLE kept (n int); INSERT INTO kept VALUES (7)")

        await asyncio.to_thread(engine.stop)  # the outage: a real stop of the server

        assert not engine.running
        with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError, OSError)):
            await before.fetchval("SELECT n FROM kept")
        assert before.is_closed()
        with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError, OSError)):
            await asyncpg.connect(dsn, timeout=5)

        await asyncio.to_thread(engine.start)  # healed: started again

        assert engine.running
        assert engine.port == port
        after = await asyncpg.connect(dsn)
        try:
            assert await after.fetchval("SELECT n FROM kept") == 7  # the same data directory
        finally:
            await after.close()
    finally:
        if proxy is not None:
            proxy.stop()
        await asyncio.to_thread(engine.remove)
    assert not engine.dir.exists()
