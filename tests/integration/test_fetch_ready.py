"""`messaging.fetch_ready`, what every consumer fetches with: the first message, then only what the
server says is already waiting, never more than the limit, and nothing when nothing comes.

Each test has a stream (a context name) of its own, so counts are exact."""

from __future__ import annotations

import secrets

from nats.js import JetStreamContext

from mercato.platform.messaging import Broker, fetch_ready


async def _consumer_with(broker: Broker, count: int) -> JetStreamContext.PullSubscription:
    context = f"fetchready{secrets.token_hex(3)}"
    psub = await broker.durable_pull(context, f"{broker.namespace}_{context}", ack_wait=30, max_deliveries=3)
    for n in range(count):
        await broker.js.publish(f"{broker.namespace}.{context}.noted", str(n).encode())
    return psub


async def test_a_backlog_comes_in_batches_of_the_limit_in_stream_order(broker: Broker) -> None:
    # Given five messages waiting
    psub = await _consumer_with(broker, 5)

    # When fetched with a limit of three, then again
    first = await fetch_ready(psub, 3, wait=5.0)
    second = await fetch_ready(psub, 3, wait=5.0)

    # Then three, then the two left, in order
    assert [m.data for m in first] == [b"0", b"1", b"2"]
    assert [m.data for m in second] == [b"3", b"4"]
    for message in first + second:
        await message.ack()


async def test_a_limit_of_one_takes_one_message(broker: Broker) -> None:
    # Given two messages waiting
    psub = await _consumer_with(broker, 2)

    # When fetched with a limit of one
    fetched = await fetch_ready(psub, 1, wait=5.0)

    # Then only the first
    assert [m.data for m in fetched] == [b"0"]
    await fetched[0].ack()


async def test_nothing_waiting_gives_an_empty_batch(broker: Broker) -> None:
    # Given a consumer whose one message was taken and acknowledged
    psub = await _consumer_with(broker, 1)
    taken = await fetch_ready(psub, 10, wait=5.0)
    await taken[0].ack()

    # When fetched again with a short wait
    fetched = await fetch_ready(psub, 10, wait=0.2)

    # Then nothing, and no error
    assert [m.data for m in taken] == [b"0"]
    assert fetched == []
