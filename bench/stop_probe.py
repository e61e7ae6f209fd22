"""Start and stop the in-process runtime N times while every stream it consumes is flooded; print how
long each stop took, or, when one still waits after 20 s, the tasks it waits on (issue 11, item 5).

    PYTHONPATH=src python -m bench.stop_probe 30      # needs MERCATO_DATABASE_URL / _NATS_URL / _REDIS_URL

It works in a database and under a namespace of its own, both removed at the end.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import statistics
import sys
import time
import uuid
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import orjson

from mercato.app.contexts import MIGRATIONS
from mercato.app.runtime import Runtime
from mercato.platform.config import Settings
from mercato.platform.db import Database
from mercato.platform.messaging import Broker
from mercato.platform.migrations import migrate

CONTEXTS = ["catalog", "inventory", "orders", "payments", "customers"]
HANG_SECONDS = 20.0


async def flood(broker: Broker, stop: asyncio.Event) -> None:
    """Events no handler takes: every consumer fetches and acks them, as fast as they come."""
    sent = 0
    while not stop.is_set():
        for context in CONTEXTS:
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
        await asyncio.sleep(0.0005 if sent % 20 else 0.002)


async def rounds(settings: Settings, broker: Broker, count: int) -> int:
    times: list[float] = []
    for index in range(count):
        runtime = Runtime(settings)
        await runtime.start()
        done = asyncio.Event()
        publisher = asyncio.create_task(flood(broker, done))
        await asyncio.sleep(0.7)
        started = time.monotonic()
        stop = asyncio.create_task(runtime.stop())
        finished, _ = await asyncio.wait({stop}, timeout=HANG_SECONDS)
        done.set()
        await publisher
        if not finished:
            print(f"round {index + 1}: stop still waiting after {HANG_SECONDS:.0f} s; tasks still running:")
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.print_stack(limit=4)
            return 2
        times.append(time.monotonic() - started)
    print(f"{len(times)} stops: median {statistics.median(times):.2f} s, max {max(times):.2f} s")
    return 0


async def main(count: int) -> int:
    base = os.environ["MERCATO_DATABASE_URL"]
    namespace = f"probe{secrets.token_hex(3)}"
    name = f"mercato_probe_{namespace}"
    parts = urlsplit(base)
    url = urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))
    admin = await asyncpg.connect(base)
    await admin.execute(f'CREATE DATABASE "{name}"')
    broker = Broker(os.environ["MERCATO_NATS_URL"], namespace)
    code = 1
    try:
        db = Database(url)
        await migrate(db, MIGRATIONS)
        await db.dispose()
        settings = Settings(
            database_url=url,
            nats_url=os.environ["MERCATO_NATS_URL"],
            redis_url=os.environ["MERCATO_REDIS_URL"],
            namespace=namespace,
            auth_secret=secrets.token_urlsafe(48),
            outbox_poll_interval_seconds=0.05,
            reservation_sweep_interval_seconds=0.2,
            _env_file=None,  # type: ignore[call-arg]
        )
        await broker.connect()
        for context in CONTEXTS:
            await broker.ensure_stream(context)
        code = await rounds(settings, broker, count)
    finally:
        if broker.is_connected:
            await broker.delete_streams()
            await broker.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    if code:
        # A hung stop leaves tasks that asyncio.run's own cleanup would wait for: leave without it.
        sys.stdout.flush()
        os._exit(code)
    return code


if __name__ == "__main__":
    sys.exit(asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)))
