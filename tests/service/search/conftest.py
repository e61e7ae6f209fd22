from __future__ import annotations

import pytest
from redis.asyncio import Redis

from mercato.catalog.bootstrap import CatalogService
from mercato.catalog.client import InProcessCatalogClient
from mercato.platform.cache import Cache
from mercato.platform.db import Database
from mercato.search.bootstrap import SearchService


@pytest.fixture(scope="session")
def catalog(db: Database, redis: Redis, namespace: str) -> CatalogService:
    return CatalogService(db, Cache(redis, namespace, enabled=False), namespace)


@pytest.fixture(scope="session")
def search(db: Database, catalog: CatalogService, namespace: str) -> SearchService:
    return SearchService(db, InProcessCatalogClient(catalog), namespace)
