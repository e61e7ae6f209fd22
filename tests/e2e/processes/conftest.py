"""Fixtures of the tests that run `mercato up` (one operating-system process per context): an
installation of their own, the launched topology, its gateway's HTTP client, a staff member and a
shopper signed in over it. A module needing a differently launched topology overrides `launcher`."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import httpx
import pytest
from redis.asyncio import Redis

from mercato.app.components import Engines, customers_component
from mercato.app.contexts import MIGRATIONS
from mercato.app.launcher import GATEWAY, Launcher
from mercato.customers.bootstrap import create_admin
from mercato.platform.config import Settings
from mercato.platform.db import Database
from mercato.platform.engines import EngineUrls
from mercato.platform.messaging import Broker
from mercato.platform.migrations import migrate
from tests.conftest import assert_money_reconciles, own_database, ref, remove_namespace
from tests.e2e.api_client import GraphQLClient
from tests.e2e.processes.topology import PASSWORD, launched, signed_in


@pytest.fixture(scope="module")
async def installation(engine_urls: EngineUrls) -> AsyncIterator[Settings]:
    """A database and namespace of their own, migrated; all of it removed afterwards."""
    namespace = f"up{secrets.token_hex(4)}"
    async with own_database(engine_urls, namespace) as database_url:
        settings = Settings(
            database_url=database_url,
            nats_url=engine_urls.nats,
            redis_url=engine_urls.redis,
            namespace=namespace,
            auth_secret=secrets.token_urlsafe(48),
            checkout_wait_seconds=2.0,
            login_attempts_per_ip=1_000_000,
            cart_create_per_ip=1_000_000,
            checkout_per_customer=1_000_000,
            _env_file=None,  # type: ignore[call-arg]
        )
        db = Database(database_url)
        broker, redis = Broker(engine_urls.nats, namespace), Redis.from_url(engine_urls.redis)
        await migrate(db, MIGRATIONS)
        await broker.connect()
        try:
            yield settings
            await assert_money_reconciles(db)
        finally:
            await db.dispose()
            await remove_namespace(broker, redis, namespace)
            await broker.close()
            await redis.aclose()


@pytest.fixture(scope="module")
async def launcher(
    installation: Settings, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Launcher]:
    async with launched(installation, tmp_path_factory.mktemp("up-logs")) as topology:
        yield topology


@pytest.fixture(scope="module")
async def http(launcher: Launcher) -> AsyncIterator[httpx.AsyncClient]:
    port = launcher.ports[GATEWAY].http
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
async def staff(installation: Settings, http: httpx.AsyncClient) -> AsyncIterator[GraphQLClient]:
    """An administrator (created directly, as `mercato admin create` does), signed in over HTTP."""
    engines = Engines(installation)
    email = f"{ref('admin')}@example.com"
    try:
        await create_admin(customers_component(engines).service, email, PASSWORD)
    finally:
        await engines.close()
    client = await signed_in(http, email)
    yield client
    await client.http.aclose()


@pytest.fixture(scope="module")
async def shopper(http: httpx.AsyncClient) -> AsyncIterator[GraphQLClient]:
    email = f"{ref('shopper')}@example.com"
    await GraphQLClient(http).mutate(
        "mutation($input: AccountRegisterInput!) { accountRegister(input: $input) { errors { code } } }",
        {"input": {"email": email, "password": PASSWORD}},
        "accountRegister",
    )
    client = await signed_in(http, email)
    yield client
    await client.http.aclose()
