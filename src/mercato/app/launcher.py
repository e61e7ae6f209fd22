"""`mercato up`: the distributed topology on one machine, one operating-system process per service.

The launcher starts `mercato serve <context>` for every context and `mercato serve gateway`, each with
its own ports and the others' addresses, restarts a process that dies (with backoff), reports each
one's state and stops them all — SIGTERM first, so they drain, SIGKILL for what does not stop in time.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from mercato.app.components import CONTEXTS
from mercato.app.topology import health_status
from mercato.platform.config import Settings
from mercato.platform.grpc.client import create_channel
from mercato.platform.grpc.tls import channel_tls

GATEWAY = "gateway"
SERVICES = (*CONTEXTS, GATEWAY)
STOP_GRACE_SECONDS = 10.0
PR_SET_PDEATHSIG = 1  # prctl(2)
# Tells a launched `mercato serve` which process launched it (see `stop_with_parent`).
PARENT_VARIABLE = "MERCATO_LAUNCHER_PID"
HEALTH_WAIT_SECONDS = 1.0
MISSES_BEFORE_SILENT = 3
MAX_RESTART_DELAY_SECONDS = 30.0


def settings_environment(settings: Settings) -> dict[str, str]:
    """`settings` as MERCATO_* variables: every value that differs from its default, and the data dir."""
    env = {"MERCATO_DATA_DIR": str(settings.data_path)}
    for name, info in Settings.model_fields.items():
        value = getattr(settings, name)
        if value is not None and value != info.default and name != "data_dir":
            env[f"MERCATO_{name.upper()}"] = str(value)
    return env


@dataclass(frozen=True)
class Ports:
    http: int
    grpc: int | None = None  # the gateway has none


def default_ports(http_port: int, grpc_base_port: int) -> dict[str, Ports]:
    """The gateway on `http_port`; context i on `http_port + 1 + i` (health) and `grpc_base_port + i`."""
    ports = {name: Ports(http_port + 1 + i, grpc_base_port + i) for i, name in enumerate(CONTEXTS)}
    ports[GATEWAY] = Ports(http_port)
    return ports


@dataclass
class ServiceStatus:
    name: str
    state: str  # starting, serving, not serving, exited (code N), restarting, stopped
    pid: int | None
    restarts: int
    address: str


@dataclass
class _Managed:
    name: str
    ports: Ports
    process: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None
    restarts: int = 0
    restart_at: float | None = None
    exit_code: int | None = None
    channel: Any = None
    state: str = "starting"  # the last one seen
    misses: int = 0  # health checks in a row that got no answer


@dataclass
class Launcher:
    """`start()`, then `supervise()` and `status()` as often as wanted, and `stop()`.

    `settings` must hold resolved engine URLs and the auth secret: every process gets them through
    its environment, with its own ports and the addresses of the services it calls.
    """

    settings: Settings
    ports: Mapping[str, Ports]
    log_dir: Path
    restart: bool = True
    host: str = "127.0.0.1"
    python: str = sys.executable
    gateway_workers: int = 1
    _services: dict[str, _Managed] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        missing = [name for name in SERVICES if name not in self.ports]
        if missing:
            raise ValueError(f"no ports for {', '.join(missing)}")
        self._services = {name: _Managed(name, self.ports[name]) for name in SERVICES}

    def environment(self, name: str) -> dict[str, str]:
        """What one process is started with: this launcher's settings, its ports, the others' addresses."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("MERCATO_")}
        env.update(settings_environment(self.settings))
        env[PARENT_VARIABLE] = str(os.getpid())
        env["MERCATO_HTTP_HOST"] = self.host
        env["MERCATO_HTTP_PORT"] = str(self.ports[name].http)
        grpc = self.ports[name].grpc
        if grpc is not None:
            env["MERCATO_GRPC_HOST"] = self.host
            env["MERCATO_GRPC_PORT"] = str(grpc)
        for context in CONTEXTS:
            env[f"MERCATO_{context.upper()}_ADDRESS"] = self.address(context)
        return env

    def address(self, name: str) -> str:
        ports = self.ports[name]
        return f"{self.host}:{ports.grpc if ports.grpc is not None else ports.http}"

    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for name in SERVICES:
            self.spawn(name)

    def spawn(self, name: str) -> None:
        managed = self._services[name]
        if managed.process is not None and managed.process.poll() is None:
            return
        if managed.log is None:
            managed.log = (self.log_dir / f"{name}.log").open("ab")
        workers = (
            ["--workers", str(self.gateway_workers)] if name == GATEWAY and self.gateway_workers > 1 else []
        )
        managed.process = subprocess.Popen(
            [self.python, "-m", "mercato.cli", "serve", name, *workers],
            env=self.environment(name),
            stdin=subprocess.DEVNULL,
            stdout=managed.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C in the terminal reaches the launcher only; it stops them
        )
        managed.exit_code, managed.restart_at = None, None
        managed.state, managed.misses = "starting", 0

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Send `sig` to one service's process (what an operator or a crash would do)."""
        process = self._services[name].process
        if process is not None and process.poll() is None:
            process.send_signal(sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=STOP_GRACE_SECONDS)

    def pid(self, name: str) -> int | None:
        process = self._services[name].process
        return process.pid if process is not None and process.poll() is None else None

    def supervise(self, now: float | None = None) -> list[str]:
        """Restart (with exponential backoff) what exited; returns the names restarted now."""
        now = time.monotonic() if now is None else now
        restarted: list[str] = []
        for managed in self._services.values():
            process = managed.process
            if process is None or process.poll() is None:
                continue
            managed.exit_code = process.returncode
            if not self.restart:
                continue
            if managed.restart_at is None:
                delay = min(MAX_RESTART_DELAY_SECONDS, 0.5 * 2**managed.restarts)
                managed.restart_at = now + delay
            elif now >= managed.restart_at:
                managed.restarts += 1
                self.spawn(managed.name)
                restarted.append(managed.name)
        return restarted

    async def status(self) -> list[ServiceStatus]:
        return list(await asyncio.gather(*(self._status(m) for m in self._services.values())))

    async def _status(self, managed: _Managed) -> ServiceStatus:
        process = managed.process
        if process is None:
            state = "stopped"
        elif process.poll() is not None:
            state = f"exited ({process.returncode})"
            if managed.restart_at is not None:
                state += ", restarting"
        else:
            state = self._seen(managed, await self._health(managed))
        pid = process.pid if process is not None and process.poll() is None else None
        return ServiceStatus(managed.name, state, pid, managed.restarts, self.address(managed.name))

    async def _health(self, managed: _Managed) -> str | None:
        """`serving`, `not serving`, or None when the process did not answer in time."""
        if managed.ports.grpc is None:
            return "serving" if await _http_ok(self.host, managed.ports.http, "/healthz") else None
        if managed.channel is None:
            managed.channel = create_channel(
                self.address(managed.name), credentials=channel_tls(self.settings)
            )
        health = await health_status(managed.channel, wait_seconds=HEALTH_WAIT_SECONDS)
        answer = {"SERVING": "serving", "NOT_SERVING": "not serving"}.get(health)
        if answer is None and managed.state == "starting":
            # A channel that met a closed port waits out a reconnect backoff; a starting service is
            # better asked on a fresh one each time, so it shows as serving as soon as it is.
            await managed.channel.close()
            managed.channel = None
        return answer

    @staticmethod
    def _seen(managed: _Managed, answer: str | None) -> str:
        """A busy machine can delay one health answer: keep the last state until a few in a row are
        missing, then say so (a process that never answered yet is `starting`)."""
        if answer is not None:
            managed.state, managed.misses = answer, 0
        else:
            managed.misses += 1
            if managed.state != "starting" and managed.misses >= MISSES_BEFORE_SILENT:
                managed.state = "not answering"
        return managed.state

    async def wait_serving(self, names: Sequence[str] = SERVICES, *, within: float = 60.0) -> None:
        """Return once every one of `names` is serving; raise TimeoutError naming those that are not."""
        deadline = time.monotonic() + within
        while True:
            pending = [s for s in await self.status() if s.name in names and s.state != "serving"]
            if not pending:
                return
            if time.monotonic() > deadline:
                described = ", ".join(f"{s.name}: {s.state}" for s in pending)
                raise TimeoutError(f"not serving after {within:.0f} s: {described} (logs in {self.log_dir})")
            await asyncio.sleep(0.2)

    async def stop(self) -> None:
        """SIGTERM every process (the gateway first, so it stops taking requests), SIGKILL stragglers."""
        order = [GATEWAY, *reversed(CONTEXTS)]
        running = [self._services[n].process for n in order]
        for process in running:
            if process is not None and process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for process in running:
            if process is None:
                continue
            await _exited(process, deadline)
            if process.poll() is None:
                process.kill()
                process.wait()
        for managed in self._services.values():
            if managed.channel is not None:
                await managed.channel.close()
                managed.channel = None
            if managed.log is not None:
                managed.log.close()
                managed.log = None
            managed.restart_at = None


