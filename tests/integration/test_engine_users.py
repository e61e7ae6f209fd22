"""NATS users per component (app.engine_users), on a nats-server of this test's own started with the
generated `authorization` block: each user does its component's work, and nothing of another's."""

from __future__ import annotations

import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import nats.errors
import pytest

from mercato.app.engine_users import NATS_WIRING, SHARED_USER, nats_config, nats_users
from mercato.app.runtime import Runtime
from mercato.platform._engine_procs import nats_server_bin
from mercato.platform.config import Settings
from mercato.platform.messaging import Broker

ROOT = Path(__file__).resolve().parents[2]
Connect = Callable[[str], Awaitable[Broker]]


@pytest.fixture(scope="module")
def nats_server() -> Iterator[tuple[str, int]]:
    """A nats-server with JetStream and the users of namespace `<ns>`; yields (namespace, port)."""
    namespace = f"t{secrets.token_hex(4)}"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    workdir = Path(tempfile.mkdtemp(prefix="mercato-test-nats-users-"))
    passwords = {user: f"pw-{user}" for user in nats_users(namespace)}
    config = workdir / "nats.conf"
    config.write_text(
        f'listen: "127.0.0.1:{port}"\njetstream {{ store_dir: "{workdir / "js"}" }}\n'
        + nats_config(namespace, passwords)
    )
    with (workdir / "log").open("wb") as log:
        server = subprocess.Popen([str(nats_server_bin()), "-c", str(config)], stdout=log, stderr=log)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if server.poll() is not None:
                    pytest.fail((workdir / "log").read_text())
                time.sleep(0.05)
        yield namespace, port
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
async def connect(nats_server: tuple[str, int]) -> AsyncIterator[Connect]:
    namespace, port = nats_server
    opened: list[Broker] = []

    async def make(user: str) -> Broker:
        broker = Broker(f"nats://{user}:pw-{user}@127.0.0.1:{port}", namespace)
        await broker.connect()
        opened.append(broker)
        return broker

    yield make
    for broker in opened:
        await broker.close()


async def test_each_component_publishes_and_consumes_what_it_must_as_its_own_user(
    nats_server: tuple[str, int], connect: Connect
) -> None:
    namespace, _ = nats_server
    brokers = {c: await connect(c) for c in NATS_WIRING}

    # Given every publisher's event in its own stream, published as itself
    acks = {}
    for component, wiring in NATS_WIRING.items():
        if wiring.publishes:
            await brokers[component].ensure_stream(component)
            ack = await brokers[component].js.publish(f"{namespace}.{component}.v1.probe", b"{}", timeout=5)
            acks[component] = ack.stream
    # When every component pulls one message of each stream it consumes, as its durable consumer would
    received = {}
    for component, wiring in NATS_WIRING.items():
        for source in wiring.consumes:
            durable = f"{namespace}_{component}_probe_{source}"
            sub = await brokers[component].durable_pull(source, durable, ack_wait=5, max_deliveries=1)
            [msg] = await sub.fetch(1, timeout=5)
            await msg.ack()
            received[(component, source)] = msg.subject

    # Then all of it went through
    assert acks == {c: f"{namespace}_{c}".upper() for c, w in NATS_WIRING.items() if w.publishes}
    assert received == {
        (c, s): f"{namespace}.{s}.v1.probe" for c, w in NATS_WIRING.items() for s in w.consumes
    }


async def test_a_component_cannot_publish_another_contexts_events_nor_read_a_stream_it_does_not_consume(
    nats_server: tuple[str, int], connect: Connect
) -> None:
    namespace, _ = nats_server
    catalog, cart = await connect("catalog"), await connect("cart")
    await (await connect("payments")).ensure_stream("payments")

    # When the catalog forges an order event, and the cart tries to read the payments' stream
    with pytest.raises(nats.errors.TimeoutError):
        await catalog.js.publish(f"{namespace}.orders.v1.order_confirmed", b"{}", timeout=1)
    forged = str(catalog.nc.last_error)
    with pytest.raises(nats.errors.TimeoutError):
        await cart.durable_pull("payments", f"{namespace}_cart_snoop", ack_wait=5, max_deliveries=1)
    snooped = str(cart.nc.last_error)

    # Then the server refused both
    assert forged == f'nats: permissions violation for publish to "{namespace}.orders.v1.order_confirmed"'
    assert snooped.startswith("nats: permissions violation for publish to")
    assert f"{namespace}_payments" in snooped


async def test_the_shared_user_of_the_single_process_may_do_what_every_component_does(
    nats_server: tuple[str, int], connect: Connect
) -> None:
    namespace, _ = nats_server
    shared = await connect(SHARED_USER)

    await shared.ensure_stream("customers")
    ack = await shared.js.publish(f"{namespace}.customers.v1.probe", b"{}", timeout=5)
    sub = await shared.durable_pull("orders", f"{namespace}_single_probe", ack_wait=5, max_deliveries=1)

    assert ack.stream == f"{namespace}_customers".upper()
    assert sub is not None


async def test_the_wiring_matches_what_the_components_publish_and_consume() -> None:
    settings = Settings(
        database_url="postgresql://nobody@127.0.0.1:1/none",
        nats_url="nats://127.0.0.1:1",
        redis_url="redis://127.0.0.1:1/0",
        auth_secret=secrets.token_urlsafe(48),
        payments_vault_key=secrets.token_urlsafe(48),
        _env_file=None,  # type: ignore[call-arg]
    )
    runtime = Runtime(settings)  # builds the components; connects to nothing
    try:
        wired = {
            c.name: (
                c.outbox is not None,
                sorted(
                    {w.subscription.source_context for w in c.consumers}
                    | {
                        listener.listening.source_context
                        for listener in c.listeners
                        if hasattr(listener, "listening")
                    }
                ),
            )
            for c in runtime.components
        }
    finally:
        await runtime.engines.close()
    assert wired == {c: (w.publishes, sorted(w.consumes)) for c, w in NATS_WIRING.items()}


def test_the_compose_nats_config_is_the_generated_one() -> None:
    assert (ROOT / "deploy" / "compose" / "nats-auth.conf").read_text() == nats_config("mercato")
