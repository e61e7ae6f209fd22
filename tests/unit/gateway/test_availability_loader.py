"""Availability for a page: one call to the catalog's read model per turn of the event loop, each SKU
asked once."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from mercato.gateway.graphql.catalog.availability import AvailabilityLoader


class FakeInventory:
    def __init__(self, levels: dict[str, int], fail: bool = False) -> None:
        self.levels = levels
        self.fail = fail
        self.calls: list[list[str]] = []

    async def availability(self, skus: list[str]) -> dict[str, int]:
        self.calls.append(list(skus))
        if self.fail:
            raise ConnectionError("inventory is down")
        return {s: self.levels[s] for s in skus if s in self.levels}


async def test_calls_in_the_same_turn_share_one_call() -> None:
    inventory = FakeInventory({"A": 3, "B": 0, "C": 7})
    loaders = AvailabilityLoader(cast(Any, inventory))

    first, second = await asyncio.gather(loaders.available(["A", "B"]), loaders.available(["C", "A"]))

    assert first == {"A": 3, "B": 0}
    assert second == {"C": 7, "A": 3}
    assert inventory.calls == [["A", "B", "C"]]


async def test_a_sku_is_asked_once_per_request_and_unknown_ones_are_zero() -> None:
    inventory = FakeInventory({"A": 3})
    loaders = AvailabilityLoader(cast(Any, inventory))
    await loaders.available(["A"])

    levels = await loaders.available(["A", "NOPE"])

    assert levels == {"A": 3, "NOPE": 0}
    assert inventory.calls == [["A"], ["NOPE"]]


async def test_a_failed_call_reaches_every_caller_and_is_not_remembered() -> None:
    inventory = FakeInventory({"A": 3}, fail=True)
    loaders = AvailabilityLoader(cast(Any, inventory))

    results = await asyncio.gather(loaders.available(["A"]), loaders.available(["A"]), return_exceptions=True)
    inventory.fail = False
    again = await loaders.available(["A"])

    assert [type(r) for r in results] == [ConnectionError, ConnectionError]
    assert again == {"A": 3}
    assert inventory.calls == [["A"], ["A"]]


async def test_no_call_for_no_skus() -> None:
    inventory = FakeInventory({})
    loaders = AvailabilityLoader(cast(Any, inventory))

    assert await loaders.available([]) == {}
    assert inventory.calls == []
