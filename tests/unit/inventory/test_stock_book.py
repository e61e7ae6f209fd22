"""Allocation arithmetic of the stock book: pure, no I/O."""

from __future__ import annotations

import copy
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mercato.inventory.domain.rules import BelowReserved, InsufficientStock
from mercato.inventory.domain.stock import (
    ON_HAND_MAX,
    Allocation,
    StockBook,
    StockInvariantBroken,
    StockLevel,
    allocate,
)
from mercato.platform.errors import InputRejected, Problem

W1 = uuid.UUID(int=1)
W2 = uuid.UUID(int=2)
W3 = uuid.UUID(int=3)
SKUS = ["A", "B", "C"]
WAREHOUSES = [W1, W2, W3]


def level(sku: str, warehouse: uuid.UUID, on_hand: int, reserved: int = 0, version: int = 0) -> StockLevel:
    return StockLevel(sku, warehouse, on_hand, reserved, version)


def snapshot(book: StockBook) -> dict[tuple[str, uuid.UUID], tuple[int, int, int]]:
    return {
        (lv.sku, lv.warehouse_id): (lv.on_hand, lv.reserved, lv.version)
        for sku in SKUS
        for lv in book.levels_of(sku)
    }


def test_allocate_takes_most_available_first_then_lowest_warehouse_id() -> None:
    levels = [level("A", W1, 3), level("A", W2, 5), level("A", W3, 5)]
    assert allocate(levels, 7) == [Allocation("A", W2, 5), Allocation("A", W3, 2)]
    assert allocate(levels, 13) == [Allocation("A", W2, 5), Allocation("A", W3, 5), Allocation("A", W1, 3)]
    assert allocate(levels, 14) is None


def test_allocate_ignores_reserved_units() -> None:
    levels = [level("A", W1, 10, reserved=9), level("A", W2, 2)]
    assert allocate(levels, 3) == [Allocation("A", W2, 2), Allocation("A", W1, 1)]
    assert allocate(levels, 4) is None


def test_reserve_names_every_short_sku_and_changes_nothing() -> None:
    book = StockBook([level("A", W1, 1), level("B", W1, 5)])
    before = snapshot(book)
    with pytest.raises(InsufficientStock) as caught:
        book.reserve({"A": 2, "B": 5, "C": 1})
    assert caught.value.skus == ["A", "C"]
    assert snapshot(book) == before
    assert book.changed == []


def test_each_row_version_is_bumped_once_per_book() -> None:
    book = StockBook([level("A", W1, 10, version=4)])
    book.reserve({"A": 2})
    book.reserve({"A": 3})
    assert book.level("A", W1) == level("A", W1, 10, reserved=5, version=5)
    assert [lv.warehouse_id for lv in book.changed] == [W1]


def test_delta_counts_the_rows_to_write_and_a_saved_book_bumps_again() -> None:
    book = StockBook([level("A", W1, 2, version=4), level("A", W2, 3, version=7), level("B", W1, 5)])
    book.reserve({"A": 4})  # W2's 3, then 1 of W1
    assert (book.delta("A"), book.delta("B")) == (-4, 0)
    book.mark_saved()
    assert (book.changed, book.delta("A")) == ([], 0)
    book.release([Allocation("A", W2, 3)])
    # A new write of the row: its version moves again, and the delta is that write's only.
    assert book.level("A", W2) == level("A", W2, 3, reserved=0, version=9)
    assert book.delta("A") == 3


def test_commit_keeps_availability_and_release_restores_it() -> None:
    book = StockBook([level("A", W1, 10), level("B", W1, 4)])
    held = book.reserve({"A": 3})
    assert book.availability_changed == ["A"]
    committed = StockBook([level("A", W1, 10, reserved=3)])
    committed.commit(held)
    assert committed.level("A", W1) == level("A", W1, 7, reserved=0, version=1)
    assert committed.availability_changed == []
    released = StockBook([level("A", W1, 10, reserved=3)])
    released.release(held)
    assert released.level("A", W1) == level("A", W1, 10, reserved=0, version=1)
    assert released.availability_changed == ["A"]


def test_commit_of_units_not_reserved_is_an_invariant_error() -> None:
    book = StockBook([level("A", W1, 10, reserved=1)])
    with pytest.raises(StockInvariantBroken):
        book.commit([Allocation("A", W1, 2)])
    with pytest.raises(StockInvariantBroken):
        book.release([Allocation("A", W2, 1)])


def test_adjust_by_delta_and_by_count() -> None:
    book = StockBook([level("A", W1, 10, reserved=4)])
    assert book.adjust("A", W1, delta=-3) == (-3, 7)
    assert book.adjust("A", W1, set_on_hand=12) == (5, 12)
    assert book.adjust("A", W1, set_on_hand=12) == (0, 12)
    assert book.level("A", W1) == level("A", W1, 12, reserved=4, version=1)


