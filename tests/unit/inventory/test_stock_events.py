"""The level events of one transaction, from its stock writes (oldest first): pure, no I/O."""

from __future__ import annotations

from typing import Any

from mercato.inventory.domain.stock import LevelMove
from mercato.inventory.service_layer.unit_of_work import stock_events


def summary(moves: list[LevelMove]) -> list[tuple[str, dict[str, Any]]]:
    return [(event.type_name(), event.payload()) for event in stock_events(moves)]


def test_one_level_event_per_sku_from_its_first_write_to_its_last() -> None:
    moves = [
        LevelMove("B", 5, 4, 11),
        LevelMove("A", 3, 1, 20),
        LevelMove("B", 4, 2, 12),
        LevelMove("A", 1, 1, 21),
    ]
    assert summary(moves) == [
        ("inventory.stock_level_changed", {"sku": "A", "available": 1, "version": 21}),
        ("inventory.stock_level_changed", {"sku": "B", "available": 2, "version": 12}),
    ]


def test_a_crossing_of_zero_adds_a_flip_with_the_same_version() -> None:
    out_and_back = [LevelMove("A", 1, 0, 5), LevelMove("A", 0, 2, 6)]
    sold_out = [LevelMove("B", 2, 0, 8)]
    first_units = [LevelMove("C", 0, 4, 1)]
    # A went out of stock and came back within the transaction: a level event, no flip.
    assert summary([*out_and_back, *sold_out, *first_units]) == [
        ("inventory.stock_level_changed", {"sku": "A", "available": 2, "version": 6}),
        ("inventory.stock_level_changed", {"sku": "B", "available": 0, "version": 8}),
        ("inventory.availability_flipped", {"sku": "B", "in_stock": False, "available": 0, "version": 8}),
        ("inventory.stock_level_changed", {"sku": "C", "available": 4, "version": 1}),
        ("inventory.availability_flipped", {"sku": "C", "in_stock": True, "available": 4, "version": 1}),
    ]


def test_no_event_when_availability_ends_where_it_started() -> None:
    assert summary([LevelMove("A", 3, 1, 7), LevelMove("A", 1, 3, 8)]) == []
    assert summary([]) == []
