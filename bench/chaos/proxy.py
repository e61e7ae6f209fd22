"""A fault-injecting TCP proxy on loopback: every service reaches PostgreSQL, NATS, Redis (and, for some
links, another service's gRPC port) through one, so the harness can add latency or cut the link.

A cut aborts every connection through the link and refuses new ones (accepted and closed at once)
until healed: what an engine that is down looks like to a client. A stall is the silent kind of outage
(a partition dropping packets, a frozen engine): connections stay open and new ones are accepted, but
nothing is forwarded either way until healed, when what was held flows on — only a client's own
timeouts notice it. A delay holds each chunk that long before forwarding it, in both directions.

It runs in a process of its own (`python -m bench.chaos.proxy name=host:port ...`), so the load
generator's event loop never slows the traffic it forwards: it prints `{name: port}` as one JSON line,
then obeys one command per line on stdin (`cut NAME`, `stall NAME`, `heal NAME`, `delay NAME SECONDS`,
`upstream NAME HOST:PORT`), answering `ok`; it exits when stdin closes (the harness died or stopped it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
from dataclasses import dataclass, field

CHUNK = 65_536


@dataclass
class Link:
    name: str
    upstream: tuple[str, int]
    delay: float = 0.0
    cut: bool = False
    connections: set[asyncio.StreamWriter] = field(default_factory=set)
    flowing: asyncio.Event = field(default_factory=asyncio.Event)  # cleared while stalled

    def __post_init__(self) -> None:
        self.flowing.set()

    def sever(self) -> None:
        for writer in list(self.connections):
            writer.transport.abort()
        self.connections.clear()

    async def accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        if self.cut:
            client_writer.transport.abort()
            return
        self.connections.add(client_writer)  # a cut while it waits aborts it too
        try:
            await self.flowing.wait()  # a stalled link accepts, then answers nothing
            if self.cut or client_writer.transport.is_closing():
                client_writer.transport.abort()
                return
            await self._forward(client_reader, client_writer)
        finally:
            self.connections.discard(client_writer)

    async def _forward(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            client_writer.transport.abort()
            return
        pair = {client_writer, server_writer}
        self.connections |= pair
        try:
            await asyncio.gather(
                self._pump(client_reader, server_writer), self._pump(server_reader, client_writer)
            )
        finally:
            self.connections -= pair
            for writer in pair:
                writer.transport.abort()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while chunk := await reader.read(CHUNK):
                await self.flowing.wait()
                if self.delay:
                    await asyncio.sleep(self.delay)
                writer.write(chunk)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:  # one side ended: end the other too (half-closed links confuse drivers)
            writer.transport.abort()


def _address(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host, int(port)


async def serve(upstreams: dict[str, tuple[str, int]]) -> None:
    links = {name: Link(name, address) for name, address in upstreams.items()}
    servers = {name: await asyncio.start_server(link.accept, "127.0.0.1", 0) for name, link in links.items()}
    ports = {name: server.sockets[0].getsockname()[1] for name, server in servers.items()}
    print(json.dumps(ports), flush=True)
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    while line := (await stdin.readline()).decode().split():
        verb, name, *rest = line
        link = links[name]
        if verb == "cut":
            link.cut = True
            link.sever()
        elif verb == "stall":
            link.flowing.clear()
        elif verb == "heal":
            link.cut, link.delay = False, 0.0
            link.flowing.set()
        elif verb == "delay":
            link.delay = float(rest[0])
        elif verb == "upstream":
            link.upstream = _address(rest[0])
        print("ok", flush=True)
    for server in servers.values():
        server.close()
    for link in links.values():
        link.sever()


class ProxyProcess:
    """The harness's handle on the proxy process."""

    def __init__(self, upstreams: dict[str, str]) -> None:
        argv = [sys.executable, "-m", "bench.chaos.proxy", *(f"{n}={a}" for n, a in upstreams.items())]
        self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        self.ports: dict[str, int] = json.loads(self.process.stdout.readline())

    def address(self, name: str) -> str:
        return f"127.0.0.1:{self.ports[name]}"

    def command(self, *words: object) -> None:
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None
        stdin.write(" ".join(map(str, words)) + "\n")
        stdin.flush()
        if stdout.readline().strip() != "ok":
            raise RuntimeError(f"chaos proxy refused {words!r}")

    def cut(self, name: str) -> None:
        self.command("cut", name)

    def stall(self, name: str) -> None:
        self.command("stall", name)

    def heal(self, name: str) -> None:
        self.command("heal", name)

    def delay(self, name: str, seconds: float) -> None:
        self.command("delay", name, seconds)

    def upstream(self, name: str, address: str) -> None:
        self.command("upstream", name, address)

    def stop(self) -> None:
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


def main() -> None:
    upstreams = {arg.split("=", 1)[0]: _address(arg.split("=", 1)[1]) for arg in sys.argv[1:]}
    try:
        import uvloop

        uvloop.run(serve(upstreams))
    except ImportError:
        asyncio.run(serve(upstreams))


if __name__ == "__main__":
    main()
