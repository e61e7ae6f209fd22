"""The step a saga awaits, as the metrics name it: from the command that is out, a small fixed set."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mercato.orders.adapters.saga_metrics import age_label
from mercato.orders.domain.saga_types import Payment, Stock, awaited_step
from tests.unit.orders.test_saga_table import STATES


@pytest.mark.parametrize(
    ("name", "step"),
    [
        ("pending", "reserve_stock"),
        ("reserved", "charge_payment"),
        ("reserved_before", "authorize_payment"),
        ("authorized", "capture_payment"),
    ],
)
def test_the_forward_steps_are_named_by_the_command_that_is_out(name: str, step: str) -> None:
    assert awaited_step(STATES[name]) == step


def test_compensations_side_by_side_are_one_name_and_a_settled_saga_awaits_nothing() -> None:
    pending = STATES["pending"]

    assert awaited_step(replace(pending, stock=Stock.RELEASING, payment=Payment.VOIDING)) == (
        "release_stock+void_payment"
    )
    settled = replace(pending, stock=Stock.COMMITTED, payment=Payment.CAPTURED)
    assert awaited_step(settled) is None
    assert awaited_step(replace(settled, refunds=(("k", 5),))) == "refund_payment"  # a staff refund out


@pytest.mark.parametrize(
    ("seconds", "label"),
    [(0.0, "under_5m"), (299.9, "under_5m"), (300.0, "5m_1h"), (3_600.0, "1h_1d"), (86_400.0, "over_1d")],
)
def test_a_stuck_saga_s_age_is_one_of_four_labels(seconds: float, label: str) -> None:
    assert age_label(seconds) == label
