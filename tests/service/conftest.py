"""Fixtures of the service tests beyond the session's (tests/conftest.py)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import pytest

from mercato.app.contexts import MIGRATIONS
from mercato.platform.db import Database
from mercato.platform.engines import EngineUrls
from mercato.platform.migrations import migrate
from tests.conftest import own_database


@pytest.fixture(scope="module")
async def own_db(engine_urls: EngineUrls) -> AsyncIterator[Database]:
    """A migrated database of the requesting module's own, dropped after it: for tests that read whole
    tables (an export, a rebuild, planner statistics) nobody else may write to."""
    async with own_database(engine_urls, f"svc_{secrets.token_hex(4)}") as url:
        database = Database(url, pool_size=4)
        await migrate(database, MIGRATIONS)
        try:
            yield database
        finally:
            await database.dispose()
