"""The bounded contexts this build runs, in migration order."""

from __future__ import annotations

from mercato.catalog import MIGRATIONS as CATALOG_MIGRATIONS
from mercato.customers import MIGRATIONS as CUSTOMERS_MIGRATIONS
from mercato.inventory import MIGRATIONS as INVENTORY_MIGRATIONS
from mercato.orders import MIGRATIONS as ORDERS_MIGRATIONS
from mercato.payments import MIGRATIONS as PAYMENTS_MIGRATIONS
from mercato.platform.config import Settings
from mercato.platform.db_roles import ContextRole, context_role
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


def context_roles(settings: Settings) -> list[ContextRole]:
    """The contexts' own database roles `mercato migrate` manages: one per context whose
    `MERCATO_<CONTEXT>_DATABASE_URL` names a role other than the owner's (platform.db_roles)."""
    roles: list[ContextRole] = []
    for source in MIGRATIONS:
        url = getattr(settings, f"{source.schema}_database_url")
        role = context_role(source.schema, url, settings.database_url or "") if url else None
        if role is not None:
            roles.append(role)
    return roles
