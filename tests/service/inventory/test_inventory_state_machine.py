"""The inventory on real PostgreSQL as a hypothesis state machine: adjust, reserve (new and repeated
references), commit, release, clock moves and expiry sweeps, in any order, and batches of them at once
(concurrent reserves racing with commits and releases), checked after every step against a simple
model of stock per SKU and warehouse:

- a request succeeds or is refused exactly when the model says, with the code it says;
- what a reservation holds is what it asked for, allocated where units were free;
- the stock rows equal the model, and the invariant checker's stock check finds nothing.

It runs in a database of its own (created and dropped here), on an event loop of its own: hypothesis
drives the machine synchronously and each step runs its coroutines to completion on that loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import uuid
from collections.abc import Awaitable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from mercato.app.contexts import MIGRATIONS
from mercato.app.invariants import Limits, Scope, check_stock
from mercato.inventory import (
    AdjustStock,
    CommitReservation,
    CreateWarehouse,
    ExpireReservations,
    ReleaseReservation,
    ReserveStock,
)
from mercato.inventory.bootstrap import InventoryService, build_inventory
from mercato.inventory.domain.model import Reservation
from mercato.platform.config import Settings
from mercato.platform.db import Database
from mercato.platform.engines import EngineUrls
from mercato.platform.errors import MercatoError
from mercato.platform.migrations import migrate
from tests.conftest import own_database, ref
from tests.service.inventory.conftest import FakeClock, stock_rows

T = TypeVar("T")
TTL = 60  # seconds a reservation lives here
Cell = tuple[str, uuid.UUID]  # (sku, warehouse id)


@dataclass
class Held:
    """The model of one reservation."""

    id: uuid.UUID
    status: str
    expires_at: datetime
    allocations: dict[Cell, int] = field(default_factory=dict)
    lines: tuple[tuple[str, int], ...] = ()


def allocations_of(reservation: Reservation) -> dict[Cell, int]:
    return {(a.sku, a.warehouse_id): a.quantity for a in reservation.allocations}


def code_of(exc: MercatoError) -> str:
    return str(getattr(exc.code, "value", exc.code))


class InventoryMachine(RuleBasedStateMachine):
    loop: ClassVar[asyncio.AbstractEventLoop]
    db: ClassVar[Database]
    settings: ClassVar[Settings]
    # Each run's clock starts a day before the previous run's did (runs last minutes of it), so its sweeps
    # never reach what an earlier run (same database, other SKUs) left active: its model would not
    # expect those to expire.
    epoch: ClassVar[datetime] = datetime(2001, 1, 1, tzinfo=UTC)

    def __init__(self) -> None:
        super().__init__()
        InventoryMachine.epoch -= timedelta(days=1)
        self.clock = FakeClock(self.epoch)
        self.inventory: InventoryService = build_inventory(self.db, self.settings, clock=self.clock)
        self.skus = [ref("SM").upper() for _ in range(2)]
        self.warehouses = [
            self.run(self.inventory.handle(CreateWarehouse(code=ref("wh"), name="Machine"))).id
            for _ in range(2)
        ]
        self.on_hand: dict[Cell, int] = {(s, w): 0 for s in self.skus for w in self.warehouses}
        self.reservations: dict[str, Held] = {}

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)

    @staticmethod
    def pick(data: st.DataObject, choices: list[T]) -> T:
        """One of `choices`, drawn the same way however many there are: which reservations are
        still active after a race depends on the race, and hypothesis needs the same draws to replay."""
        return choices[data.draw(st.integers(0, 1_000)) % len(choices)]

    # The model's derived figures.

    def reserved(self, cell: Cell) -> int:
        return sum(h.allocations.get(cell, 0) for h in self.reservations.values() if h.status == "ACTIVE")

    def available(self, sku: str) -> int:
        return sum(self.on_hand[(sku, w)] - self.reserved((sku, w)) for w in self.warehouses)

    def active(self) -> list[str]:
        return [r for r, h in self.reservations.items() if h.status == "ACTIVE"]

    def accept_reservation(
        self, reference: str, lines: tuple[tuple[str, int], ...], made: Reservation
    ) -> None:
        """A reservation the system made: all-or-nothing, what was asked, only from free units."""
        held = allocations_of(made)
        for sku, quantity in lines:
            assert sum(q for (s, _), q in held.items() if s == sku) == quantity
        for cell, quantity in held.items():
            assert 0 < quantity <= self.on_hand[cell] - self.reserved(cell)
        expires = self.clock.now + timedelta(seconds=TTL)
        self.reservations[reference] = Held(made.id, "ACTIVE", expires, held, lines)

    # Rules.

    @rule(sku=st.integers(0, 1), wh=st.integers(0, 1), delta=st.integers(-4, 6), count=st.booleans())
    def adjust(self, sku: int, wh: int, delta: int, count: bool) -> None:
        cell = (self.skus[sku], self.warehouses[wh])
        after = self.on_hand[cell] + delta if not count else max(0, delta)
        expected = (
            "INSUFFICIENT_STOCK" if after < 0 else "BELOW_RESERVED" if after < self.reserved(cell) else None
        )
        command = AdjustStock(
            sku=cell[0],
            warehouse_id=cell[1],
            reason="COUNTED" if count else "CORRECTION",
            actor="machine",
            delta=None if count else delta,
            set_on_hand=after if count else None,
            idempotency_key=ref("adj"),
        )
        if delta == 0 and not count:
            return  # a zero delta is refused as input, not a stock rule
        try:
            self.run(self.inventory.handle(command))
        except MercatoError as exc:
            assert code_of(exc) == expected
            return
        assert expected is None
        self.on_hand[cell] = after

    @rule(a=st.integers(0, 4), b=st.integers(0, 4))
    def reserve(self, a: int, b: int) -> None:
        lines = tuple((sku, q) for sku, q in zip(self.skus, (a, b), strict=True) if q > 0)
        if not lines:
            return
        reference = ref("r")
        fits = all(q <= self.available(sku) for sku, q in lines)
        try:
            made = self.run(self.inventory.handle(ReserveStock(reference, lines, ttl_seconds=TTL)))
        except MercatoError as exc:
            assert (fits, code_of(exc)) == (False, "INSUFFICIENT_STOCK")
            return
        assert fits
        self.accept_reservation(reference, lines, made)

    @rule(data=st.data())
    @precondition(lambda self: bool(self.reservations))
    def reserve_again(self, data: st.DataObject) -> None:
        """The same reference: the first reservation, unchanged, whatever its status now."""
        reference = self.pick(data, list(self.reservations))
        held = self.reservations[reference]
        again = self.run(self.inventory.handle(ReserveStock(reference, held.lines, ttl_seconds=TTL)))
        assert (again.id, again.status.value, allocations_of(again)) == (
            held.id,
            held.status,
            held.allocations,
        )

    @rule(data=st.data(), release=st.booleans())
    @precondition(lambda self: bool(self.reservations))
    def settle(self, data: st.DataObject, release: bool) -> None:
        """Commit or release any reservation, whatever its status."""
        reference = self.pick(data, list(self.reservations))
        held = self.reservations[reference]
        target = "RELEASED" if release else "COMMITTED"
        no_op = ("RELEASED", "EXPIRED") if release else ("COMMITTED",)
        command = ReleaseReservation(held.id, "CANCELLED") if release else CommitReservation(held.id)
        try:
            done = self.run(self.inventory.handle(command))
        except MercatoError as exc:
            assert held.status not in ("ACTIVE", *no_op)
            assert code_of(exc) == "RESERVATION_NOT_ACTIVE"
            return
        assert held.status in ("ACTIVE", *no_op)
        if held.status == "ACTIVE":
            if not release:
                for cell, quantity in held.allocations.items():
                    self.on_hand[cell] -= quantity
            held.status = target
        assert done.status.value == held.status

    @rule(seconds=st.sampled_from([10, 30, 61]))
    def time_passes_and_the_sweeper_runs(self, seconds: int) -> None:
        self.clock.advance(seconds)
        expired = self.run(self.inventory.handle(ExpireReservations(now=self.clock.now, limit=1000)))
        due = [
            h for h in self.reservations.values() if h.status == "ACTIVE" and h.expires_at <= self.clock.now
        ]
        assert expired == len(due)
        for held in due:
            held.status = "EXPIRED"

    @rule(
        sizes=st.lists(st.tuples(st.integers(1, 4), st.integers(0, 3)), min_size=2, max_size=4),
        data=st.data(),
    )
    def race(self, sizes: list[tuple[int, int]], data: st.DataObject) -> None:
        """New reserves at once, with a commit and a release of existing reservations among them."""
        active = self.active()
        commit = self.pick(data, [None, *active])
        release = self.pick(data, [None, *[r for r in active if r != commit]])
        requests = {
            ref("race"): tuple((s, q) for s, q in zip(self.skus, size, strict=True) if q) for size in sizes
        }
        calls: list[Awaitable[Any]] = [
            self.inventory.handle(ReserveStock(r, lines, ttl_seconds=TTL)) for r, lines in requests.items()
        ]
        if commit:
            calls.append(self.inventory.handle(CommitReservation(self.reservations[commit].id)))
        if release:
            calls.append(
                self.inventory.handle(ReleaseReservation(self.reservations[release].id, "CANCELLED"))
            )

        async def together() -> list[Any]:
            return await asyncio.gather(*calls, return_exceptions=True)

        outcomes = self.run(together())
        # The commit and release are of ACTIVE reservations: both succeed whatever the order.
        for outcome in outcomes[len(requests) :]:
            assert isinstance(outcome, Reservation), repr(outcome)
        made = self._check_race(requests, outcomes[: len(requests)], release)
        # Apply what happened to the model, as if serialised: the release, the commit, the reserves.
        if release:
            self.reservations[release].status = "RELEASED"
        if commit:
            for cell, quantity in self.reservations[commit].allocations.items():
                self.on_hand[cell] -= quantity
            self.reservations[commit].status = "COMMITTED"
        for reference, reservation in made.items():
            held = allocations_of(reservation)
            expires = self.clock.now + timedelta(seconds=TTL)
            self.reservations[reference] = Held(reservation.id, "ACTIVE", expires, held, requests[reference])
        for cell in self.on_hand:
            assert 0 <= self.reserved(cell) <= self.on_hand[cell]

    def _check_race(
        self, requests: dict[str, tuple[tuple[str, int], ...]], outcomes: list[Any], release: str | None
    ) -> dict[str, Reservation]:
        """The reserves of a race are serialisable: what succeeded fits in what was free (plus what
        the release freed); what was refused asked for more than was left by the ones that succeeded
        (whether it ran before or after the release, at least that little was free for it)."""
        freed = {sku: 0 for sku in self.skus}
        for (sku, _), quantity in (self.reservations[release].allocations if release else {}).items():
            freed[sku] += quantity
        before = {sku: self.available(sku) for sku in self.skus}
        made = {r: o for r, o in zip(requests, outcomes, strict=True) if isinstance(o, Reservation)}
        taken = {sku: sum(q for r in made for s, q in requests[r] if s == sku) for sku in self.skus}
        for reference, outcome in zip(requests, outcomes, strict=True):
            if not isinstance(outcome, Reservation):
                assert isinstance(outcome, MercatoError) and code_of(outcome) == "INSUFFICIENT_STOCK"
                assert any(q > before[s] - taken[s] for s, q in requests[reference])
        for sku in self.skus:
            assert taken[sku] <= before[sku] + freed[sku]
        return made

    # After every step.

    @invariant()
    def stock_is_the_model(self) -> None:
        rows = self.run(stock_rows(self.db, self.skus))
        found = {(sku, wh): (on_hand, reserved) for sku, wh, on_hand, reserved, _ in rows}
        expected = {cell: (n, self.reserved(cell)) for cell, n in self.on_hand.items()}
        assert {cell: found.get(cell, (0, 0)) for cell in expected} == expected

        async def checked() -> list[str]:
            async with self.db.connect() as conn:
                limits = Limits(in_flight_grace=timedelta(days=1))
                result = await check_stock(conn, Scope(skus=self.skus), limits, self.clock.now)
            return [v.detail for v in result.violations]

        assert self.run(checked()) == []


def test_inventory_against_its_model(engine_urls: EngineUrls, settings: Settings) -> None:
    loop = asyncio.new_event_loop()
    stack = contextlib.AsyncExitStack()
    try:
        url = loop.run_until_complete(
            stack.enter_async_context(own_database(engine_urls, f"sm{secrets.token_hex(4)}"))
        )
        db = Database(url, pool_size=5)
        stack.push_async_callback(db.dispose)
        loop.run_until_complete(migrate(db, [m for m in MIGRATIONS if m.schema == "inventory"]))
        InventoryMachine.loop, InventoryMachine.db, InventoryMachine.settings = loop, db, settings
        run = settings_for_ci(InventoryMachine)
        run()
    finally:
        loop.run_until_complete(stack.aclose())
        loop.close()


def settings_for_ci(machine: type[RuleBasedStateMachine]) -> Any:
    """Bounded: 15 schedules of up to 25 steps (10-30 s on a loaded 2-core machine)."""
    case = machine.TestCase
    case.settings = settings(
        max_examples=15,
        stateful_step_count=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    return case().runTest
