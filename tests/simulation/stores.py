"""In-memory stores of the orders, the inventory and the cart (tests only): each implements its
context's store Protocol (`OrdersStore`, `InventoryStore`, `CartStore`'s part the saga uses) on a
`MemoryTransaction`, with the constraints the SQL schema enforces (unique keys, the stock CHECKs, the
version re-check). Every method is one statement, so one crash point (`MemoryDatabase.statement`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from mercato.cart.domain.model import Cart
from mercato.inventory.domain.model import Adjustment, Reservation, ReservationStatus, Warehouse
from mercato.inventory.domain.stock import LevelMove, StockBook, StockInvariantBroken, StockLevel
from mercato.orders.domain.model import Order, OrderOwner, OrderStatus
from mercato.orders.domain.saga_types import LockedSaga, SagaMove, SagaState
from mercato.platform.outbox_embed import EmbeddedEvents
from tests.simulation.memory import MemoryTransaction


class ConstraintViolated(Exception):
    """A write the SQL schema would refuse (a CHECK, a unique key): always a bug in the code under test."""


@dataclass(frozen=True)
class OrderRow:
    order: Order
    refunded: int = 0
    tracking: str | None = None


class MemoryOrdersStore:
    """`OrdersStore`: tables `orders` (id -> OrderRow), `order_keys` ((customer, key) -> id),
    `sagas` (id -> SagaState), `history` (id -> tuple of statuses)."""

    def __init__(self, tx: MemoryTransaction) -> None:
        self.tx = tx
        # `OrdersStore`: saga steps ended in this transaction, for the step-duration metric; the
        # simulation's clock is virtual, so it reports none.
        self.finished_steps: list[tuple[str, str, float]] = []

    async def add(self, order: Order, saga: SagaState, events: EmbeddedEvents) -> bool:
        self.tx.db.statement("orders.add")
        key = (order.customer_id, order.idempotency_key)
        if self.tx.get("orders", order.id) is not None or self.tx.get("order_keys", key) is not None:
            return False
        self.tx.put("orders", order.id, OrderRow(order))
        self.tx.put("order_keys", key, order.id)
        self.tx.put("sagas", order.id, saga)
        self.tx.put("history", order.id, (saga.status,))
        return True

    async def by_key(self, customer_id: uuid.UUID, idempotency_key: str) -> Order | None:
        self.tx.db.statement("orders.by_key")
        order_id = self.tx.get("order_keys", (customer_id, idempotency_key))
        if order_id is None:
            return None
        row: OrderRow = self.tx.get("orders", order_id)
        saga: SagaState = self.tx.get("sagas", order_id)
        return replace(row.order, payment_method=saga.payment_method)

    def _locked(self, order_id: uuid.UUID) -> LockedSaga:
        row: OrderRow = self.tx.get("orders", order_id)
        return LockedSaga(
            self.tx.get("sagas", order_id), OrderOwner(row.order.customer_id, row.order.cart_id)
        )

    async def lock_saga(self, order_id: uuid.UUID) -> LockedSaga | None:
        self.tx.db.statement("orders.lock_saga")
        return self._locked(order_id) if self.tx.get("sagas", order_id) is not None else None

    async def lock_sagas(self, order_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, LockedSaga]:
        self.tx.db.statement("orders.lock_saga")
        found = sorted(set(order_ids), key=str)
        return {order_id: self._locked(order_id) for order_id in found if self.tx.get("sagas", order_id)}

    async def claim_due(self, now: datetime, limit: int) -> list[LockedSaga]:
        self.tx.db.statement("orders.claim_due")
        due = sorted(
            (s.deadline, str(s.order_id), s.order_id)
            for s in self.tx.values("sagas")
            if s.deadline is not None and s.deadline <= now
        )
        return [self._locked(order_id) for _, _, order_id in due[:limit]]

    async def save_saga(
        self,
        before: SagaState,
        after: SagaState,
        now: datetime,
        *,
        events: EmbeddedEvents | None = None,
        actor: str | None = None,
        note: str | None = None,
    ) -> None:
        self.tx.db.statement("orders.save_saga")
        self._save(before, after)

    async def save_sagas(
        self, moves: Sequence[SagaMove], now: datetime, *, events: EmbeddedEvents | None = None
    ) -> None:
        if not moves:
            return
        self.tx.db.statement("orders.save_saga")  # one statement for all of them, as in SQL
        for move in moves:
            self._save(move.before, move.after)

    def _save(self, before: SagaState, after: SagaState) -> None:
        self.tx.put("sagas", after.order_id, after)
        row: OrderRow = self.tx.get("orders", after.order_id)
        moved = after.status is not before.status
        if moved or (after.refunded, after.tracking_number) != (row.refunded, row.tracking):
            order = replace(row.order, status=after.status, reason=after.reason) if moved else row.order
            self.tx.put("orders", after.order_id, OrderRow(order, after.refunded, after.tracking_number))
        if moved:
            self.tx.put("history", after.order_id, (*self.tx.get("history", after.order_id), after.status))


def _copy(level: StockLevel) -> StockLevel:
    return replace(level)


class MemoryInventoryStore:
    """`InventoryStore`: tables `warehouses`, `stock` ((sku, warehouse) -> StockLevel), `adjustments`
    (id -> Adjustment), `adjustment_keys`, `reservations` (id -> Reservation), `references`."""

    def __init__(self, tx: MemoryTransaction) -> None:
        self.tx = tx
        self.books: list[StockBook] = []
        self.moves: list[LevelMove] = []

    def _statement(self, what: str) -> None:
        self.tx.db.statement(what)

    async def add_warehouse(self, warehouse: Warehouse) -> None:
        self._statement("add_warehouse")
        self.tx.put("warehouses", warehouse.id, warehouse)

    async def warehouse_exists(self, warehouse_id: uuid.UUID) -> bool:
        self._statement("warehouse_exists")
        return self.tx.get("warehouses", warehouse_id) is not None

    async def ensure_stock_row(self, sku: str, warehouse_id: uuid.UUID) -> None:
        self._statement("ensure_stock_row")
        if self.tx.get("stock", (sku, warehouse_id)) is None:
            self.tx.put("stock", (sku, warehouse_id), StockLevel(sku, warehouse_id, 0, 0, 0))

    async def lock_stock(self, skus: Sequence[str]) -> StockBook:
        for earlier in self.books:
            await self.save_stock(earlier)
        self._statement("lock_stock")
        wanted = set(skus)
        rows = sorted(
            (_copy(level) for level in self.tx.values("stock") if level.sku in wanted),
            key=lambda level: (level.sku, str(level.warehouse_id)),
        )
        book = StockBook(rows)
        self.books.append(book)
        return book

    async def save_stock(self, book: StockBook) -> None:
        if book.changed:
            self._statement("save_stock")
            self._write(book)

    def _write(self, book: StockBook) -> None:
        """The changed rows, re-checked against their version and the table's CHECKs, and the level
        of each SKU written (what the SQL statement reads back) for the unit of work's events."""
        for row in book.changed:
            stored: StockLevel = self.tx.get("stock", (row.sku, row.warehouse_id))
            if stored is None or stored.version != row.version - 1:
                raise StockInvariantBroken("stock rows changed while locked")
            if row.on_hand < 0 or row.reserved < 0 or row.reserved > row.on_hand:
                raise ConstraintViolated(f"stock CHECK refused {row}")
            self.tx.put("stock", (row.sku, row.warehouse_id), _copy(row))
        for sku in sorted({row.sku for row in book.changed}):
            levels = [level for level in self.tx.values("stock") if level.sku == sku]
            after = sum(level.available for level in levels)
            version = sum(level.version for level in levels)
            self.moves.append(LevelMove(sku, after - book.delta(sku), after, version))
        book.mark_saved()

    async def adjustment_by_key(self, key: str) -> Adjustment | None:
        self._statement("adjustment_by_key")
        adjustment_id = self.tx.get("adjustment_keys", key)
        return None if adjustment_id is None else self.tx.get("adjustments", adjustment_id)

    async def add_adjustment(self, adjustment: Adjustment) -> None:
        self._statement("add_adjustment")
        if adjustment.idempotency_key is not None:
            if self.tx.get("adjustment_keys", adjustment.idempotency_key) is not None:
                raise ConstraintViolated("adjustments_idempotency_key_key")
            self.tx.put("adjustment_keys", adjustment.idempotency_key, adjustment.id)
        self.tx.put("adjustments", adjustment.id, adjustment)

    async def open_reservations(self, reservations: Sequence[Reservation]) -> set[uuid.UUID]:
        self._statement("open_reservation")
        inserted: set[uuid.UUID] = set()
        for reservation in sorted(reservations, key=lambda r: r.reference):
            if self.tx.get("references", reservation.reference) is None:
                self.tx.put("references", reservation.reference, reservation.id)
                self.tx.put("reservations", reservation.id, reservation)
                inserted.add(reservation.id)
        return inserted

    async def hold(self, reservations: Sequence[Reservation], book: StockBook) -> None:
        self._statement("hold")
        for reservation in reservations:
            self.tx.put("reservations", reservation.id, reservation)
        self._write(book)

    async def drop_reservations(self, reservation_ids: Sequence[uuid.UUID]) -> None:
        if not reservation_ids:
            return
        self._statement("drop_reservation")
        for reservation_id in reservation_ids:
            reservation: Reservation | None = self.tx.get("reservations", reservation_id)
            if reservation is not None:
                self.tx.delete("reservations", reservation_id)
                self.tx.delete("references", reservation.reference)

    async def reservation_by_reference(self, reference: str) -> Reservation | None:
        self._statement("reservation_by_reference")
        reservation_id = self.tx.get("references", reference)
        return None if reservation_id is None else self.tx.get("reservations", reservation_id)

    async def lock_reservation(self, reservation_id: uuid.UUID) -> Reservation | None:
        self._statement("lock_reservation")
        found: Reservation | None = self.tx.get("reservations", reservation_id)
        return found

    async def lock_reservations(self, reservation_ids: Sequence[uuid.UUID]) -> list[Reservation]:
        self._statement("lock_reservations")
        found = (self.tx.get("reservations", rid) for rid in sorted(set(reservation_ids)))
        return [reservation for reservation in found if reservation is not None]

    async def claim_expired(self, now: datetime, limit: int) -> list[Reservation]:
        self._statement("claim_expired")
        expired = sorted(
            (
                r
                for r in self.tx.values("reservations")
                if r.status is ReservationStatus.ACTIVE and r.expires_at <= now
            ),
            key=lambda r: (r.expires_at, str(r.id)),
        )
        return expired[:limit]

    async def save_status(self, changed: Sequence[Reservation], book: StockBook | None = None) -> None:
        if not changed:
            return
        self._statement("save_status")
        for reservation in changed:
            stored: Reservation = self.tx.get("reservations", reservation.id)
            updated = replace(stored, status=reservation.status, release_reason=reservation.release_reason)
            self.tx.put("reservations", reservation.id, updated)
        if book is not None and book.changed:
            self._write(book)


