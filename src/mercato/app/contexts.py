"""The bounded contexts this build runs, in migration order."""

from __future__ import annotations

from mercato.catalog import MIGRATIONS as CATALOG_MIGRATIONS
from mercato.customers import MIGRATIONS as CUSTOMERS_MIGRATIONS
from mercato.inventory import MIGRATIONS as INVENTORY_MIGRATIONS
from mercato.orders import MIGRATIONS as ORDERS_MIGRATIONS
from mercato.payments import MIGRATIONS as PAYMENTS_MIGRATIONS
from mercato.platform.migrations import MigrationSource
from mercato.search import MIGRATIONS as SEARCH_MIGRATIONS

MIGRATIONS: list[MigrationSource] = [
    CATALOG_MIGRATIONS,
    INVENTORY_MIGRATIONS,
    CUSTOMERS_MIGRATIONS,
    PAYMENTS_MIGRATIONS,
    ORDERS_MIGRATIONS,
    SEARCH_MIGRATIONS,
]
