from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from mercato.app.runtime import Runtime
from mercato.gateway.app import create_app
from mercato.platform.config import Settings
from mercato.platform.db import Database
from tests.e2e.api_client import GraphQLClient


@pytest.fixture(scope="package")
async def runtime(settings: Settings, db: Database) -> AsyncIterator[Runtime]:
    """The in-process topology with relays, consumers and sweepers running (schema migrated by `db`).

    Package-scoped: its reservation sweeper must not outlive these tests, since service tests drive
    reservations with a fake clock."""
    rt = Runtime(settings)
    await rt.start()
    yield rt
    await rt.stop()


@pytest.fixture(scope="package")
async def api(settings: Settings, runtime: Runtime) -> AsyncIterator[GraphQLClient]:
    app = create_app(settings, runtime)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://mercato.test"
    ) as http:
        yield GraphQLClient(http)


@pytest.fixture(scope="package")
async def locked_api(settings: Settings, runtime: Runtime) -> AsyncIterator[GraphQLClient]:
    """The same API with the staff mutations switched off (the default)."""
    app = create_app(settings.model_copy(update={"staff_api_enabled": False}), runtime)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://mercato.test"
    ) as http:
        yield GraphQLClient(http)
