"""The cart's pure rules: request lines, limits, reachability."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from mercato.cart.domain.errors import CartProblem
from mercato.cart.domain.model import Cart, CartLimits, parse_lines, parse_skus
from mercato.platform.errors import InputRejected, Problem

LIMITS = CartLimits(max_lines=3, max_quantity=10)
NOW = datetime(2030, 1, 1, tzinfo=UTC)


def problems(exc: pytest.ExceptionInfo[InputRejected]) -> list[tuple[str | None, object]]:
    return [(e.field, e.code) for e in exc.value.errors]


def a_cart(**lines: int) -> Cart:
    return Cart(id=uuid.uuid4(), owner_id=None, lines=dict(lines), created_at=NOW, updated_at=NOW)


def test_adding_the_same_sku_twice_in_one_request_sums_the_quantities() -> None:
    changes = parse_lines([("A-1", 2), ("B-1", 1), ("A-1", 3)], LIMITS, additive=True)
    assert changes.quantities == {"A-1": 5, "B-1": 1}
    assert changes.field("A-1", "quantity") == "lines.0.quantity"


def test_setting_the_same_sku_twice_in_one_update_is_refused() -> None:
    with pytest.raises(InputRejected) as caught:
        parse_lines([("A-1", 2), ("A-1", 3)], LIMITS, additive=False)
    assert problems(caught) == [("lines.1.sku", Problem.INVALID)]


def test_quantities_outside_one_to_the_maximum_are_refused() -> None:
    with pytest.raises(InputRejected) as caught:
        parse_lines([("A-1", 0), ("B-1", 11), ("C-1", -1)], LIMITS, additive=True)
    assert problems(caught) == [
        ("lines.0.quantity", CartProblem.QUANTITY_OUT_OF_RANGE),
        ("lines.1.quantity", CartProblem.QUANTITY_OUT_OF_RANGE),
        ("lines.2.quantity", CartProblem.QUANTITY_OUT_OF_RANGE),
    ]


def test_a_sum_of_duplicates_above_the_maximum_is_refused() -> None:
    with pytest.raises(InputRejected) as caught:
        parse_lines([("A-1", 6), ("A-1", 5)], LIMITS, additive=True)
    assert problems(caught) == [("lines.0.quantity", CartProblem.QUANTITY_OUT_OF_RANGE)]


def test_a_non_integer_quantity_is_invalid() -> None:
    with pytest.raises(InputRejected) as caught:
        parse_lines([("A-1", True), ("B-1", 1.5)], LIMITS, additive=True)  # type: ignore[list-item]
    assert problems(caught) == [("lines.0.quantity", Problem.INVALID), ("lines.1.quantity", Problem.INVALID)]


def test_malformed_skus_are_refused() -> None:
    with pytest.raises(InputRejected) as caught:
        parse_lines([("", 1), ("bad sku", 1), ("X" * 65, 1), ("-A", 1)], CartLimits(10, 10), additive=True)
    assert problems(caught) == [
        ("lines.0.sku", Problem.REQUIRED),
        ("lines.1.sku", Problem.INVALID),
        ("lines.2.sku", Problem.TOO_LONG),
        ("lines.3.sku", Problem.INVALID),
    ]


def test_a_request_needs_between_one_and_max_lines_entries() -> None:
    with pytest.raises(InputRejected) as empty:
        parse_lines([], LIMITS, additive=True)
    with pytest.raises(InputRejected) as too_many:
        parse_lines([(f"S-{i}", 1) for i in range(4)], LIMITS, additive=True)
    assert problems(empty) == [("lines", Problem.REQUIRED)]
    assert problems(too_many) == [("lines", Problem.TOO_LONG)]


def test_skus_to_remove_are_checked_and_deduplicated() -> None:
    assert parse_skus(["A-1", "B-1", "A-1"], LIMITS) == ["A-1", "B-1"]
    with pytest.raises(InputRejected) as caught:
        parse_skus(["A-1", "no spaces"], LIMITS)
    assert problems(caught) == [("skus.1", Problem.INVALID)]


def test_adding_to_a_line_may_not_exceed_the_maximum_quantity() -> None:
    cart = a_cart(**{"A-1": 8})
    changes = parse_lines([("A-1", 3)], LIMITS, additive=True)
    with pytest.raises(InputRejected) as caught:
        cart.check_additions(changes, LIMITS)
    assert problems(caught) == [("lines.0.quantity", CartProblem.QUANTITY_OUT_OF_RANGE)]
    cart.check_additions(parse_lines([("A-1", 2)], LIMITS, additive=True), LIMITS)  # exactly 10: fine


def test_a_full_cart_takes_more_of_its_lines_but_no_new_line() -> None:
    cart = a_cart(**{"A-1": 1, "B-1": 1, "C-1": 1})
    cart.check_additions(parse_lines([("A-1", 1)], LIMITS, additive=True), LIMITS)
    with pytest.raises(InputRejected) as caught:
        cart.check_additions(parse_lines([("A-1", 1), ("D-1", 1)], LIMITS, additive=True), LIMITS)
    assert problems(caught) == [("lines", CartProblem.TOO_MANY_LINES)]


def test_an_owned_cart_is_reachable_by_its_owner_only_an_anonymous_one_by_anyone() -> None:
    owner, other = uuid.uuid4(), uuid.uuid4()
    owned = Cart.new(owner, NOW)
    anonymous = Cart.new(None, NOW)
    assert (owned.reachable_by(owner), owned.reachable_by(other), owned.reachable_by(None)) == (
        True,
        False,
        False,
    )
    assert (anonymous.reachable_by(None), anonymous.reachable_by(other)) == (True, True)


def test_new_cart_ids_are_random_v4_uuids() -> None:
    ids = {Cart.new(None, NOW).id for _ in range(100)}
    assert len(ids) == 100
    assert {i.version for i in ids} == {4}
