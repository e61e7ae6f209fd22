"""A counting TCP proxy in front of PostgreSQL: every process of the server under test connects
through it, so the SQL statements and transactions of all services (relays and consumers included)
are counted exactly, on the wire, without any change to the server or to PostgreSQL's settings.

It reads the frontend (client → server) half of the protocol: `E` (Execute, one per statement of
the extended protocol asyncpg uses) and `Q` (a simple query: asyncpg sends BEGIN, COMMIT and ROLLBACK
that way). It refuses TLS (`N` to SSLRequest/GSSENCRequest) so the bytes stay readable; it is only
used on loopback.

It runs in a process of its own (`python -m bench.pgwire`, on uvloop when available) and counts into
a small file that both processes map: the throughput runs send their database traffic through it,
and a proxy sharing the load driver's GIL would slow both. Chunks are forwarded as they arrive and
scanned for message boundaries afterwards: one read and one write per chunk, not an await per message.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import mmap
import os
import signal
import struct
import subprocess
import sys
import tempfile
from dataclasses import dataclass, fields
from pathlib import Path

_SSL_REQUEST = 80877103
_GSS_REQUEST = 80877104
_STATEMENTS, _BEGINS, _COMMITS, _ROLLBACKS = range(4)
_SLOTS = {"statements": _STATEMENTS, "begins": _BEGINS, "commits": _COMMITS, "rollbacks": _ROLLBACKS}
_SIZE = 32  # four signed 64-bit counters


@dataclass
class WireCounts:
    statements: int = 0  # Execute messages + simple queries other than transaction control
    begins: int = 0
    commits: int = 0
    rollbacks: int = 0

    def minus(self, other: WireCounts) -> WireCounts:
        return WireCounts(*(getattr(self, f.name) - getattr(other, f.name) for f in fields(self)))


class CountingProxy:
    """Listens on 127.0.0.1:<port> in a child process; forwards to `host:port`."""

    def __init__(self, host: str, port: int) -> None:
        self.upstream = (host, port)
        self._proc: subprocess.Popen[str] | None = None
        self._file: Path | None = None
        self._map: mmap.mmap | None = None
        self.port = 0

    def snapshot(self) -> WireCounts:
        if self._map is None:
            return WireCounts()
        return WireCounts(*struct.unpack_from("!4q", self._map))

    def cpu_seconds(self) -> float:
        """User + system CPU the proxy process has used so far (what it takes from the machine)."""
        if self._proc is None:
            return 0.0
        try:
            with open(f"/proc/{self._proc.pid}/stat") as f:
                fields_ = f.read().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields_[11]) + int(fields_[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime

    def start(self) -> None:
        shm = Path("/dev/shm")
        fd, name = tempfile.mkstemp(prefix="bench-pgwire-", dir=shm if shm.is_dir() else None)
        with os.fdopen(fd, "wb") as out:
            out.write(bytes(_SIZE))
        self._file = Path(name)
        with self._file.open("r+b") as f:
            self._map = mmap.mmap(f.fileno(), _SIZE)
        argv = [sys.executable, "-m", "bench.pgwire", self.upstream[0], str(self.upstream[1]), name]
        root = Path(__file__).resolve().parent.parent
        self._proc = subprocess.Popen(argv, cwd=root, stdout=subprocess.PIPE, text=True)
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()  # the child prints its port once it listens
        if not line.strip().isdigit():
            self.stop()
            raise RuntimeError(f"the counting proxy did not start (it said {line!r})")
        self.port = int(line)

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(5)
            if self._proc.stdout is not None:
                self._proc.stdout.close()
            self._proc = None
        if self._map is not None:
            self._map.close()
            self._map = None
        if self._file is not None:
            self._file.unlink(missing_ok=True)
            self._file = None


class _Proxy:
    def __init__(self, upstream: tuple[str, int], counts: mmap.mmap) -> None:
        self.upstream = upstream
        self.counts = counts  # [statements, begins, commits, rollbacks]; this process the only writer

    async def serve(self) -> None:
        server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        print(server.sockets[0].getsockname()[1], flush=True)
        async with server:
            await server.serve_forever()

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
            await asyncio.gather(self._frontend(reader, upstream_writer), _pipe(upstream_reader, writer))
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            for w in (writer, upstream_writer):
                if w is not None:
                    w.close()

    async def _frontend(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        scanner = FrontendScanner()
        try:
            while data := await reader.read(65536):
                writer.write(data)
                found = scanner.feed(data)
                if any(found):
                    values = struct.unpack_from("!4q", self.counts)
                    struct.pack_into(
                        "!4q", self.counts, 0, *(v + n for v, n in zip(values, found, strict=True))
                    )
                await writer.drain()
        finally:
            writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


class FrontendScanner:
    """Finds the typed messages in a stream of frontend bytes fed in arbitrary chunks. Only a simple
    query's text is kept (to tell BEGIN/COMMIT/ROLLBACK from other statements); any other message's
    body is skipped without being buffered."""

    def __init__(self) -> None:
        self._pending = b""  # an incomplete header, or an incomplete simple query
        self._skip = 0  # bytes left of a message whose body does not matter

    def feed(self, data: bytes) -> list[int]:
        """Counts [statements, begins, commits, rollbacks] of the messages completed by `data`."""
        found = [0, 0, 0, 0]
        if self._skip >= len(data):
            self._skip -= len(data)
            return found
        buf = self._pending + data[self._skip :]
        self._skip, self._pending = 0, b""
        pos, size = 0, len(buf)
        while size - pos >= 5:
            kind = buf[pos]
            end = pos + 1 + struct.unpack_from("!i", buf, pos + 1)[0]
            if kind == 0x45:  # 'E'
                found[_STATEMENTS] += 1
            elif kind == 0x51:  # 'Q': needs its text
                if end > size:
                    break
                found[_SLOTS[simple_query_kind(buf[pos + 5 : end])]] += 1
            if end > size:  # a message whose body does not matter, cut by the chunk's end
                self._skip = end - size
                return found
            pos = end
        self._pending = buf[pos:]
        return found


def simple_query_kind(body: bytes) -> str:
    word = body.rstrip(b"\x00").decode(errors="replace").strip().split(None, 1)
    first = word[0].rstrip(";").upper() if word else ""
    if first in ("BEGIN", "START"):
        return "begins"
    if first in ("COMMIT", "END"):
        return "commits"
    if first in ("ROLLBACK", "ABORT"):
        return "rollbacks"
    return "statements"


def _die_with_parent() -> None:
    """A bench killed outright must not leave its proxy listening (Linux: PR_SET_PDEATHSIG)."""
    parent = os.getppid()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1: PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before the call
        sys.exit(0)


def main(argv: list[str]) -> None:
    """The child: `python -m bench.pgwire HOST PORT COUNTS_FILE`."""
    host, port, path = argv
    _die_with_parent()
    try:
        import uvloop  # the servers under test run on it too

        uvloop.install()
    except ImportError:
        pass
    with open(path, "r+b") as f:
        counts = mmap.mmap(f.fileno(), _SIZE)
    asyncio.run(_Proxy((host, int(port)), counts).serve())


if __name__ == "__main__":
    main(sys.argv[1:])
