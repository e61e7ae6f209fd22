"""A server under test as a subprocess: started in its own session, stopped with SIGTERM (SIGKILL
to its process group after a timeout), so no worker is ever left behind.

Two topologies of Mercato: `single` (`mercato serve --workers N`, every context in the GraphQL
process) and `distributed` (`mercato up`: one process per context, GraphQL in a gateway process that
calls them over gRPC)."""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import psutil

from mercato.app.components import CONTEXTS

ROOT = Path(__file__).resolve().parent.parent
STOP_TIMEOUT = 15.0
SINGLE, DISTRIBUTED = "single", "distributed"
TOPOLOGIES = (SINGLE, DISTRIBUTED)
# `mercato up` stops its services with a 10 s grace each after SIGTERM, then SIGKILLs stragglers.
TOPOLOGY_STOP_TIMEOUT = 25.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def free_port_block(count: int) -> int:
    """The first of `count` consecutive free ports, below Linux's ephemeral range (32768+) so that
    no outgoing connection takes one of them before the server binds it."""
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20_000, 32_000 - count)
        try:
            with contextlib.ExitStack() as stack:
                for port in range(base, base + count):
                    sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise ServerError(f"found no {count} consecutive free ports between 20000 and 32000")


class ServerError(RuntimeError):
    """The server did not come up; the message ends with the tail of its stderr."""


