"""The invariants `mercato verify` checks (`app.invariants`), evaluated on the simulation's memory
tables after quiescence (tests only). Same check names, same meaning, same result types; the SQL of
`app.invariants` cannot run on dicts, so each check is restated here over the same facts:

orders terminal · money reconciles · stock · no double capture · no message applied twice ·
outboxes drained · carts of confirmed orders emptied — and, since the run is quiet, stricter than
verify's grace periods: nothing in flight at all, no reservation left ACTIVE.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict

from mercato.app.invariants import SETTLED, CheckResult, Report
from mercato.inventory.domain.model import ReservationStatus
from mercato.orders.domain.model import OrderStatus
from mercato.payments.domain.model import IntentStatus, LedgerKind
from mercato.payments.domain.operations import OperationStatus
from tests.simulation.simulation import Simulation
from tests.simulation.stores import OrderRow

_PAID = (OrderStatus.CONFIRMED, OrderStatus.FULFILLED, OrderStatus.PARTIALLY_REFUNDED)


def check(sim: Simulation) -> Report:
    results = [
        _orders(sim),
        _money(sim),
        _stock(sim),
        _captures(sim),
        _applied_once(sim),
        _drained(sim),
        _carts(sim),
    ]
    errors = CheckResult("no unexpected error", checked=1)
    for error in sim.errors:
        errors.fail("run", error)
    return Report([*results, errors])


def _order(sim: Simulation, reference: str) -> str:
    """`o<n>`, the order as the trace names it, for a reference that is an order's id."""
    for order_id, n in sim.order_ids.items():
        if str(order_id) == reference:
            return f"o{n}"
    return reference


def _orders_table(sim: Simulation) -> dict[object, OrderRow]:
    return dict(sim.world.dbs["orders"].tables["orders"])


def _orders(sim: Simulation) -> CheckResult:
    result = CheckResult("orders terminal or in flight")
    sagas = sim.world.dbs["orders"].tables["sagas"]
    for order_id, row in _orders_table(sim).items():
        result.checked += 1
        saga = sagas[order_id]
        if row.order.status.value not in SETTLED or saga.deadline is not None:
            result.fail(f"o{sim.order_ids.get(order_id)}", f"{row.order.status.value} after quiescence")
        if row.order.status is not saga.status:
            result.fail(f"o{sim.order_ids.get(order_id)}", f"order {row.order.status} but saga {saga.status}")
    missing = set(sim.order_ids) - set(_orders_table(sim))
    result.note = f"{result.checked} orders, {len(missing)} never placed"
    for order_id in missing:
        result.fail(f"o{sim.order_ids[order_id]}", "the client's request never placed it")
    return result


def _money(sim: Simulation) -> CheckResult:
    result = CheckResult("money reconciles")
    payments = sim.world.dbs["payments"].tables
    net: Counter[str] = Counter()
    for entry in payments["ledger"].values():
        if entry.kind is LedgerKind.CAPTURE:
            net[entry.order_reference] += entry.amount.amount
        elif entry.kind is LedgerKind.REFUND:
            net[entry.order_reference] -= entry.amount.amount
    for order_id, row in _orders_table(sim).items():
        result.checked += 1
        owed = row.order.total.amount - row.refunded if row.order.status in _PAID else 0
        if net[str(order_id)] != owed:
            result.fail(
                f"o{sim.order_ids.get(order_id)}",
                f"{row.order.status.value}: owes {owed}, ledger nets {net[str(order_id)]}",
            )
    for intent in payments["intents"].values():
        if intent.status is IntentStatus.AUTHORIZED:
            result.fail(intent.order_reference, "an authorization neither captured nor voided")
    result.note = f"captured - refunded = {sum(net.values())} EUR cents"
    return result


