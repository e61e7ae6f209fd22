"""Fixtures of the orders service tests: the orders and payments schemas on the session database
(the app's migration list does not hold them yet), and a running checkout per test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from mercato import orders, payments
from mercato.platform.config import Settings
from mercato.platform.db import Database
from mercato.platform.messaging import Broker
from mercato.platform.migrations import migrate
from tests.service.orders.harness import Checkout


@pytest.fixture(scope="session")
async def orders_db(db: Database) -> Database:
    await migrate(db, [orders.MIGRATIONS, payments.MIGRATIONS])
    return db


@pytest.fixture
async def checkout(orders_db: Database, broker: Broker, settings: Settings) -> AsyncIterator[Checkout]:
    system = Checkout(orders_db, broker, settings)
    await system.start()
    try:
        yield system
    finally:
        await system.stop()
