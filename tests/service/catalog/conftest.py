from __future__ import annotations

import pytest
from redis.asyncio import Redis

from mercato.catalog.bootstrap import CatalogService
from mercato.platform.cache import Cache
from mercato.platform.db import Database


@pytest.fixture(scope="session")
def catalog(db: Database, redis: Redis, namespace: str) -> CatalogService:
    """The catalog with caching on (reads go through Redis under this session's namespace)."""
    return CatalogService(db, Cache(redis, namespace), namespace)


@pytest.fixture(scope="session")
def uncached_catalog(db: Database, redis: Redis, namespace: str) -> CatalogService:
    return CatalogService(db, Cache(redis, namespace, enabled=False), namespace)
