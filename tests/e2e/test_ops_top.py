"""`mercato ops top --once` against a live single process (`mercato serve`) taking GraphQL traffic while
it scrapes, and a second address where nothing listens: one frame, every section, the traffic seen."""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import sys

import httpx

from tests.e2e.test_clean_stop_processes import World, spawn, stopped_by, until_ready, world  # noqa: F401
from tests.e2e.test_dev_command import free_port

QUERY = "query Listing { products(first: 2) { edges { node { id } } } }"


async def test_ops_top_once_shows_a_live_process_and_one_it_cannot_reach(world: World) -> None:  # noqa: F811
    port = free_port()
    server = spawn(["serve", "all", "--port", str(port)], world.env)
    try:
        await until_ready(server, f"http://127.0.0.1:{port}/readyz")
        live, dead = f"http://127.0.0.1:{port}/metrics", f"http://127.0.0.1:{free_port()}/metrics"
        top = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "mercato.cli",
            "ops",
            "top",
            live,
            dead,
            "--once",
            "--interval",
            "2",
            env=world.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        sent = 0
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            while top.returncode is None:  # traffic between its two scrapes
                answer = await http.post("/graphql", json={"query": QUERY})
                assert answer.status_code == 200 and "errors" not in answer.json(), answer.text
                sent += 1
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(top.wait(), timeout=0.05)
        out, err = (b.decode() for b in await top.communicate())
    finally:
        code, output = await stopped_by(server, signal.SIGINT)

    assert code is not None  # the server stopped on Ctrl-C
    assert top.returncode == 0, err
    assert sent > 0
    for section in (
        "Processes",
        "GraphQL operations",
        "Orders and sagas",
        "Broker and outboxes",
        "Anomalies",
    ):
        assert section in out, out
    assert "rates over the last" in out
    [operation] = [line for line in out.splitlines() if "query products" in line]
    per_second = float(re.findall(r"\d+\.\d+", operation)[0])
    assert per_second > 0, operation
    assert dead in out and "down: " in out  # the one it could not reach, and the frame still printed
    assert "outbox orders" in out and "consumer " in out
    assert "Traceback" not in output
