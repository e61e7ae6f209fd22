"""Redis ACL users per component (deploy/compose/redis-users.acl, namespace `mercato`), on a redis-server of
this test's own: each user does its component's work through Mercato's own adapters, and reaches
neither another component's keys nor the dangerous commands. No password: no access at all."""

from __future__ import annotations

import secrets
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.exceptions import AuthenticationError, NoPermissionError, ResponseError

from mercato.cart.adapters.redis_store import RedisCartStore
from mercato.cart.domain.model import Cart
from mercato.catalog.client import CATALOG_GENERATION_KEY
from mercato.platform._engine_procs import redis_server_bin
from mercato.platform.cache import Cache
from mercato.platform.rate_limit import FixedWindow

ACL = Path(__file__).resolve().parents[2] / "deploy" / "compose" / "redis-users.acl"
NS = "mercato"  # the compose file's namespace, which the ACL's key patterns name


@pytest.fixture(scope="module")
def redis_port() -> Iterator[int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    workdir = Path(tempfile.mkdtemp(prefix="mercato-test-redis-users-"))
    args = [str(redis_server_bin()), "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    args += ["--dir", str(workdir), "--aclfile", str(ACL)]
    server = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
async def as_user(redis_port: int) -> AsyncIterator[Callable[[str | None], Redis]]:
    opened: list[Redis] = []

    def make(user: str | None) -> Redis:
        auth = f"{user}:dev-{user}@" if user else ""
        client = Redis.from_url(f"redis://{auth}127.0.0.1:{redis_port}/0")
        opened.append(client)
        return client

    yield make
    for client in opened:
        await client.aclose()


async def _denied(call: Awaitable[object]) -> bool:
    try:
        await call
    except (NoPermissionError, AuthenticationError):
        return True
    except ResponseError as exc:
        return "NOPERM" in str(exc) or "NOAUTH" in str(exc)
    return False


async def test_each_component_works_on_its_own_keys(as_user: Callable[[str | None], Redis]) -> None:
    make = as_user
    now = datetime.now(UTC)

    cart = await RedisCartStore(make("cart"), NS, 60).create(Cart.new(uuid.uuid4(), now))
    loaded = await RedisCartStore(make("cart"), NS, 60).load(cart.id)
    limits = FixedWindow(make("gateway"), NS, "ratelimit", window_seconds=60)
    limited = await limits.hit([limits.key("cart_create", "ip", "192.0.2.1")])
    throttle = FixedWindow(make("customers"), NS, "throttle", window_seconds=60)
    throttled = await throttle.hit([throttle.key("ip", "192.0.2.1")])
    customers = make("customers")
    stamp = f"{NS}:customers:token_stamp:{uuid.uuid4()}"
    await customers.set(stamp, 7, ex=60)
    catalog = make("catalog")
    await catalog.set(f"{NS}:cache:page:x", b"cached", ex=60)
    # Search drops the gateway's cached answers when its index changed: the catalog's generation.
    generation = Cache(make("search"), NS).key(CATALOG_GENERATION_KEY)
    before = int(await catalog.get(generation) or 0)
    await Cache(make("search"), NS).bump(generation)

    assert loaded is not None and loaded.owner_id == cart.owner_id
    assert (limited, throttled) == ([1], [1])
    assert await customers.get(stamp) == b"7"
    assert await catalog.get(f"{NS}:cache:page:x") == b"cached"
    assert int(await catalog.get(generation) or 0) == before + 1


async def test_no_component_reaches_another_ones_keys_or_the_dangerous_commands(
    as_user: Callable[[str | None], Redis],
) -> None:
    make = as_user
    cart, gateway, catalog, search = make("cart"), make("gateway"), make("catalog"), make("search")
    key = secrets.token_hex(4)

    outcomes = {
        "cart reads a token stamp": await _denied(cart.get(f"{NS}:customers:token_stamp:{key}")),
        "gateway reads a cart": await _denied(gateway.hgetall(f"{NS}:cart:{key}")),
        "catalog writes a rate limit": await _denied(catalog.incr(f"{NS}:ratelimit:{key}")),
        "catalog reads another namespace": await _denied(catalog.get(f"other:cache:{key}")),
        "search reads a cart": await _denied(search.hgetall(f"{NS}:cart:{key}")),
        "gateway flushes everything": await _denied(gateway.flushall()),
        "cart lists every key": await _denied(cart.keys("*")),
        "catalog reads the config": await _denied(catalog.config_get("requirepass")),
        "nobody without a password": await _denied(make(None).get(f"{NS}:cache:{key}")),
    }

    assert outcomes == dict.fromkeys(outcomes, True)
