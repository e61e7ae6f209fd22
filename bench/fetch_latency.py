"""How long a message waits between its publish and a consumer's fetch returning it, per fetch style.

    .venv/bin/python -m bench.fetch_latency [--messages 300] [--durables 5] [--replicas 2]

Against the NATS server named by MERCATO_NATS_URL (default nats://127.0.0.1:4222), on a stream of its
own (deleted at the end): `--durables` durable pull consumers, each fetched by `--replicas` connections
(as the processes of one context share a durable) with up to 4 batches in flight each, handlers of
2-20 ms that ack when done, and 1-3 events published together at random moments (~15/s) — the shape
of the saga's traffic. Two fetch styles: nats-py's `fetch(100, timeout=1)` (`plain`) and
`messaging.fetch_ready(psub, 100, 1)` (`ready`, what Mercato's consumers use). Prints the latency
percentiles of each and how many messages waited more than half a second.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import time
from collections.abc import Awaitable, Callable

import nats
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from mercato.platform.messaging import fetch_ready

STREAM = "benchfetchlatency"
Fetch = Callable[[JetStreamContext.PullSubscription], Awaitable[list[Msg]]]


async def _plain(psub: JetStreamContext.PullSubscription) -> list[Msg]:
    try:
        return await psub.fetch(100, timeout=1.0)
    except TimeoutError:
        return []


async def _ready(psub: JetStreamContext.PullSubscription) -> list[Msg]:
    return await fetch_ready(psub, 100, 1.0)


async def _run(url: str, fetch: Fetch, args: argparse.Namespace, seed: int) -> list[float]:
    rng = random.Random(seed)
    connections = [await nats.connect(url) for _ in range(args.replicas)]
    js = connections[0].jetstream()
    await js.add_stream(name=STREAM, subjects=[f"{STREAM}.>"])
    sent: dict[bytes, float] = {}
    waits: list[float] = []
    in_flight: set[asyncio.Task[None]] = set()

    async def handle(messages: list[Msg]) -> None:
        await asyncio.sleep(rng.uniform(0.002, 0.02))
        for message in messages:
            await message.ack()

    async def consume(psub: JetStreamContext.PullSubscription) -> None:
        slots = asyncio.Semaphore(4)
        while True:
            await slots.acquire()
            messages = await fetch(psub)
            now = time.perf_counter()
            waits.extend(now - sent[m.data] for m in messages if m.data in sent)
            task = asyncio.create_task(handle(messages))
            in_flight.add(task)
            task.add_done_callback(lambda t: (in_flight.discard(t), slots.release()))

    consumers = [
        asyncio.create_task(consume(await nc.jetstream().pull_subscribe(f"{STREAM}.>", durable=f"d{d}")))
        for d in range(args.durables)
        for nc in connections
    ]
    try:
        for n in range(args.messages):
            await asyncio.sleep(rng.expovariate(15))
            for k in range(rng.choice((1, 2, 3))):
                key = f"{n}.{k}".encode()
                sent[key] = time.perf_counter()
                await js.publish(f"{STREAM}.event", key)
        await asyncio.sleep(2.0)
    finally:
        for task in consumers:
            task.cancel()
        await asyncio.gather(*consumers, *in_flight, return_exceptions=True)
        await js.delete_stream(STREAM)
        for nc in connections:
            await nc.close()
    return sorted(waits)


def _line(style: str, waits: list[float]) -> str:
    def ms(q: float) -> float:
        return 1000 * waits[min(len(waits) - 1, int(q * len(waits)))]

    late = sum(1 for w in waits if w > 0.5)
    return (
        f"{style:<6} {len(waits):>6} messages  p50 {ms(0.5):7.1f} ms  p90 {ms(0.9):7.1f} ms  "
        f"p99 {ms(0.99):7.1f} ms  max {1000 * waits[-1]:7.1f} ms  over 500 ms: {late}"
    )


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--messages", type=int, default=300, help="publish moments (1-3 events each)")
    parser.add_argument("--durables", type=int, default=5)
    parser.add_argument("--replicas", type=int, default=2)
    args = parser.parse_args()
    url = os.environ.get("MERCATO_NATS_URL", "nats://127.0.0.1:4222")
    for style, fetch in (("plain", _plain), ("ready", _ready)):
        print(_line(style, asyncio.run(_run(url, fetch, args, seed=1))), flush=True)


if __name__ == "__main__":
    main()
