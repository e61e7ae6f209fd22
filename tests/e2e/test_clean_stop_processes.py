"""Real processes stop on SIGINT and SIGTERM while their consumers are busy (issue 11, item 5): a
context process (`mercato serve orders`) and the single process (`mercato dev`), started and stopped
in a loop while the streams they consume are flooded. Each runs on a database and under a namespace
of its own. A process that does not exit is a failure after a generous bound; no timing is asserted."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
import pytest

from mercato.app.contexts import MIGRATIONS
from mercato.platform.db import Database
from mercato.platform.engines import EngineUrls
from mercato.platform.messaging import Broker
from mercato.platform.migrations import migrate
from tests.conftest import own_database
from tests.e2e.test_dev_command import free_port

HANG = 60.0  # seconds: far beyond the grace period; only a process that ignores the signal reaches it
SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGINT, signal.SIGTERM]


@dataclass
class World:
    env: dict[str, str]
    broker: Broker


@pytest.fixture
async def world(engine_urls: EngineUrls, tmp_path: Path) -> AsyncIterator[World]:
    namespace = f"halt{secrets.token_hex(3)}"
    async with own_database(engine_urls, namespace) as url:
        db = Database(url)
        await migrate(db, MIGRATIONS)
        await db.dispose()
        env = {k: v for k, v in os.environ.items() if not k.startswith("MERCATO_")}
        env.update(
            {
                "MERCATO_DATABASE_URL": url,
                "MERCATO_NATS_URL": engine_urls.nats,
                "MERCATO_REDIS_URL": engine_urls.redis,
                "MERCATO_NAMESPACE": namespace,
                "MERCATO_AUTH_SECRET": secrets.token_urlsafe(48),
                "MERCATO_DATA_DIR": str(tmp_path / "data"),
            }
        )
        broker = Broker(engine_urls.nats, namespace)
        await broker.connect()
        try:
            yield World(env, broker)
        finally:
            await broker.delete_streams()
            await broker.close()


async def flood(broker: Broker, contexts: list[str], stop: asyncio.Event) -> int:
    """Events no handler takes (every consumer fetches and acks them), as fast as they go."""
    for context in contexts:
        await broker.ensure_stream(context)
    sent = 0
    while not stop.is_set():
        for context in contexts:
            body = orjson.dumps(
                {
                    "id": str(uuid.uuid4()),
                    "type": f"{context}.noise",
                    "aggregate_id": "x",
                    "occurred_at": "2030-01-01T00:00:00+00:00",
                    "payload": {},
                    "version": 1,
                }
            )
            await broker.nc.publish(f"{broker.namespace}.{context}.v1.noise", body)
            sent += 1
        await asyncio.sleep(0.001)
    return sent


async def until_ready(proc: subprocess.Popen[str], url: str, within: float = 120.0) -> None:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient() as http:
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"exited early: {proc.communicate()[0][-3000:]}"
            try:
                if (await http.get(url, timeout=1)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    proc.kill()
    raise AssertionError(f"not ready: {proc.communicate()[0][-3000:]}")


async def stopped_by(proc: subprocess.Popen[str], sig: int) -> tuple[int | None, str]:
    """Send `sig`; the exit code (None if it did not exit within HANG seconds, then killed) and output."""
    proc.send_signal(sig)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + HANG
    while proc.poll() is None and loop.time() < deadline:  # noqa: ASYNC110 - polling a child
        await asyncio.sleep(0.05)
    code = proc.poll()
    if code is None:
        proc.kill()
    return code, proc.communicate()[0]


def spawn(command: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "mercato.cli", *command],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


async def cycle(
    world: World, command: list[str], ready_url: str, contexts: list[str], sig: int
) -> int | None:
    """Start, wait until ready, flood what it consumes, signal it: its exit code."""
    proc = spawn(command, world.env)
    await until_ready(proc, ready_url)
    done = asyncio.Event()
    publisher = asyncio.create_task(flood(world.broker, contexts, done))
    await asyncio.sleep(1.0)  # its consumers busy with the flood
    code, output = await stopped_by(proc, sig)
    done.set()
    assert await publisher > 0
    assert "Traceback" not in output, output[-3000:]
    return code


async def test_a_context_process_stops_on_every_signal_under_load(world: World) -> None:
    codes = []
    for sig in SIGNALS:
        http, grpc = free_port(), free_port()
        command = ["serve", "orders", "--port", str(http), "--grpc-port", str(grpc)]
        url = f"http://127.0.0.1:{http}/readyz"
        codes.append(await cycle(world, command, url, ["inventory", "payments", "orders"], sig))

    assert codes == [130] * len(SIGNALS)


async def test_mercato_dev_stops_on_ctrl_c_under_load(world: World) -> None:
    codes = []
    for sig in SIGNALS[:3]:
        port = free_port()
        command = ["dev", "--port", str(port), "--seed-products", "3"]
        url = f"http://127.0.0.1:{port}/readyz"
        codes.append(await cycle(world, command, url, ["catalog", "inventory", "payments", "orders"], sig))

    assert codes == [130] * 3
