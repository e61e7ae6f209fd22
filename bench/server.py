"""A server under test as a subprocess: started in its own session, stopped with SIGTERM (SIGKILL
to its process group after a timeout), so no worker is ever left behind."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
STOP_TIMEOUT = 15.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


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

    def wait_ready(self, path: str, timeout: float = 60.0) -> None:
        """Poll `path` until it answers 200 from every worker's point of view (several in a row)."""
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
                    ok = ok + 1 if client.get(self.base_url + path).status_code == 200 else 0
                except httpx.HTTPError:
                    ok = 0
                if ok >= 10:
                    return
                time.sleep(0.05 if ok else 0.2)
        self.failed = True
        raise ServerError(
            f"{self.name} did not answer 200 on {path} within {timeout:.0f}s; "
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
                proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                print(f"bench: {self.name} ignored SIGTERM for {STOP_TIMEOUT:.0f}s; killing it")
        # Workers of a master that died or hung: the whole group we created, nothing else.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(5)
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
