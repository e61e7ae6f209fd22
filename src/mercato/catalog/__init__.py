"""Catalog context: categories, products, variants and prices.

Other contexts use only what is exported here: its events, error codes and client Protocol.
"""

from mercato.catalog.domain import events
from mercato.catalog.domain.errors import (
    CategoryCreateErrorCode,
    ProductCreateErrorCode,
    ProductDeleteErrorCode,
    ProductListErrorCode,
    ProductUpdateErrorCode,
    VariantCreateErrorCode,
    VariantUpdateErrorCode,
)
from mercato.platform.migrations import MigrationSource, script_location

MIGRATIONS = MigrationSource(schema="catalog", script_location=script_location(__file__))

__all__ = [
    "MIGRATIONS",
    "CategoryCreateErrorCode",
    "ProductCreateErrorCode",
    "ProductDeleteErrorCode",
    "ProductListErrorCode",
    "ProductUpdateErrorCode",
    "VariantCreateErrorCode",
    "VariantUpdateErrorCode",
    "events",
]
