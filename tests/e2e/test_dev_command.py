"""`mercato dev` as a person runs it: embedded engines, demo data, Ctrl-C, data kept, one instance."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

QUERY = "{ products(first: 5) { edges { node { name variants { sku price { amount currency } } } } } }"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def dev_env(data_dir: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MERCATO_")}
    env.update({"MERCATO_DATA_DIR": str(data_dir), "MERCATO_HTTP_PORT": str(port)})
    return env


def start_dev(data_dir: Path, port: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "mercato.cli", "dev", "--seed-products", "12"],
        env=dev_env(data_dir, port),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_until_up(proc: subprocess.Popen[str], port: int, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"mercato dev exited: {proc.stdout.read() if proc.stdout else ''}"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError("mercato dev did not become ready")


def engine_processes(data_dir: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline", "cwd"]):
        try:
            text = " ".join(proc.info["cmdline"] or []) + " " + (proc.info["cwd"] or "")
        except (psutil.Error, TypeError):
            continue
        if str(data_dir) in text and proc.status() != psutil.STATUS_ZOMBIE:
            found.append(proc)
    return found


def stop(proc: subprocess.Popen[str], sig: int) -> str:
    proc.send_signal(sig)
    output, _ = proc.communicate(timeout=60)
    return output


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "mercato-data"
    from mercato.platform.engines import EmbeddedEngines

    EmbeddedEngines(tmp_path / "mercato-data").stop()  # in case the test failed half-way


def test_dev_serves_demo_data_stops_cleanly_and_keeps_data(data_dir: Path) -> None:
    port = free_port()
    first = start_dev(data_dir, port)
    try:
        wait_until_up(first, port)
        body = httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": QUERY}, timeout=10).json()
        products = [edge["node"] for edge in body["data"]["products"]["edges"]]
        assert len(products) == 5
        assert all(
            v["price"]["currency"] == "USD" and "." in v["price"]["amount"]
            for p in products
            for v in p["variants"]
        )

        second = subprocess.run(
            [sys.executable, "-m", "mercato.cli", "dev"],
            env=dev_env(data_dir, port),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 1
        assert second.stderr.strip().splitlines() == [
            f"error: Mercato is already running (pid {first.pid}) at http://127.0.0.1:{port}/graphql"
        ]
    finally:
        output = stop(first, signal.SIGINT)
    assert "Stopping engines" in output
    assert "Traceback" not in output
    assert engine_processes(data_dir) == []

    again = start_dev(data_dir, port)
    try:
        wait_until_up(again, port)
        body = httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": QUERY}, timeout=10).json()
        assert [edge["node"] for edge in body["data"]["products"]["edges"]] == products
    finally:
        output = stop(again, signal.SIGTERM)
    assert "Seeding" not in output  # the data survived the restart
    assert engine_processes(data_dir) == []
