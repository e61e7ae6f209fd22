"""The launcher behind `mercato up`: ports, environment and restarts with backoff (with a stand-in
program that exits at once, so no engine is needed)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import psutil

from mercato.app.launcher import CONTEXTS, GATEWAY, SERVICES, Launcher, Ports, default_ports
from mercato.platform.config import Settings

SETTINGS = Settings(
    database_url="postgresql://u:secret@db:5432/shop",
    nats_url="nats://nats:4222",
    redis_url="redis://redis:6379/0",
    auth_secret="a" * 40,
    namespace="shop",
    checkout_wait_seconds=2.0,
    _env_file=None,  # type: ignore[call-arg]
)


def launcher(tmp_path: Path, program: str = "/bin/false") -> Launcher:
    return Launcher(SETTINGS, default_ports(9000, 7000), log_dir=tmp_path, python=program)


def test_ports_and_environment_of_each_process(tmp_path: Path) -> None:
    topology = launcher(tmp_path)
    assert topology.ports[GATEWAY] == Ports(9000)
    assert [topology.ports[c] for c in CONTEXTS] == [Ports(9001 + i, 7000 + i) for i in range(len(CONTEXTS))]

    cart = topology.environment("cart")
    assert (cart["MERCATO_GRPC_PORT"], cart["MERCATO_HTTP_PORT"]) == ("7002", "9003")
    assert cart["MERCATO_CATALOG_ADDRESS"] == "127.0.0.1:7000"
    assert cart["MERCATO_DATABASE_URL"] == SETTINGS.database_url
    assert cart["MERCATO_CHECKOUT_WAIT_SECONDS"] == "2.0"  # every setting that differs from its default
    gateway = topology.environment(GATEWAY)
    assert "MERCATO_GRPC_PORT" not in gateway
    assert gateway["MERCATO_ORDERS_ADDRESS"] == "127.0.0.1:7005"


def test_a_process_that_dies_is_restarted_with_growing_backoff(tmp_path: Path) -> None:
    topology = launcher(tmp_path)
    topology.start()
    try:
        _wait_all_exited(topology)
        now = time.monotonic()
        assert topology.supervise(now) == []  # first sight of the exits: restarts scheduled in 0.5 s
        states = {s.name: s.state for s in asyncio.run(topology.status())}
        assert states == dict.fromkeys(SERVICES, "exited (1), restarting")
        assert topology.supervise(now + 0.4) == []
        assert sorted(topology.supervise(now + 0.6)) == sorted(SERVICES)
        _wait_all_exited(topology)
        later = time.monotonic()
        topology.supervise(later)  # the second exit waits twice as long: 1 s
        assert topology.supervise(later + 0.9) == []
        assert sorted(topology.supervise(later + 1.1)) == sorted(SERVICES)
        assert {s.restarts for s in asyncio.run(topology.status())} == {2}
    finally:
        asyncio.run(topology.stop())
    assert (tmp_path / "catalog.log").exists()


def test_without_restarts_an_exit_is_reported_and_left_alone(tmp_path: Path) -> None:
    topology = Launcher(
        SETTINGS, default_ports(9000, 7000), log_dir=tmp_path, python="/bin/false", restart=False
    )
    topology.start()
    try:
        _wait_all_exited(topology)
        assert topology.supervise(time.monotonic() + 60) == []
        assert {s.state for s in asyncio.run(topology.status())} == {"exited (1)"}
    finally:
        asyncio.run(topology.stop())


def _wait_all_exited(topology: Launcher) -> None:
    deadline = time.monotonic() + 10
    while any(topology.pid(name) for name in SERVICES) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not any(topology.pid(name) for name in SERVICES)


LAUNCH_AND_WAIT = """
import json, sys, time
from pathlib import Path
from mercato.app.launcher import Launcher, default_ports, SERVICES
from tests.unit.test_launcher import SETTINGS
topology = Launcher(SETTINGS, default_ports(9000, 7000), log_dir=Path(sys.argv[1]), python=sys.argv[2])
topology.start()
print(json.dumps([topology.pid(name) for name in SERVICES]), flush=True)
time.sleep(60)
"""


def test_services_do_not_outlive_a_launcher_killed_with_sigkill(tmp_path: Path) -> None:
    # Stands in for `python -m mercato.cli serve <name>`: does at start what `mercato serve` does, then waits.
    sleeper = tmp_path / "fake-python"
    sleeper.write_text(
        f"#!/bin/sh\nexec {sys.executable} -c "
        "'import os, time; from mercato.app.launcher import stop_with_parent; "
        'stop_with_parent(int(os.environ["MERCATO_LAUNCHER_PID"])); print("ready", flush=True); '
        "time.sleep(60)'\n"
    )
    sleeper.chmod(0o755)
    launcher_process = subprocess.Popen(
        [sys.executable, "-c", LAUNCH_AND_WAIT, str(tmp_path), str(sleeper)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert launcher_process.stdout is not None
        pids = json.loads(launcher_process.stdout.readline())
        assert len(pids) == len(SERVICES) and all(pids)
        # Kill the launcher only once every service has set itself up to follow it (a launcher that
        # dies sooner is covered too: the service then stops at once, but that is not what is tested).
        deadline = time.monotonic() + 30
        logs = [tmp_path / f"{name}.log" for name in SERVICES]
        while not all("ready" in log.read_text() for log in logs) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert all("ready" in log.read_text() for log in logs)
    finally:
        launcher_process.kill()
        launcher_process.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
        time.sleep(0.05)
    assert not [pid for pid in pids if _alive(pid)]


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_the_gateway_runs_as_many_workers_as_asked(tmp_path: Path) -> None:
    echo = tmp_path / "fake-python"
    echo.write_text('#!/bin/sh\necho "$@"\n')
    echo.chmod(0o755)
    topology = Launcher(
        SETTINGS,
        default_ports(9000, 7000),
        log_dir=tmp_path,
        python=str(echo),
        restart=False,
        gateway_workers=3,
    )
    topology.start()
    try:
        _wait_all_exited(topology)
    finally:
        asyncio.run(topology.stop())
    assert (tmp_path / "gateway.log").read_text() == "-m mercato.cli serve gateway --workers 3\n"
    assert (tmp_path / "catalog.log").read_text() == "-m mercato.cli serve catalog\n"
