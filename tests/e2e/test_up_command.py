"""`mercato up` as a person runs it: embedded engines, one process per context and the gateway, a status
table, the storefront through gRPC, and Ctrl-C/SIGTERM stopping every process it started."""

from __future__ import annotations

import asyncio
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from mercato.app.topology import health_status
from mercato.platform.grpc.client import create_channel
from tests.e2e.test_dev_command import QUERY, data_dir, dev_env, engine_processes, stop, wait_until_up

__all__ = ["data_dir"]  # the fixture, shared with test_dev_command

SERVICES = ("catalog", "inventory", "cart", "customers", "payments", "orders", "search", "gateway")


def free_port_run(length: int) -> int:
    """A port such that it and the `length - 1` after it are free now."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            first: int = s.getsockname()[1]
        if first + length < 65_000 and all(_free(first + i) for i in range(length)):
            return first
    raise AssertionError("no run of free ports")


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def served_processes(up: psutil.Process) -> dict[str, psutil.Process]:
    found = {}
    for child in up.children(recursive=True):
        try:
            cmdline = child.cmdline()
        except psutil.Error:
            continue
        if "serve" in cmdline:
            found[cmdline[-1]] = child
    return found


async def wait_all_serving(grpc_port: int) -> None:
    """Every context answers its gRPC health check (payments too, which the gateway never calls)."""
    for offset in range(len(SERVICES) - 1):
        channel = create_channel(f"127.0.0.1:{grpc_port + offset}")
        try:
            for _ in range(300):
                if await health_status(channel) == "SERVING":
                    break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError(f"the context on gRPC port {grpc_port + offset} never served")
        finally:
            await channel.close()


def searched(port: int, query: str, within: float = 60.0) -> list[str]:
    """The names `search(query)` answers, once it answers any (the index fills from the seed's events)."""
    document = "query($q: String!) { search(query: $q, first: 5) { products { edges { node { name } } } } }"
    body: dict[str, Any] = {}
    for _ in range(int(within / 0.5)):
        body = httpx.post(
            f"http://127.0.0.1:{port}/graphql",
            json={"query": document, "variables": {"q": query}},
            timeout=10,
        ).json()
        codes = {e["extensions"]["code"] for e in body.get("errors", [])}
        # The gateway's channel may still be backing off from a search process that was not up yet.
        assert codes <= {"UNAVAILABLE"}, body
        names = [] if codes else [e["node"]["name"] for e in body["data"]["search"]["products"]["edges"]]
        if names:
            return names
        time.sleep(0.5)
    raise AssertionError(f"search found nothing for {query!r} within {within:.0f} s: {body}")


def test_up_runs_a_process_per_context_and_stops_them_all(data_dir: Path) -> None:
    port, grpc_port = free_port_run(len(SERVICES)), free_port_run(len(SERVICES) - 1)
    proc = subprocess.Popen(
        [sys.executable, "-m", "mercato.cli", "up", "--seed-products", "8", "--grpc-port", str(grpc_port)],
        env=dev_env(data_dir, port),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_until_up(proc, port, timeout=150)
        body = httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": QUERY}, timeout=10).json()
        assert len(body["data"]["products"]["edges"]) == 5
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).json()
        assert set(ready["upstreams"]) == {
            "catalog", "inventory", "cart", "customers", "orders", "payments", "search"
        }  # fmt: skip
        services = served_processes(psutil.Process(proc.pid))
        assert sorted(services) == sorted(SERVICES)
        asyncio.run(wait_all_serving(grpc_port))
        # The seeded products reach the search process through the catalog's events (it may serve
        # after the gateway does: it loads the embedding model first when the semantic extra is there).
        name = body["data"]["products"]["edges"][0]["node"]["name"]
        assert name in searched(port, name)
    finally:
        output = stop(proc, signal.SIGTERM)
    assert proc.returncode == 0, output
    assert "Stopping services" in output and "Stopping engines" in output
    # The status table (its last state is printed when the output is not a terminal): engines and services.
    for name in ("postgres", "nats", "redis", *SERVICES):
        assert re.search(rf"│ {name}\s+│ serving\s+│ \d+", output), (name, output[-3000:])
    assert "Traceback" not in output
    assert not [p for p in services.values() if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert engine_processes(data_dir) == []
    assert (data_dir / "logs" / "gateway.log").exists()
