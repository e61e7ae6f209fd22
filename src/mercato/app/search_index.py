"""Rebuilding the search index from the catalog (`mercato search reindex`, and after a seed)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from mercato.app.runtime import Runtime
from mercato.catalog.service_layer.listing import Cursor, ListingRequest, ProductSort
from mercato.search.service_layer.indexing import reindex

_PAGE = 100


async def published_product_ids(runtime: Runtime) -> list[uuid.UUID]:
    """Every published product's id, a listing page at a time (keyset: no page is skipped)."""
    ids: list[uuid.UUID] = []
    after: str | None = None
    while True:
        request = ListingRequest(first=_PAGE, after=after, sort=ProductSort.CREATED_AT)
        page = await runtime.catalog_client.list_products(request)
        ids.extend(p.id for p in page.items)
        if not page.has_next_page or not page.items:
            return ids
        after = Cursor.after_product(page.items[-1], request.sort, request.descending).encode()


async def reindex_search(runtime: Runtime, progress: Callable[[int, int], None] | None = None) -> int:
    """Rewrite every published product's document; returns how many were written."""
    ids = await published_product_ids(runtime)
    done = 0

    def step(n: int) -> None:
        nonlocal done
        done += n
        if progress is not None:
            progress(done, len(ids))

    written = await reindex(
        runtime.catalog_client, runtime.search.uow, ids, semantic=runtime.search.semantic, progress=step
    )
    await runtime.cache.bump(runtime.catalog.queries.generation_key)
    return written