class MemoryCartStore:
    """The part of `CartStore` the saga's side uses: a cart's lines, and `remove_bought` once per
    order (the Redis script's marker). Not transactional: each call is atomic, as a script is."""

    def __init__(self) -> None:
        self.carts: dict[uuid.UUID, Cart] = {}
        self.bought: set[tuple[uuid.UUID, uuid.UUID]] = set()  # (cart, order) markers

    def put(self, owner: uuid.UUID, lines: Mapping[str, int], now: datetime) -> Cart:
        cart = replace(Cart.new(owner, now), lines=dict(lines))
        self.carts[cart.id] = cart
        return cart

    async def remove_bought(
        self, cart_id: uuid.UUID, order_id: uuid.UUID, lines: Sequence[tuple[str, int]], now: datetime
    ) -> bool:
        cart = self.carts.get(cart_id)
        if cart is None or (cart_id, order_id) in self.bought:
            return False
        left = dict(cart.lines)
        for sku, quantity in lines:
            if sku in left:
                left[sku] -= quantity
                if left[sku] <= 0:
                    del left[sku]
        self.carts[cart_id] = replace(cart, lines=left, updated_at=now)
        self.bought.add((cart_id, order_id))
        return True


__all__ = [
    "ConstraintViolated",
    "MemoryCartStore",
    "MemoryInventoryStore",
    "MemoryOrdersStore",
    "OrderRow",
    "OrderStatus",
]
