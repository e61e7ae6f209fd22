"""A counting TCP proxy in front of PostgreSQL: every process of the server under test connects
through it, so the SQL statements and transactions of all services (relays and consumers included)
are counted exactly, on the wire, without any change to the server or to PostgreSQL's settings.

It reads the frontend (client → server) half of the protocol: `E` (Execute, one per statement of
the extended protocol asyncpg uses) and `Q` (a simple query: asyncpg sends BEGIN, COMMIT and ROLLBACK
that way). It refuses TLS (`N` to SSLRequest/GSSENCRequest) so the bytes stay readable; it is only
used on loopback, and only for the cost measurement (it adds a hop to every round trip).
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import threading
from dataclasses import dataclass, fields

_SSL_REQUEST = 80877103
_GSS_REQUEST = 80877104


@dataclass
class WireCounts:
    statements: int = 0  # Execute messages + simple queries other than transaction control
    begins: int = 0
    commits: int = 0
    rollbacks: int = 0

    def minus(self, other: WireCounts) -> WireCounts:
        return WireCounts(*(getattr(self, f.name) - getattr(other, f.name) for f in fields(self)))


class CountingProxy:
    """Listens on 127.0.0.1:<port> in a thread of its own; forwards to `host:port`."""

    def __init__(self, host: str, port: int) -> None:
        self.upstream = (host, port)
        self.counts = WireCounts()
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="pg-proxy", daemon=True)
        self._server: asyncio.Server | None = None
        self.port = 0

    def snapshot(self) -> WireCounts:
        with self._lock:
            return WireCounts(**{f.name: getattr(self.counts, f.name) for f in fields(self.counts)})

    def start(self) -> None:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._listen(), self._loop)
        self.port = future.result(timeout=10)

    def stop(self) -> None:
        if self._server is not None:
            server = self._server
            asyncio.run_coroutine_threadsafe(self._close(server), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    async def _close(self, server: asyncio.Server) -> None:
        server.close()
        for task in asyncio.all_tasks():
            if task is not asyncio.current_task():
                task.cancel()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), 5)

    async def _listen(self) -> int:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_writer: asyncio.StreamWriter | None = None
        try:
            while True:  # the startup phase: untyped messages, TLS/GSS requests answered "no"
                head = await reader.readexactly(8)
                length, code = struct.unpack("!ii", head)
                body = await reader.readexactly(length - 8)
                if code in (_SSL_REQUEST, _GSS_REQUEST):
                    writer.write(b"N")
                    await writer.drain()
                    continue
                break
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.upstream)
            upstream_writer.write(head + body)
            await asyncio.gather(self._frontend(reader, upstream_writer), self._pipe(upstream_reader, writer))
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            for w in (writer, upstream_writer):
                if w is not None:
                    w.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()

    async def _frontend(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readexactly(5)
                kind = head[:1]
                body = await reader.readexactly(struct.unpack("!i", head[1:])[0] - 4)
                if kind == b"E":
                    self._count("statements")
                elif kind == b"Q":
                    self._count(_simple_query_kind(body))
                writer.write(head + body)
                await writer.drain()
        finally:
            writer.close()

    def _count(self, name: str) -> None:
        with self._lock:
            setattr(self.counts, name, getattr(self.counts, name) + 1)


def _simple_query_kind(body: bytes) -> str:
    word = body.rstrip(b"\x00").decode(errors="replace").strip().split(None, 1)
    first = word[0].rstrip(";").upper() if word else ""
    if first in ("BEGIN", "START"):
        return "begins"
    if first in ("COMMIT", "END"):
        return "commits"
    if first in ("ROLLBACK", "ABORT"):
        return "rollbacks"
    return "statements"