def _stock(sim: Simulation) -> CheckResult:
    result = CheckResult("stock")
    tables = sim.world.dbs["inventory"].tables
    expected: Counter[tuple[str, object]] = Counter()
    for adjustment in tables["adjustments"].values():
        expected[(adjustment.sku, adjustment.warehouse_id)] += adjustment.delta
    reserved: Counter[tuple[str, object]] = Counter()
    for reservation in tables["reservations"].values():
        for a in reservation.allocations:
            if reservation.status is ReservationStatus.COMMITTED:
                expected[(a.sku, a.warehouse_id)] -= a.quantity
            elif reservation.status is ReservationStatus.ACTIVE:
                reserved[(a.sku, a.warehouse_id)] += a.quantity
        if reservation.status is ReservationStatus.ACTIVE:
            result.fail(
                f"reservation of {_order(sim, reservation.reference)}", "still ACTIVE after quiescence"
            )
    for key, level in tables["stock"].items():
        result.checked += 1
        if level.on_hand != expected[key] or level.reserved != reserved[key]:
            result.fail(
                key[0],
                f"on hand {level.on_hand} (expected {expected[key]}), reserved {level.reserved} "
                f"(expected {reserved[key]})",
            )
        if level.on_hand < 0 or level.reserved < 0 or level.reserved > level.on_hand:
            result.fail(key[0], f"on hand {level.on_hand}, reserved {level.reserved}")
    sold = sum(sim.initial.values()) - sum(level.on_hand for level in tables["stock"].values())
    result.note = f"{sum(sim.initial.values())} units at start, {sold} sold"
    return result


def _captures(sim: Simulation) -> CheckResult:
    result = CheckResult("no double capture")
    payments = sim.world.dbs["payments"].tables
    captures: Counter[object] = Counter()
    by_order: defaultdict[str, set[object]] = defaultdict(set)
    refunds: Counter[object] = Counter()
    for entry in payments["ledger"].values():
        if entry.kind is LedgerKind.CAPTURE:
            captures[entry.intent_id] += 1
            by_order[entry.order_reference].add(entry.intent_id)
        elif entry.kind is LedgerKind.REFUND:
            refunds[entry.intent_id] += entry.amount.amount
    for intent in payments["intents"].values():
        result.checked += 1
        if captures[intent.id] > 1:
            result.fail(intent.order_reference, f"intent captured {captures[intent.id]} times")
        if intent.refunded_amount.amount != refunds[intent.id]:
            result.fail(intent.order_reference, "refunded total differs from its ledger")
        if not intent.refunded_amount.amount <= intent.captured_amount.amount <= intent.amount.amount:
            result.fail(intent.order_reference, "refunded above captured or captured above the amount")
    for order_reference, intents in by_order.items():
        if len(intents) > 1:
            result.fail(order_reference, f"captured on {len(intents)} intents")
    pending = [r for r in payments["operations"].values() if r.operation.status is OperationStatus.PENDING]
    for row in pending:
        result.fail(row.operation.order_reference, f"{row.operation.kind} still PENDING")
    return result


def _applied_once(sim: Simulation) -> CheckResult:
    result = CheckResult("no message applied twice")
    for order_id, history in sim.world.dbs["orders"].tables["history"].items():
        result.checked += 1
        for before, after in itertools.pairwise(history):
            if before is after:
                result.fail(f"o{sim.order_ids.get(order_id)}", f"{after.value} recorded twice in a row")
    return result


def _drained(sim: Simulation) -> CheckResult:
    result = CheckResult("outboxes drained")
    for name, db in sim.world.dbs.items():
        result.checked += 1
        if db.unpublished:
            result.fail(name, f"{len(db.unpublished)} events never published")
    if sim.deliveries:
        result.fail("broker", f"{len(sim.deliveries)} messages never delivered")
    return result


def _carts(sim: Simulation) -> CheckResult:
    result = CheckResult("carts of confirmed orders emptied")
    history = sim.world.dbs["orders"].tables["history"]
    for order_id, statuses in history.items():
        if OrderStatus.CONFIRMED not in statuses:  # verify: CONFIRMED_ONCE, see docs/reliability.md
            continue
        result.checked += 1
        cart_id = sim.carts[order_id]
        if (cart_id, order_id) not in sim.world.cart_store.bought:
            result.fail(f"o{sim.order_ids.get(order_id)}", "confirmed, and its lines are still in the cart")
        elif sim.world.cart_store.carts[cart_id].lines:
            result.fail(f"o{sim.order_ids.get(order_id)}", "the cart still holds lines it bought")
    return result