def stop_with_parent(parent_pid: int) -> None:
    """Called by a launched service at start: SIGTERM it when the launcher dies, even by SIGKILL, so no
    service outlives a `mercato up` that could not stop it (Linux; elsewhere nothing is set).

    Set in the child itself rather than in a `preexec_fn`: that would make subprocess fork without
    vfork, and gRPC's fork handlers then crash the child (its poller meets the closed epoll fd)."""
    if sys.platform != "linux":
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent_pid:  # the launcher died before the line above
        os.kill(os.getpid(), signal.SIGTERM)


async def _exited(process: subprocess.Popen[bytes], deadline: float) -> None:
    """Wait (without blocking the loop) until `process` exits or `deadline` passes."""
    while process.poll() is None and time.monotonic() < deadline:  # noqa: ASYNC110 - polling a child
        await asyncio.sleep(0.05)


async def _http_ok(host: str, port: int, path: str) -> bool:
    """A plain HTTP/1.0 GET: does the server answer 200?"""
    try:
        async with asyncio.timeout(0.5):
            reader, writer = await asyncio.open_connection(host, port)
    except (OSError, TimeoutError):
        return False
    try:
        writer.write(f"GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
        await writer.drain()
        async with asyncio.timeout(0.5):
            status_line = await reader.readline()
        return b" 200 " in status_line
    except (OSError, TimeoutError):
        return False
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
