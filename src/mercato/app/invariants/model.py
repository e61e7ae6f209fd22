"""What the invariant checker works with: what to check (`Scope`), its bounds (`Limits`), what a check
found (`CheckResult`, `Violation`, `Report`), and the SQL fragments that narrow a query to a scope."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

# Statuses in which nothing is in flight that would move the order on its own (`OrderStatus.is_terminal`).
SETTLED = ("CONFIRMED", "FULFILLED", "PARTIALLY_REFUNDED", "REFUNDED", "REJECTED", "CANCELLED")
# The cart empties itself of an order's lines when it consumes `order_confirmed`: these orders were.
CONFIRMED_ONCE = ("CONFIRMED", "FULFILLED", "PARTIALLY_REFUNDED", "REFUNDED", "CANCELLING", "CANCELLED")
# Contexts with an outbox, an inbox and dead letters in their schema (the cart keeps none).
MESSAGING_SCHEMAS = ("catalog", "inventory", "customers", "payments", "orders")


@dataclass(frozen=True)
class Scope:
    """What to check; None: everything."""

    orders: Sequence[uuid.UUID] | None = None
    skus: Sequence[str] | None = None
    since: datetime | None = None  # outbox, inbox and dead-letter rows written from then on


@dataclass(frozen=True)
class Limits:
    # How long past its saga's deadline an order may stay in flight: the saga sweeper runs every few
    # seconds, so more than this means nothing is driving it on.
    in_flight_grace: timedelta = timedelta(seconds=60)
    # An event still unpublished this long after its commit is not going to be published by itself.
    quiescence: timedelta = timedelta(seconds=30)
    # A bought-lines marker lives as long as the cart; older confirmations cannot be checked.
    cart_ttl: timedelta = timedelta(days=7)


@dataclass(frozen=True)
class Violation:
    check: str
    subject: str
    detail: str


@dataclass
class CheckResult:
    name: str
    checked: int = 0
    note: str = ""
    violations: list[Violation] = field(default_factory=list)

    def fail(self, subject: object, detail: str) -> None:
        self.violations.append(Violation(self.name, str(subject), detail))


@dataclass(frozen=True)
class Report:
    results: list[CheckResult]

    @property
    def violations(self) -> list[Violation]:
        return [v for r in self.results for v in r.violations]

    @property
    def ok(self) -> bool:
        return not self.violations


def scope_params(scope: Scope) -> dict[str, object]:
    """The bind parameters of the fragments below: NULL where the scope narrows nothing."""
    return {
        "ids": list(scope.orders) if scope.orders is not None else None,
        "refs": [str(i) for i in scope.orders] if scope.orders is not None else None,
        "skus": list(scope.skus) if scope.skus is not None else None,
        "since": scope.since,
    }


IN_ORDERS = "(CAST(:ids AS uuid[]) IS NULL OR o.id = ANY(CAST(:ids AS uuid[])))"
IN_REFS = "(CAST(:refs AS text[]) IS NULL OR {col} = ANY(CAST(:refs AS text[])))"
IN_SKUS = "(CAST(:skus AS text[]) IS NULL OR {col} = ANY(CAST(:skus AS text[])))"
SINCE = "(CAST(:since AS timestamptz) IS NULL OR {col} >= CAST(:since AS timestamptz))"
