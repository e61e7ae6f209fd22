"""Per-request batch loading of availability: the units of every SKU asked for in one call to the
catalog's read model (`CatalogClient.availability`), for the product page, search results and staff
mutations' answers; a listing page gets its availability with the page instead."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol


class LevelSource(Protocol):
    async def availability(self, skus: Sequence[str]) -> dict[str, int]: ...


class AvailabilityLoader:
    """Batches like a DataLoader (every call made in the same turn of the event loop shares one call,
    and a SKU is asked for at most once per request), but per call, not per key: a DataLoader's future
    and callback per SKU cost more than the rest of a listing page with availability (~300 SKUs a
    page)."""

    def __init__(self, client: LevelSource) -> None:
        self._client = client
        self._known: dict[str, int] = {}
        self._pending: set[str] = set()
        self._batch: asyncio.Future[None] | None = None

    async def available(self, skus: Sequence[str]) -> dict[str, int]:
        """Units that can be ordered now of each of `skus` (0 for an unknown SKU)."""
        missing = [s for s in skus if s not in self._known]
        if missing:
            self._pending.update(missing)
            if self._batch is None:
                self._batch = asyncio.get_running_loop().create_future()
                asyncio.get_running_loop().call_soon(self._dispatch)
            batch = self._batch
            await batch
        known = self._known
        return {s: known[s] for s in skus}

    def _dispatch(self) -> None:
        batch, self._batch = self._batch, None
        wanted, self._pending = sorted(self._pending), set()
        assert batch is not None
        task = asyncio.ensure_future(self._client.availability(wanted))

        def done(finished: asyncio.Future[dict[str, int]]) -> None:
            if finished.cancelled():
                batch.cancel()
            elif (error := finished.exception()) is not None:
                batch.set_exception(error)
            else:
                levels = finished.result()
                self._known.update({s: levels.get(s, 0) for s in wanted})
                batch.set_result(None)

        task.add_done_callback(done)
