"""What the tests of `mercato up` share besides fixtures: free ports, a topology launched and stopped,
its logs, a signed-in client."""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from mercato.app.launcher import CONTEXTS, GATEWAY, Launcher, Ports
from mercato.platform.config import Settings
from tests.e2e.api_client import GraphQLClient

PASSWORD = "correct horse battery staple"


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def port_layout() -> dict[str, Ports]:
    ports = free_ports(2 * len(CONTEXTS) + 1)
    layout = {name: Ports(ports[2 * i], ports[2 * i + 1]) for i, name in enumerate(CONTEXTS)}
    layout[GATEWAY] = Ports(ports[-1])
    return layout


def print_logs(log_dir: Path) -> None:
    for log in sorted(log_dir.glob("*.log")):
        print(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}")


async def signed_in(http: httpx.AsyncClient, email: str) -> GraphQLClient:
    tokens = await GraphQLClient(http).mutate(
        "mutation($input: TokenCreateInput!) { tokenCreate(input: $input) { accessToken errors { code } } }",
        {"input": {"email": email, "password": PASSWORD}},
        "tokenCreate",
    )
    client = httpx.AsyncClient(
        base_url=str(http.base_url), timeout=30, headers={"Authorization": f"Bearer {tokens['accessToken']}"}
    )
    return GraphQLClient(client)


@asynccontextmanager
async def launched(
    settings: Settings, log_dir: Path, environment: Mapping[str, str] | None = None
) -> AsyncIterator[Launcher]:
    """`mercato up` on free ports until the block ends, its processes started with `environment` added
    to this one's; their logs are printed at the end (pytest shows them when a test failed)."""
    topology = Launcher(settings, port_layout(), log_dir=log_dir, restart=False)
    saved = {key: os.environ.get(key) for key in environment or {}}
    os.environ.update(environment or {})
    try:
        topology.start()  # each process copies this process's environment now
    finally:
        for key, previous in saved.items():
            if previous is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = previous
    try:
        await topology.wait_serving(within=120)
        yield topology
    finally:
        await topology.stop()
        print_logs(log_dir)
