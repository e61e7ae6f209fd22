"""The cart: which SKUs a shopper wants, how many of each, and who may reach it. Pure Python, no I/O.

The rules here are checked twice on a write: once on the caller's input and a fresh copy of the cart
(so every problem is reported at once, before anything is written), and again atomically by the
store, which is what keeps concurrent writers within the limits.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from mercato.cart.domain.errors import CartProblem
from mercato.platform.errors import Conflict, FieldError, InputRejected, NotFound, Problem
from mercato.platform.validation import Checks

# The catalog's SKU alphabet. Checked here only to refuse junk before it reaches the catalog or
# Redis (field names are built from SKUs); whether the SKU exists is the catalog's answer.
SKU_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
SKU_MAX = 64


class CartNotFound(NotFound):
    """No cart with that id that the caller may reach. Deliberately the same for "does not exist",
    "expired" and "belongs to someone else": a cart's existence never leaks."""

    def __init__(self) -> None:
        super().__init__("no such cart", code=CartProblem.CART_NOT_FOUND, field="cart_id")


class LineNotFound(NotFound):
    def __init__(self, sku: str, field: str) -> None:
        super().__init__(f"the cart has no line for {sku}", code=CartProblem.LINE_NOT_FOUND, field=field)


class WriteRefused(Conflict):
    """The store's atomic re-check refused a write (a concurrent writer got there first, or the line
    is not in the cart). Carries the SKU; the use case turns it into a field of its request."""

    def __init__(self, problem: CartProblem, sku: str | None) -> None:
        super().__init__(f"refused: {problem.value}", code=problem)
        self.problem = problem
        self.sku = sku


@dataclass(frozen=True, slots=True)
class CartLimits:
    max_lines: int
    max_quantity: int


@dataclass(frozen=True, slots=True)
class Cart:
    id: uuid.UUID  # random (v4): for an anonymous cart, knowing it is the only credential
    owner_id: uuid.UUID | None
    lines: Mapping[str, int]  # SKU -> quantity, in the order the SKUs were first added
    created_at: datetime
    updated_at: datetime

    @classmethod
    def new(cls, owner_id: uuid.UUID | None, now: datetime) -> Cart:
        return cls(id=uuid.uuid4(), owner_id=owner_id, lines={}, created_at=now, updated_at=now)

    def reachable_by(self, user_id: uuid.UUID | None) -> bool:
        """An owned cart only by its owner; an anonymous one by whoever holds its id. Roles give no
        access: staff look at orders, not at shoppers' carts."""
        return self.owner_id is None or self.owner_id == user_id

    @property
    def item_count(self) -> int:
        return sum(self.lines.values())

    def check_additions(self, changes: LineChanges, limits: CartLimits) -> None:
        """Refuse additions that would take a line past the maximum quantity or the cart past the
        maximum number of lines (adding to an existing line sums the quantities)."""
        checks = Checks()
        for sku, quantity in changes.quantities.items():
            total = self.lines.get(sku, 0) + quantity
            checks.that(
                total <= limits.max_quantity,
                changes.field(sku, "quantity"),
                CartProblem.QUANTITY_OUT_OF_RANGE,
                f"{sku} would reach {total} units; at most {limits.max_quantity} per line",
            )
        new_lines = [sku for sku in changes.quantities if sku not in self.lines]
        checks.that(
            not new_lines or len(self.lines) + len(new_lines) <= limits.max_lines,
            "lines",
            CartProblem.TOO_MANY_LINES,
            f"a cart holds at most {limits.max_lines} different items",
        )
        reject(checks)


@dataclass(frozen=True, slots=True)
class LineChanges:
    """Validated request lines: a quantity per SKU, and where each SKU was given (for error fields)."""

    quantities: dict[str, int]
    positions: dict[str, int]

    def field(self, sku: str, leaf: str = "sku") -> str:
        return f"lines.{self.positions[sku]}.{leaf}"


def _check_sku(checks: Checks, field: str, sku: object) -> bool:
    if not isinstance(sku, str):
        checks.add(field, Problem.INVALID, f"{field} must be a SKU")
        return False
    before = len(checks.problems)
    checks.pattern(field, sku, SKU_RE, "a SKU (letters, digits, '.', '_', '-' or '/')", SKU_MAX)
    return len(checks.problems) == before


def _check_quantity(checks: Checks, field: str, quantity: object, limits: CartLimits) -> bool:
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        checks.add(field, Problem.INVALID, f"{field} must be a whole number")
        return False
    if not 1 <= quantity <= limits.max_quantity:
        checks.add(field, CartProblem.QUANTITY_OUT_OF_RANGE, f"quantity must be 1-{limits.max_quantity}")
        return False
    return True


def _check_list_size(checks: Checks, field: str, items: Sequence[object], limits: CartLimits) -> bool:
    if not items:
        checks.add(field, Problem.REQUIRED, f"give at least one item in {field}")
        return False
    # One request never needs more entries than a cart can hold; this bounds the work per request.
    if len(items) > limits.max_lines:
        checks.add(field, Problem.TOO_LONG, f"{field} has more than {limits.max_lines} entries")
        return False
    return True


def parse_lines(lines: Sequence[tuple[str, int]], limits: CartLimits, *, additive: bool) -> LineChanges:
    """Check request lines. Adding the same SKU twice sums the quantities (two "add" clicks); setting
    it twice in one update is ambiguous and refused."""
    checks = Checks()
    quantities: dict[str, int] = {}
    positions: dict[str, int] = {}
    if _check_list_size(checks, "lines", lines, limits):
        for i, (sku, quantity) in enumerate(lines):
            sku_ok = _check_sku(checks, f"lines.{i}.sku", sku)
            quantity_ok = _check_quantity(checks, f"lines.{i}.quantity", quantity, limits)
            if not (sku_ok and quantity_ok):
                continue
            if sku in quantities and not additive:
                checks.add(f"lines.{i}.sku", Problem.INVALID, f"{sku} is given more than once")
                continue
            positions.setdefault(sku, i)
            quantities[sku] = quantities.get(sku, 0) + quantity
        for sku, total in quantities.items():
            checks.that(
                total <= limits.max_quantity,
                f"lines.{positions[sku]}.quantity",
                CartProblem.QUANTITY_OUT_OF_RANGE,
                f"quantity must be 1-{limits.max_quantity}",
            )
    reject(checks)
    return LineChanges(quantities, positions)


def parse_skus(skus: Sequence[str], limits: CartLimits) -> list[str]:
    checks = Checks()
    if _check_list_size(checks, "skus", skus, limits):
        for i, sku in enumerate(skus):
            _check_sku(checks, f"skus.{i}", sku)
    reject(checks)
    return list(dict.fromkeys(skus))


def reject(checks: Checks) -> None:
    """Raise what `checks` collected with the codes as given (generic `Problem`s and `CartProblem`s
    mixed); each use case re-codes them by name into its own mutation's enum."""
    if checks.problems:
        raise InputRejected([FieldError(field, code, message) for field, code, message in checks.problems])
