"""Embedded engines: real postgres, nats-server and redis-server processes under a temp data dir."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import nats
import psutil
import pytest
import redis.asyncio as aioredis

import mercato
from mercato.platform import _engine_procs
from mercato.platform.config import Settings
from mercato.platform.engines import (
    AlreadyRunning,
    EmbeddedEngines,
    EngineError,
    InstanceLock,
    resolve_engines,
)


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedEngines]:
    supervisor = EmbeddedEngines(tmp_path_factory.mktemp("engines"))
    try:
        yield supervisor
    finally:
        supervisor.stop()


def _pids(engines: EmbeddedEngines) -> dict[str, int | None]:
    return {s.name: s.pid for s in engines.status()}


def _gone(pid: int) -> bool:
    # PID 1 in containers may reap orphans late; a zombie holds no resources and no port.
    try:
        status: str = psutil.Process(pid).status()
    except psutil.NoSuchProcess:
        return True
    return bool(status == psutil.STATUS_ZOMBIE)


def _live_processes_under(root: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.status() != psutil.STATUS_ZOMBIE and Path(proc.cwd()).is_relative_to(root):
                found.append(proc)
        except psutil.Error:
            continue
    return found


async def test_every_engine_answers(engines: EmbeddedEngines) -> None:
    urls = engines.start()

    assert set(urls) == {"postgres", "nats", "redis"}
    conn = await asyncpg.connect(urls["postgres"])
    try:
        assert await conn.fetchval("select 1") == 1
        assert await conn.fetchval("select '[1,2]'::vector::text") == "[1,2]"
    finally:
        await conn.close()

    nc = await nats.connect(urls["nats"])
    try:
        info = await nc.jetstream().account_info()
        assert info.limits is not None
    finally:
        await nc.close()

    client = aioredis.from_url(urls["redis"])
    try:
        assert await client.ping()
    finally:
        await client.aclose()


def test_start_twice_reuses_the_running_engines(engines: EmbeddedEngines) -> None:
    first_urls = engines.start()
    first_pids = _pids(engines)

    # A fresh supervisor stands in for the next `mercato dev` after a killed run.
    second_urls = EmbeddedEngines(engines.data_dir).start()

    assert second_urls == first_urls
    assert _pids(engines) == first_pids
    assert all(first_pids.values())


def test_status_reports_running_then_stopped(engines: EmbeddedEngines) -> None:
    urls = engines.start()

    running = {s.name: s for s in engines.status()}
    assert all(s.running and s.pid for s in running.values())
    assert {name: s.url for name, s in running.items()} == urls
    assert running["postgres"].data_dir == engines.data_dir / "postgres"

    engines.stop()

    stopped = engines.status()
    assert [(s.running, s.pid, s.url) for s in stopped] == [(False, None, None)] * 3


def test_stop_leaves_no_process_and_is_repeatable(engines: EmbeddedEngines) -> None:
    engines.start()
    pids = [pid for pid in _pids(engines).values() if pid]
    assert len(pids) == 3

    engines.stop()
    engines.stop()

    assert all(_gone(pid) for pid in pids)
    assert _live_processes_under(engines.data_dir) == []


async def test_data_survives_stop_and_start(engines: EmbeddedEngines) -> None:
    urls = engines.start()
    conn = await asyncpg.connect(urls["postgres"])
    try:
        await conn.execute("create table if not exists survivor (v text)")
        await conn.execute("insert into survivor values ('kept')")
    finally:
        await conn.close()
    client = aioredis.from_url(urls["redis"])
    try:
        await client.set("survivor", "kept")
    finally:
        await client.aclose()

    engines.stop()
    urls = engines.start()

    conn = await asyncpg.connect(urls["postgres"])
    try:
        assert "kept" in [r["v"] for r in await conn.fetch("select v from survivor")]
    finally:
        await conn.close()
    client = aioredis.from_url(urls["redis"])
    try:
        assert await client.get("survivor") == b"kept"
    finally:
        await client.aclose()


def test_failed_engine_raises_one_line_error_naming_the_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_engine_procs, "redis_server_bin", lambda: Path("/bin/false"))
    supervisor = EmbeddedEngines(tmp_path)
    try:
        with pytest.raises(EngineError) as err:
            supervisor.start(["redis"])
    finally:
        supervisor.stop()

    assert "\n" not in str(err.value)
    assert str(tmp_path / "logs" / "redis.log") in str(err.value)


def test_resolve_engines_starts_only_what_is_unset(tmp_path: Path) -> None:
    external = Settings(
        database_url="postgresql://db.example/x",
        nats_url="nats://mq.example:4222",
        redis_url="redis://cache.example/0",
        data_dir=tmp_path / "unused",
    )
    urls, supervisor = resolve_engines(external)
    assert supervisor is None
    assert urls.database == "postgresql://db.example/x"
    assert not (tmp_path / "unused").exists()

    partial = external.model_copy(update={"redis_url": None, "data_dir": tmp_path / "data"})
    urls, supervisor = resolve_engines(partial)
    assert supervisor is not None
    try:
        assert urls.redis.startswith("redis://127.0.0.1:")
        assert urls.nats == "nats://mq.example:4222"
        assert [s.name for s in supervisor.status() if s.running] == ["redis"]
    finally:
        supervisor.stop()


def test_instance_lock_refuses_a_second_process(tmp_path: Path) -> None:
    lock = InstanceLock(tmp_path)
    lock.acquire("http://127.0.0.1:8123")
    script = (
        "import sys; from pathlib import Path\n"
        "from mercato.platform.engines import AlreadyRunning, InstanceLock\n"
        "try:\n"
        "    InstanceLock(Path(sys.argv[1])).acquire('http://127.0.0.1:9999')\n"
        "except AlreadyRunning as exc:\n"
        "    print(exc); sys.exit(3)\n"
    )
    src = str(Path(mercato.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")]))}

    def attempt() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", script, str(tmp_path)],
            capture_output=True,
            text=True,
            env=env,
            timeout=30,
            check=False,
        )

    try:
        refused = attempt()
        assert refused.returncode == 3, refused.stderr
        assert f"pid {os.getpid()}" in refused.stdout
        assert "http://127.0.0.1:8123" in refused.stdout

        with pytest.raises(AlreadyRunning) as err:
            InstanceLock(tmp_path).acquire("http://127.0.0.1:9999")
        assert err.value.pid == os.getpid()
    finally:
        lock.release()

    assert attempt().returncode == 0
