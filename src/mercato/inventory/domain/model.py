"""Inventory aggregates: warehouses, adjustments (the audit trail) and reservations.

Pure Python, no I/O; the current time is always passed in, never read here.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from mercato.inventory.domain import events
from mercato.inventory.domain.commands import AdjustStock, ReservationLine, ReserveStock
from mercato.inventory.domain.rules import ReservationNotActive
from mercato.inventory.domain.stock import ON_HAND_MAX, Allocation
from mercato.platform.errors import Problem
from mercato.platform.validation import SLUG_RE, Checks

# Same shape as the catalog's SKUs; inventory does not ask the catalog whether a SKU exists.
SKU_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
SKU_MAX = 64
CODE_MAX = 64
NAME_MAX = 200
TEXT_MAX = 200  # actor, idempotency key, reservation reference, release reason
NOTE_MAX = 2_000
QUANTITY_MAX = 10_000
LINES_MAX = 200
TTL_MAX = 7 * 86_400


class AdjustmentReason(StrEnum):
    RECEIVED = "RECEIVED"
    COUNTED = "COUNTED"
    DAMAGED = "DAMAGED"
    RETURNED = "RETURNED"
    CORRECTION = "CORRECTION"


class ReservationStatus(StrEnum):
    ACTIVE = "ACTIVE"
    COMMITTED = "COMMITTED"
    RELEASED = "RELEASED"
    EXPIRED = "EXPIRED"


EXPIRED_REASON = "EXPIRED"


def _check_whole(checks: Checks, field: str, value: object, low: int, high: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        checks.add(field, Problem.INVALID, f"{field} must be a whole number")
    elif not low <= value <= high:
        checks.add(field, Problem.OUT_OF_RANGE, f"{field} must be {low} to {high}")


def check_sku(checks: Checks, field: str, sku: str) -> None:
    checks.pattern(field, sku, SKU_RE, "letters, digits, '.', '_', '-' or '/'", SKU_MAX)


@dataclass(frozen=True)
class Warehouse:
    id: uuid.UUID
    code: str
    name: str

    @classmethod
    def create(cls, *, code: str, name: str) -> Warehouse:
        checks = Checks()
        checks.pattern("code", code, SLUG_RE, "lowercase words joined by hyphens", CODE_MAX)
        checks.text("name", name, max_length=NAME_MAX)
        checks.raise_as(Problem)
        return cls(id=uuid.uuid4(), code=code, name=name.strip())

    def created(self) -> events.WarehouseCreated:
        return events.WarehouseCreated(aggregate_id=str(self.id), code=self.code, warehouse_name=self.name)


def check_adjustment(cmd: AdjustStock) -> None:
    """Input checks of `AdjustStock`, raised as `Problem`s (the handler re-codes them)."""
    checks = Checks()
    check_sku(checks, "sku", cmd.sku)
    checks.that(cmd.reason in AdjustmentReason.__members__, "reason", Problem.INVALID, "unknown reason")
    checks.text("actor", cmd.actor, max_length=TEXT_MAX)
    checks.text("note", cmd.note, max_length=NOTE_MAX, required=False)
    if cmd.idempotency_key is not None:
        checks.text("idempotencyKey", cmd.idempotency_key, max_length=TEXT_MAX)
    if (cmd.delta is None) == (cmd.set_on_hand is None):
        problem = Problem.REQUIRED if cmd.delta is None else Problem.INVALID
        checks.add("delta", problem, "give exactly one of delta and setOnHand")
    elif cmd.delta is not None:
        _check_whole(checks, "delta", cmd.delta, -ON_HAND_MAX, ON_HAND_MAX)
        checks.that(cmd.delta != 0, "delta", Problem.INVALID, "delta must not be zero")
    else:
        check_count(checks, "setOnHand", cmd.set_on_hand)
    checks.raise_as(Problem)


def check_count(checks: Checks, field: str, value: object) -> None:
    """A counted number of units on hand (`AdjustStock.set_on_hand`, an imported stock count)."""
    _check_whole(checks, field, value, 0, ON_HAND_MAX)


@dataclass(frozen=True)
class Adjustment:
    """One line of the audit trail. `set_on_hand` is the count asked for, when it was a count."""

    id: uuid.UUID
    sku: str
    warehouse_id: uuid.UUID
    delta: int
    on_hand_after: int
    reason: str
    note: str
    actor: str
    idempotency_key: str | None
    set_on_hand: int | None

    @classmethod
    def record(cls, cmd: AdjustStock, *, delta: int, on_hand_after: int) -> Adjustment:
        return cls(
            id=uuid.uuid4(),
            sku=cmd.sku,
            warehouse_id=cmd.warehouse_id,
            delta=delta,
            on_hand_after=on_hand_after,
            reason=cmd.reason,
            note=cmd.note,
            actor=cmd.actor,
            idempotency_key=cmd.idempotency_key,
            set_on_hand=cmd.set_on_hand,
        )

    def answers(self, cmd: AdjustStock) -> bool:
        """Whether `cmd` (carrying this adjustment's idempotency key) asks for exactly this change."""
        asked = (cmd.sku, cmd.warehouse_id, cmd.reason, cmd.note, cmd.actor, cmd.set_on_hand)
        if asked != (self.sku, self.warehouse_id, self.reason, self.note, self.actor, self.set_on_hand):
            return False
        return cmd.set_on_hand is not None or cmd.delta == self.delta

    def adjusted(self) -> events.StockAdjusted:
        return events.StockAdjusted(
            aggregate_id=self.sku,
            adjustment_id=str(self.id),
            sku=self.sku,
            warehouse_id=str(self.warehouse_id),
            delta=self.delta,
            on_hand_after=self.on_hand_after,
            reason=self.reason,
            actor=self.actor,
        )


def merge_lines(lines: Sequence[tuple[str, int]]) -> dict[str, int]:
    """Quantity per SKU, duplicate lines added up."""
    merged: dict[str, int] = {}
    for sku, quantity in lines:
        merged[sku] = merged.get(sku, 0) + quantity
    return merged


def check_reservation(cmd: ReserveStock) -> dict[str, int]:
    """Input checks of `ReserveStock`; returns the quantity per SKU."""
    checks = Checks()
    checks.text("reference", cmd.reference, max_length=TEXT_MAX)
    if not cmd.lines:
        checks.add("lines", Problem.REQUIRED, "a reservation needs at least one line")
    elif len(cmd.lines) > LINES_MAX:
        checks.add("lines", Problem.TOO_LONG, f"a reservation holds at most {LINES_MAX} lines")
    else:
        for i, (sku, quantity) in enumerate(cmd.lines):
            check_sku(checks, f"lines.{i}.sku", sku)
            _check_whole(checks, f"lines.{i}.quantity", quantity, 1, QUANTITY_MAX)
    _check_whole(checks, "ttlSeconds", cmd.ttl_seconds, 1, TTL_MAX)
    checks.raise_as(Problem)
    return merge_lines(cmd.lines)


@dataclass(frozen=True)
class Reservation:
    id: uuid.UUID
    reference: str
    status: ReservationStatus
    expires_at: datetime
    allocations: tuple[Allocation, ...] = ()
    release_reason: str | None = None

    @classmethod
    def open(cls, cmd: ReserveStock, now: datetime) -> tuple[Reservation, dict[str, int]]:
        """A new ACTIVE reservation (allocations come later) and the quantity asked per SKU."""
        lines = check_reservation(cmd)
        reservation = cls(
            id=uuid.uuid4(),
            reference=cmd.reference,
            status=ReservationStatus.ACTIVE,
            expires_at=now + timedelta(seconds=cmd.ttl_seconds),
        )
        return reservation, lines

    def with_allocations(self, allocations: Sequence[Allocation]) -> Reservation:
        return replace(self, allocations=tuple(sorted(allocations)))

    @property
    def lines(self) -> tuple[ReservationLine, ...]:
        return tuple(
            ReservationLine(sku, q)
            for sku, q in sorted(merge_lines([(a.sku, a.quantity) for a in self.allocations]).items())
        )

    @property
    def skus(self) -> list[str]:
        return sorted({a.sku for a in self.allocations})

    def _lines_payload(self) -> list[dict[str, object]]:
        return [{"sku": line.sku, "quantity": line.quantity} for line in self.lines]

    def created(self) -> events.ReservationCreated:
        return events.ReservationCreated(
            aggregate_id=str(self.id),
            reservation_id=str(self.id),
            reference=self.reference,
            lines=self._lines_payload(),
            allocations=[a.as_dict() for a in self.allocations],
            expires_at=self.expires_at.isoformat(),
        )

    def commit(self) -> tuple[Reservation, events.ReservationCommitted] | None:
        """The committed reservation and its event; None if it is already committed."""
        if self.status is ReservationStatus.COMMITTED:
            return None
        if self.status is not ReservationStatus.ACTIVE:
            raise ReservationNotActive(self.status.value)
        done = replace(self, status=ReservationStatus.COMMITTED)
        return done, events.ReservationCommitted(
            aggregate_id=str(self.id),
            reservation_id=str(self.id),
            reference=self.reference,
            lines=self._lines_payload(),
        )

    def release(self, reason: str) -> tuple[Reservation, events.ReservationReleased] | None:
        """The released reservation and its event; None if it is already released or expired."""
        return self._end(ReservationStatus.RELEASED, reason)

    def expire(self, now: datetime) -> tuple[Reservation, events.ReservationReleased] | None:
        """Released as EXPIRED if still ACTIVE and past `expires_at`; else None."""
        if self.status is not ReservationStatus.ACTIVE or self.expires_at > now:
            return None
        return self._end(ReservationStatus.EXPIRED, EXPIRED_REASON)

    def _end(
        self, status: ReservationStatus, reason: str
    ) -> tuple[Reservation, events.ReservationReleased] | None:
        if self.status in (ReservationStatus.RELEASED, ReservationStatus.EXPIRED):
            return None
        if self.status is not ReservationStatus.ACTIVE:
            raise ReservationNotActive(self.status.value)
        done = replace(self, status=status, release_reason=reason)
        return done, events.ReservationReleased(
            aggregate_id=str(self.id),
            reservation_id=str(self.id),
            reference=self.reference,
            reason=reason,
            status=status.value,
            lines=self._lines_payload(),
        )


def check_release_reason(reason: str) -> None:
    checks = Checks()
    checks.text("reason", reason, max_length=TEXT_MAX)
    checks.raise_as(Problem)
