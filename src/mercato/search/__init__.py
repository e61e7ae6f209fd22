"""Search context: a relevance-ranked index of the catalog's published products.

Fed by the catalog's product events and inventory's availability flips; queried by the gateway
through `SearchClient`. Others use only what is exported here.
"""

from mercato.platform.migrations import MigrationSource, script_location
from mercato.search.client import InProcessSearchClient, SearchClient
from mercato.search.service_layer.requests import (
    Correction,
    Hit,
    Interpretation,
    SearchFilter,
    SearchMode,
    SearchRequest,
    SearchResult,
)

MIGRATIONS = MigrationSource(schema="search", script_location=script_location(__file__))

__all__ = [
    "MIGRATIONS",
    "Correction",
    "Hit",
    "InProcessSearchClient",
    "Interpretation",
    "SearchClient",
    "SearchFilter",
    "SearchMode",
    "SearchRequest",
    "SearchResult",
]