def test_adjust_refuses_negative_and_below_reserved() -> None:
    book = StockBook([level("A", W1, 10, reserved=4)])
    with pytest.raises(InsufficientStock) as negative:
        book.adjust("A", W1, delta=-11)
    assert (negative.value.skus, negative.value.field) == (["A"], "delta")
    with pytest.raises(BelowReserved) as below:
        book.adjust("A", W1, set_on_hand=3)
    assert below.value.field == "setOnHand"
    with pytest.raises(InsufficientStock):
        book.adjust("A", W2, delta=-1)  # no row: nothing to remove
    with pytest.raises(InputRejected) as too_many:
        book.adjust("A", W1, delta=ON_HAND_MAX)
    assert too_many.value.code is Problem.OUT_OF_RANGE
    assert book.level("A", W1) == level("A", W1, 10, reserved=4)
    assert book.changed == []


levels_strategy = st.lists(
    st.builds(
        lambda sku, wh, on_hand, reserved_share: level(sku, wh, on_hand, min(on_hand, reserved_share)),
        st.sampled_from(SKUS),
        st.sampled_from(WAREHOUSES),
        st.integers(0, 50),
        st.integers(0, 50),
    ),
    max_size=9,
    unique_by=lambda lv: (lv.sku, lv.warehouse_id),
)
lines_strategy = st.dictionaries(st.sampled_from(SKUS), st.integers(1, 60), min_size=1)


@given(levels_strategy, lines_strategy)
def test_reserve_is_all_or_nothing_and_conserves_units(
    levels: list[StockLevel], lines: dict[str, int]
) -> None:
    book = StockBook(copy.deepcopy(levels))
    before = snapshot(book)
    available_before = {sku: book.available(sku) for sku in SKUS}
    try:
        allocations = book.reserve(lines)
    except InsufficientStock as exc:
        assert exc.skus == sorted(sku for sku, q in lines.items() if q > available_before[sku])
        assert exc.skus
        assert snapshot(book) == before
        return
    assert all(q <= available_before[sku] for sku, q in lines.items())
    for sku in SKUS:
        allocated = sum(a.quantity for a in allocations if a.sku == sku)
        assert allocated == lines.get(sku, 0)
        assert book.available(sku) == available_before[sku] - allocated
    assert all(a.quantity > 0 for a in allocations)
    for (sku, warehouse), (on_hand, reserved, version) in snapshot(book).items():
        old_on_hand, old_reserved, old_version = before[(sku, warehouse)]
        held = sum(a.quantity for a in allocations if (a.sku, a.warehouse_id) == (sku, warehouse))
        assert on_hand == old_on_hand
        assert reserved == old_reserved + held
        assert 0 <= reserved <= on_hand
        assert version == old_version + (1 if held else 0)


@given(levels_strategy, lines_strategy, st.booleans())
def test_commit_or_release_after_reserve_never_goes_negative(
    levels: list[StockLevel], lines: dict[str, int], commit: bool
) -> None:
    book = StockBook(copy.deepcopy(levels))
    try:
        allocations = book.reserve(lines)
    except InsufficientStock:
        return
    reserved = snapshot(book)
    after = StockBook(copy.deepcopy([lv for sku in SKUS for lv in book.levels_of(sku)]))
    (after.commit if commit else after.release)(allocations)
    for key, (on_hand, reserved_now, _) in snapshot(after).items():
        held = sum(a.quantity for a in allocations if (a.sku, a.warehouse_id) == key)
        assert on_hand == reserved[key][0] - (held if commit else 0)
        assert reserved_now == reserved[key][1] - held
        assert 0 <= reserved_now <= on_hand
    if commit:
        assert after.availability_changed == []


@given(levels_strategy, st.sampled_from(SKUS), st.sampled_from(WAREHOUSES), st.integers(-80, 80))
def test_adjust_never_breaks_the_invariants(
    levels: list[StockLevel], sku: str, warehouse: uuid.UUID, delta: int
) -> None:
    book = StockBook(copy.deepcopy(levels))
    row = book.level(sku, warehouse)
    if row is None or delta == 0:
        return
    on_hand, reserved = row.on_hand, row.reserved
    try:
        assert book.adjust(sku, warehouse, delta=delta) == (delta, on_hand + delta)
    except (InsufficientStock, BelowReserved):
        assert on_hand + delta < reserved or on_hand + delta < 0
        assert (row.on_hand, row.reserved) == (on_hand, reserved)
        return
    assert 0 <= row.reserved <= row.on_hand == on_hand + delta