class Server:
    def __init__(self, name: str, argv: Sequence[str], env: dict[str, str], port: int) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = env
        self.port = port
        self.log_path = Path(tempfile.mkstemp(prefix=f"bench-{name}-", suffix=".log")[1])
        self.proc: subprocess.Popen[bytes] | None = None
        self.failed = False  # keep the log of a server that failed, for its stderr
        self.stop_timeout = STOP_TIMEOUT
        self.returncode: int | None = None  # once stopped

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                self.argv,
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: SIGKILL reaches every worker
            )

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def is_ready(self, response: httpx.Response) -> bool:
        return response.status_code == 200

    def wait_ready(self, path: str, timeout: float = 60.0) -> None:
        """Poll `path` until it answers ready from every worker's point of view (several in a row)."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        ok = 0
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    self.failed = True
                    raise ServerError(
                        f"{self.name} exited with code {self.proc.returncode} before it was ready; "
                        f"its output ({self.log_path}):\n{self.log_tail()}"
                    )
                try:
                    ok = ok + 1 if self.is_ready(client.get(self.base_url + path)) else 0
                except httpx.HTTPError:
                    ok = 0
                if ok >= 10:
                    return
                time.sleep(0.05 if ok else 0.2)
        self.failed = True
        raise ServerError(
            f"{self.name} was not ready on {path} within {timeout:.0f}s; "
            f"its output ({self.log_path}):\n{self.log_tail()}"
        )

    def workers(self) -> list[psutil.Process]:
        """The worker processes (uvicorn's children running the app)."""
        if self.proc is None:
            return []
        try:
            children = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.Error:
            return []
        found = []
        for child in children:
            with contextlib.suppress(psutil.Error):
                if "spawn_main" in " ".join(child.cmdline()):
                    found.append(child)
        return found or children

    def stop(self) -> None:
        proc = self.proc
        if proc is None:
            return
        self.proc = None
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                print(f"bench: {self.name} ignored SIGTERM for {self.stop_timeout:.0f}s; killing it")
        # Workers of a master that died or hung: the whole group we created, nothing else.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(5)
        self.returncode = proc.returncode
        if not self.failed:
            self.log_path.unlink(missing_ok=True)


@contextlib.contextmanager
def running(server: Server, ready_path: str, timeout: float = 60.0) -> Iterator[Server]:
    server.start()
    try:
        server.wait_ready(ready_path, timeout)
        yield server
    finally:
        server.stop()


def mercato_server(env: dict[str, str], workers: int) -> Server:
    port = free_port()
    argv = [str(ROOT / ".venv" / "bin" / "mercato"), "serve", "--port", str(port), "--workers", str(workers)]
    return Server("mercato", argv, env, port)


class TopologyServer(Server):
    """`mercato up`: the launcher and the seven processes it starts, each in a session of its own
    (so killing the launcher's process group does not reach them: they are killed one by one)."""

    def __init__(self, argv: Sequence[str], env: dict[str, str], port: int, data_dir: Path) -> None:
        super().__init__("mercato-distributed", argv, env, port)
        self.data_dir = data_dir
        self.stop_timeout = TOPOLOGY_STOP_TIMEOUT

    def is_ready(self, response: httpx.Response) -> bool:
        """The gateway answers /readyz 200 as soon as it runs; ready for load means every upstream
        context SERVING, and the launcher saying all seven (payments too, which the gateway never
        calls but checkout needs) serve."""
        if response.status_code != 200:
            return False
        try:
            upstreams = response.json().get("upstreams") or {}
        except ValueError:
            return False
        if not upstreams or any(state != "SERVING" for state in upstreams.values()):
            return False
        try:
            return "Mercato is up" in self.log_path.read_text(errors="replace")
        except OSError:
            return False

    def log_tail(self, lines: int = 40) -> str:
        tails = [super().log_tail(lines)]
        for log in sorted((self.data_dir / "logs").glob("*.log")):
            with contextlib.suppress(OSError):
                tail = log.read_text(errors="replace").splitlines()[-8:]
                tails.append(f"--- {log} ---\n" + "\n".join(tail))
        return "\n".join(tails)

    def stop(self) -> None:
        proc = self.proc
        services: list[psutil.Process] = []
        if proc is not None:
            with contextlib.suppress(psutil.Error):
                services = psutil.Process(proc.pid).children(recursive=True)
        super().stop()
        for service in services:  # what the launcher did not stop (is_running checks the pid's start time)
            with contextlib.suppress(psutil.Error, ProcessLookupError, PermissionError):
                if service.is_running():
                    print(f"bench: {self.name} left {service.pid} ({service.name()}) running; killing it")
                    if os.getpgid(service.pid) == service.pid:
                        os.killpg(service.pid, signal.SIGKILL)
                    else:
                        service.kill()
        if self.returncode not in (0, None):
            print(f"bench: warning: `mercato up` exited with code {self.returncode} on SIGTERM")
        if self.failed:
            print(f"bench: {self.name}'s data dir (logs) kept in {self.data_dir}")
        else:
            shutil.rmtree(self.data_dir, ignore_errors=True)


def mercato_topology(env: dict[str, str]) -> TopologyServer:
    """`mercato up` on free ports: the gateway on P, the contexts' health ports on P+1…P+6 and their
    gRPC ports on P+7…P+12, with a data dir of its own (it holds an instance lock on it, keeps the
    services' logs there). The catalog is migrated and seeded beforehand, so it seeds nothing."""
    base = free_port_block(1 + 2 * len(CONTEXTS))
    data_dir = Path(tempfile.mkdtemp(prefix="bench-topology-"))
    argv = [str(ROOT / ".venv" / "bin" / "mercato"), "up", "--port", str(base)]
    argv += ["--grpc-port", str(base + 1 + len(CONTEXTS))]
    return TopologyServer(argv, {**env, "MERCATO_DATA_DIR": str(data_dir)}, base, data_dir)


def topology_server(topology: str, env: dict[str, str], workers: int) -> Server:
    """The server of `topology`: `mercato serve --workers N` (single) or `mercato up` (distributed)."""
    if topology == SINGLE:
        return mercato_server(env, workers)
    if topology == DISTRIBUTED:
        return mercato_topology(env)
    raise ValueError(f"unknown topology {topology!r}")


def ceiling_server(body_path: Path, workers: int) -> Server:
    """uvicorn, same worker count, serving `body_path`'s bytes from memory (bench/ceiling.py)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MERCATO_")}
    env["BENCH_CEILING_BODY"] = str(body_path)
    env["PYTHONPATH"] = str(ROOT)
    argv = [
        str(ROOT / ".venv" / "bin" / "python"),
        "-m",
        "uvicorn",
        "bench.ceiling:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    return Server("ceiling", argv, env, port)
