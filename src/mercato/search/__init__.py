"""Search context: a relevance-ranked index of the catalog's published products.

Fed by the catalog's product events and inventory's availability flips; queried by the gateway
through `SearchClient`. Others use only what is exported here.
"""

from sqlalchemy import text

from mercato.platform.db import Database
from mercato.platform.migrations import MigrationSource, script_location
from mercato.search.client import InProcessSearchClient, Recommended, SearchClient
from mercato.search.domain.commands import (
    RECOMMENDATIONS_MAX,
    BoughtTogether,
    RecordPurchase,
    SimilarProducts,
)
from mercato.search.domain.highlight import highlight
from mercato.search.service_layer.facets import Facets, PriceRange
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


async def semantic_schema(db: Database) -> bool:
    """Whether the embeddings table exists (the migrations create it only where pgvector is)."""
    async with db.connect() as conn:
        return bool((await conn.execute(text("SELECT to_regclass('search.embeddings')"))).scalar())


__all__ = [
    "MIGRATIONS",
    "RECOMMENDATIONS_MAX",
    "BoughtTogether",
    "Correction",
    "Facets",
    "Hit",
    "InProcessSearchClient",
    "Interpretation",
    "PriceRange",
    "Recommended",
    "RecordPurchase",
    "SearchClient",
    "SearchFilter",
    "SearchMode",
    "SearchRequest",
    "SearchResult",
    "SimilarProducts",
    "highlight",
    "semantic_schema",
]
