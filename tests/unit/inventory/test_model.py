"""Input checks, reservation state transitions and event payloads: pure, no I/O."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from mercato.inventory import AdjustStock, ReservationLine, ReserveStock
from mercato.inventory.domain.events import AvailabilityFlipped, StockLevelChanged
from mercato.inventory.domain.model import (
    Adjustment,
    Reservation,
    ReservationStatus,
    Warehouse,
    check_adjustment,
)
from mercato.inventory.domain.rules import ReservationNotActive
from mercato.inventory.domain.stock import Allocation
from mercato.platform.errors import InputRejected, Problem
from mercato.platform.events import Envelope

NOW = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)
W1 = uuid.UUID(int=1)
W2 = uuid.UUID(int=2)


def problems(exc: InputRejected) -> list[tuple[str | None, Problem]]:
    return [(e.field, e.code) for e in exc.errors]  # type: ignore[misc]


def test_warehouse_code_must_be_a_slug_and_name_is_required() -> None:
    with pytest.raises(InputRejected) as caught:
        Warehouse.create(code="Main WH", name=" ")
    assert problems(caught.value) == [("code", Problem.INVALID), ("name", Problem.REQUIRED)]
    with pytest.raises(InputRejected) as long:
        Warehouse.create(code="a" * 65, name="x")
    assert problems(long.value) == [("code", Problem.TOO_LONG)]
    assert Warehouse.create(code="main-1", name=" Main ").name == "Main"


def adjust(**changes: object) -> AdjustStock:
    fields: dict[str, object] = {
        "sku": "SKU-1",
        "warehouse_id": W1,
        "reason": "RECEIVED",
        "actor": "ann",
        "delta": 5,
    }
    fields.update(changes)
    return AdjustStock(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"delta": None}, [("delta", Problem.REQUIRED)]),
        ({"set_on_hand": 3}, [("delta", Problem.INVALID)]),
        ({"delta": 0}, [("delta", Problem.INVALID)]),
        ({"delta": True}, [("delta", Problem.INVALID)]),
        ({"delta": -(10**9)}, [("delta", Problem.OUT_OF_RANGE)]),
        ({"delta": None, "set_on_hand": -1}, [("setOnHand", Problem.OUT_OF_RANGE)]),
        ({"reason": "STOLEN"}, [("reason", Problem.INVALID)]),
        ({"actor": ""}, [("actor", Problem.REQUIRED)]),
        ({"sku": "bad sku"}, [("sku", Problem.INVALID)]),
        ({"idempotency_key": "k" * 201}, [("idempotencyKey", Problem.TOO_LONG)]),
    ],
)
def test_adjustment_input_checks(changes: dict[str, object], expected: list[tuple[str, Problem]]) -> None:
    with pytest.raises(InputRejected) as caught:
        check_adjustment(adjust(**changes))
    assert problems(caught.value) == expected


def test_adjustment_answers_only_the_same_request() -> None:
    first = adjust(idempotency_key="k1")
    recorded = Adjustment.record(first, delta=5, on_hand_after=9)
    assert recorded.answers(first)
    assert not recorded.answers(adjust(idempotency_key="k1", delta=6))
    assert not recorded.answers(adjust(idempotency_key="k1", warehouse_id=W2))
    assert not recorded.answers(adjust(idempotency_key="k1", note="other"))
    count = adjust(idempotency_key="k2", delta=None, set_on_hand=9)
    counted = Adjustment.record(count, delta=4, on_hand_after=9)
    assert counted.answers(count)
    # Same resulting change, but asked as a delta rather than a count: a different request.
    assert not counted.answers(adjust(idempotency_key="k2", delta=4))


def test_reservation_request_checks_and_merges_lines() -> None:
    with pytest.raises(InputRejected) as caught:
        Reservation.open(ReserveStock(reference="", lines=[("A", 0), ("b b", 10_001)], ttl_seconds=0), NOW)
    assert problems(caught.value) == [
        ("reference", Problem.REQUIRED),
        ("lines.0.quantity", Problem.OUT_OF_RANGE),
        ("lines.1.sku", Problem.INVALID),
        ("lines.1.quantity", Problem.OUT_OF_RANGE),
        ("ttlSeconds", Problem.OUT_OF_RANGE),
    ]
    with pytest.raises(InputRejected) as empty:
        Reservation.open(ReserveStock(reference="r", lines=[]), NOW)
    assert problems(empty.value) == [("lines", Problem.REQUIRED)]
    reservation, lines = Reservation.open(
        ReserveStock(reference="r", lines=[ReservationLine("A", 2), ("B", 1), ("A", 3)], ttl_seconds=60), NOW
    )
    assert lines == {"A": 5, "B": 1}
    assert reservation.status is ReservationStatus.ACTIVE
    assert reservation.expires_at == NOW + timedelta(seconds=60)


def reservation(status: ReservationStatus = ReservationStatus.ACTIVE) -> Reservation:
    return Reservation(
        id=uuid.UUID(int=9),
        reference="order-1",
        status=status,
        expires_at=NOW,
        allocations=(Allocation("A", W2, 1), Allocation("A", W1, 2), Allocation("B", W1, 1)),
    )


def test_reservation_lines_sum_allocations_per_sku() -> None:
    assert reservation().lines == (ReservationLine("A", 3), ReservationLine("B", 1))
    assert reservation().skus == ["A", "B"]


def test_commit_transitions() -> None:
    outcome = reservation().commit()
    assert outcome is not None
    committed, event = outcome
    assert committed.status is ReservationStatus.COMMITTED
    assert event.payload()["lines"] == [{"sku": "A", "quantity": 3}, {"sku": "B", "quantity": 1}]
    assert committed.commit() is None
    for status in (ReservationStatus.RELEASED, ReservationStatus.EXPIRED):
        with pytest.raises(ReservationNotActive):
            reservation(status).commit()


def test_release_and_expire_transitions() -> None:
    outcome = reservation().release("PAYMENT_FAILED")
    assert outcome is not None
    released, event = outcome
    assert (released.status, released.release_reason) == (ReservationStatus.RELEASED, "PAYMENT_FAILED")
    assert (event.reason, event.status) == ("PAYMENT_FAILED", "RELEASED")
    assert released.release("again") is None
    with pytest.raises(ReservationNotActive):
        reservation(ReservationStatus.COMMITTED).release("x")
    # A caller's reason "EXPIRED" does not make the reservation EXPIRED; only the sweep does.
    by_caller = reservation().release("EXPIRED")
    assert by_caller is not None and by_caller[0].status is ReservationStatus.RELEASED
    assert reservation().expire(NOW - timedelta(seconds=1)) is None
    swept = reservation().expire(NOW)
    assert swept is not None
    assert (swept[0].status, swept[1].reason, swept[1].status) == (
        ReservationStatus.EXPIRED,
        "EXPIRED",
        "EXPIRED",
    )
    assert reservation(ReservationStatus.COMMITTED).expire(NOW) is None


def test_stock_level_changed_payload_is_the_catalog_contract() -> None:
    event = StockLevelChanged(aggregate_id="A", sku="A", available=7, stock_version=42)
    envelope = Envelope.of(event)
    assert envelope.payload == {"sku": "A", "available": 7, "version": 42}
    assert envelope.version == 1
    assert envelope.subject("ns") == "ns.inventory.v1.stock_level_changed"


def test_availability_flipped_payload_is_the_catalog_contract() -> None:
    from google.protobuf import json_format

    from mercato._gen.mercato.inventory.v1 import events_pb2

    event = AvailabilityFlipped(aggregate_id="A", sku="A", in_stock=False, available=0, stock_version=43)
    envelope = Envelope.of(event)
    assert envelope.payload == {"sku": "A", "in_stock": False, "available": 0, "version": 43}
    assert envelope.subject("ns") == "ns.inventory.v1.availability_flipped"
    # events.proto describes the JSON payload, field for field.
    message = json_format.ParseDict(envelope.payload, events_pb2.AvailabilityFlipped())
    assert (message.sku, message.in_stock, message.available, message.version) == ("A", False, 0, 43)
