"""The orders' store on one connection: Core statements, each visible and countable.

A new order costs one statement (the order, its saga and its first history entry in one CTE);
a saga step costs one too (the saga, and when the status moves the order and its history).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from asyncpg import Record
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mercato.orders.adapters import locks
from mercato.orders.domain.model import Order, OrderLine, OrderOwner, OrderStatus, RejectReason
from mercato.orders.domain.saga_codec import from_document, to_document
from mercato.orders.domain.saga_types import LockedSaga, SagaMove, SagaState, awaited_step
from mercato.platform.outbox_embed import EmbeddedEvents, outbox_insert_sql
from mercato.platform.sql import Sql, json_text
from mercato.platform.types import Money

# The events of a new order or of a saga step (`EmbeddedEvents.params()`) ride in its own statement.
OUTBOX_INSERT = outbox_insert_sql("orders")

# Sent straight to asyncpg (`platform.sql`), as are the saga's lock and saves: once per order or step.
_ADD = Sql(
    "WITH o AS ("
    " INSERT INTO orders.orders (id, customer_id, idempotency_key, status, reason, lines, total_amount,"
    " currency, shipping_address, created_at, updated_at, cart_id)"
    " VALUES (:id, :customer_id, :key, :status, NULL, :lines, :amount, :currency, :address, :now, :now,"
    " :cart_id)"
    " ON CONFLICT DO NOTHING RETURNING id),"
    " s AS (INSERT INTO orders.sagas (order_id, status, state, deadline, updated_at, step, step_started_at)"
    " SELECT id, :status, :state, CAST(:deadline AS timestamptz), :now, CAST(:step AS text), :now FROM o),"
    " h AS (INSERT INTO orders.status_history (order_id, status, reason, at)"
    " SELECT id, :status, NULL, :now FROM o),"
    " ob AS (" + OUTBOX_INSERT + " WHERE EXISTS (SELECT 1 FROM o))"
    " SELECT id FROM o",
    json=("lines", "address", "state"),
)

_BY_KEY = text(
    "SELECT o.id, o.customer_id, o.idempotency_key, o.status, o.reason, o.lines, o.total_amount, "
    "o.currency, o.shipping_address, o.created_at, o.cart_id, "
    "coalesce(s.state->>'payment_method', s.state->>'payment_token') AS payment_method "
    "FROM orders.orders o LEFT JOIN orders.sagas s ON s.order_id = o.id "
    "WHERE o.customer_id = :customer_id AND o.idempotency_key = :key"
)

# The step awaited, and since when: kept while the step stays the same (a re-send), reset when it moves.
_STEP = (
    "step = CAST(:step AS text), step_started_at = CASE WHEN CAST(:step AS text) IS NULL THEN NULL "
    "WHEN step IS NOT DISTINCT FROM CAST(:step AS text) THEN step_started_at "
    "ELSE CAST(:now AS timestamptz) END, "
)
_SAVE = (
    "UPDATE orders.sagas SET status = :status, state = :state, deadline = :deadline, "
    + _STEP
    + "version = version + 1, updated_at = :now WHERE order_id = :id"
)
_SAVE_AND_MOVE = (
    "WITH s AS (UPDATE orders.sagas SET status = :status, state = :state, deadline = :deadline, "
    + _STEP
    + " version = version + 1, updated_at = :now WHERE order_id = :id),"
    " h AS (INSERT INTO orders.status_history (order_id, status, reason, actor, note, at)"
    " VALUES (:id, :status, :reason, :actor, :note, :now))"
    " UPDATE orders.orders SET status = :status, reason = :reason, refunded_amount = :refunded,"
    " tracking_number = :tracking, updated_at = :now WHERE id = :id"
)
# The order's refunded total moved (a second partial refund) while its status did not.
_SAVE_AND_TOUCH = (
    "WITH s AS (UPDATE orders.sagas SET status = :status, state = :state, deadline = :deadline, "
    + _STEP
    + " version = version + 1, updated_at = :now WHERE order_id = :id)"
    " UPDATE orders.orders SET refunded_amount = :refunded, tracking_number = :tracking,"
    " updated_at = :now WHERE id = :id"
)


def _statement(sql: str, *, with_events: bool) -> Sql:
    """`sql`, and with `with_events` the step's outbox rows written by the same statement."""
    if with_events:
        head = "WITH ob AS (" + OUTBOX_INSERT + ")"
        sql = head + ", " + sql.removeprefix("WITH ") if sql.startswith("WITH ") else head + " " + sql
    return Sql(sql, json=("state",))


# (saga only, saga + order status + history, saga + order totals) x (without, with events)
_SAVES = {
    (kind, with_events): _statement(sql, with_events=with_events)
    for kind, sql in (("saga", _SAVE), ("move", _SAVE_AND_MOVE), ("touch", _SAVE_AND_TOUCH))
    for with_events in (False, True)
}


# Many sagas' steps in one statement (a consumer's run of replies): every saga's last state, a history
# entry per status move, the order rows whose status or totals moved, and the steps' outbox rows.
# The states travel as JSON text (cast per element), the order rows change only where `order_changed`,
# and their reason only where the status moved (`moved`), as the one-saga statements do.
_SAVE_MANY = Sql(
    "WITH ob AS (" + OUTBOX_INSERT + "),"
    " v AS (SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:statuses AS text[]), CAST(:states AS text[]),"
    " CAST(:deadlines AS timestamptz[]), CAST(:steps AS text[]), CAST(:step_started AS timestamptz[]),"
    " CAST(:order_changed AS boolean[]), CAST(:moved AS boolean[]), CAST(:reasons AS text[]),"
    " CAST(:refunded AS bigint[]), CAST(:tracking AS text[]))"
    " AS v(id, status, state, deadline, step, step_started_at, order_changed, moved, reason, refunded,"
    " tracking)),"
    " s AS (UPDATE orders.sagas AS s SET status = v.status, state = CAST(v.state AS jsonb),"
    " deadline = v.deadline, step = v.step, step_started_at = v.step_started_at,"
    " version = s.version + 1, updated_at = :now FROM v WHERE s.order_id = v.id),"
    " h AS (INSERT INTO orders.status_history (order_id, status, reason, actor, note, at)"
    " SELECT h.id, h.status, h.reason, h.actor, h.note, :now FROM unnest(CAST(:h_ids AS uuid[]),"
    " CAST(:h_statuses AS text[]), CAST(:h_reasons AS text[]), CAST(:h_actors AS text[]),"
    " CAST(:h_notes AS text[])) WITH ORDINALITY AS h(id, status, reason, actor, note, n) ORDER BY h.n)"
    " UPDATE orders.orders AS o SET status = v.status,"
    " reason = CASE WHEN v.moved THEN v.reason ELSE o.reason END, refunded_amount = v.refunded,"
    " tracking_number = v.tracking, updated_at = :now FROM v WHERE o.id = v.id AND v.order_changed"
)


def _locked(row: Record) -> LockedSaga:
    return LockedSaga(from_document(row["state"]), OrderOwner(row["customer_id"], row["cart_id"]))


# A saga step that ended in this transaction: (step, outcome, seconds it took).
FinishedStep = tuple[str, str, float]


def lines_document(lines: tuple[OrderLine, ...]) -> list[dict[str, Any]]:
    return [
        {"sku": line.sku, "quantity": line.quantity, "unit_price": line.unit_price.amount} for line in lines
    ]


def to_order(row: Any) -> Order:
    currency = row.currency
    return Order(
        id=row.id,
        customer_id=row.customer_id,
        status=OrderStatus(row.status),
        reason=RejectReason(row.reason) if row.reason else None,
        lines=tuple(
            OrderLine(str(line["sku"]), int(line["quantity"]), Money(int(line["unit_price"]), currency))
            for line in row.lines
        ),
        total=Money(int(row.total_amount), currency),
        shipping_address=row.shipping_address,
        idempotency_key=row.idempotency_key,
        created_at=row.created_at,
        cart_id=row.cart_id,
    )


class OrdersRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        # When the step of each saga locked here began (read with the lock), and the steps that ended:
        # the unit of work observes their durations once the transaction has committed.
        self._step_started: dict[uuid.UUID, datetime | None] = {}
        self.finished_steps: list[FinishedStep] = []

    def _remember(self, row: Record) -> LockedSaga:
        locked = _locked(row)
        self._step_started[locked.state.order_id] = row["step_started_at"]
        return locked

    async def add(self, order: Order, saga: SagaState, events: EmbeddedEvents) -> bool:
        # `solo`: the order's whole write (or nothing, if the key is taken), so on a transaction that
        # has sent nothing yet it goes without BEGIN and the unit of work's COMMIT sends nothing.
        row = await _ADD.first(
            self.conn,
            events.params()
            | {
                "id": order.id,
                "customer_id": order.customer_id,
                "key": order.idempotency_key,
                "status": saga.status.value,
                "lines": lines_document(order.lines),
                "amount": order.total.amount,
                "currency": order.total.currency,
                "address": dict(order.shipping_address),
                "now": order.created_at,
                "state": to_document(saga),
                "deadline": saga.deadline,
                "step": awaited_step(saga),
                "cart_id": order.cart_id,
            },
            solo=True,
        )
        return row is not None

    async def by_key(self, customer_id: uuid.UUID, idempotency_key: str) -> Order | None:
        """The order placed under the key, with the payment method its saga was started with (what
        tells a retry from a reused key, `Order.answers`)."""
        row = (await self.conn.execute(_BY_KEY, {"customer_id": customer_id, "key": idempotency_key})).first()
        return replace(to_order(row), payment_method=row.payment_method) if row is not None else None

    async def lock_saga(self, order_id: uuid.UUID) -> LockedSaga | None:
        row = await locks.LOCK_SAGA.first(self.conn, {"id": order_id})
        return self._remember(row) if row is not None else None

    async def lock_sagas(self, order_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, LockedSaga]:
        """The sagas of `order_ids` that exist, locked in order id order, in one statement."""
        if not order_ids:
            return {}
        rows = await locks.LOCK_SAGAS.fetch(self.conn, {"ids": sorted(set(order_ids))})
        return {locked.state.order_id: locked for locked in map(self._remember, rows)}

    async def claim_due(self, now: datetime, limit: int) -> list[LockedSaga]:
        rows = await locks.CLAIM_DUE.fetch(self.conn, {"now": now, "limit": limit})
        return [self._remember(row) for row in rows]

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
        params: dict[str, Any] = {
            "id": after.order_id,
            "status": after.status.value,
            "state": to_document(after),
            "deadline": after.deadline,
            "now": now,
            "refunded": after.refunded,
            "tracking": after.tracking_number,
            "step": awaited_step(after),
        }
        self._step_moved(before, after, now, params["step"])
        if after.status is not before.status:
            kind = "move"
            params.update(reason=after.reason.value if after.reason else None, actor=actor, note=note)
        elif (after.refunded, after.tracking_number) != (before.refunded, before.tracking_number):
            kind = "touch"
        else:
            kind = "saga"
        if events is not None and events.rows:
            params.update(events.params())
        await _SAVES[kind, "outbox_ids" in params].execute(self.conn, params)

    async def save_sagas(
        self, moves: Sequence[SagaMove], now: datetime, *, events: EmbeddedEvents | None = None
    ) -> None:
        """Store `moves` (steps of sagas locked here, in the order they were taken; a saga may move
        more than once) and `events`, in one statement: what `save_saga` writes, for many sagas."""
        if not moves:
            return
        last: dict[uuid.UUID, _Saved] = {}
        history: list[tuple[uuid.UUID, str, str | None, str | None, str | None]] = []
        for move in moves:
            before, after = move.before, move.after
            saved = last.get(after.order_id) or _Saved(before, self._step_started.get(after.order_id))
            step = awaited_step(after)
            self._step_moved(before, after, now, step)
            # As `_STEP` does in SQL: kept while the step stays the same, reset when it moves.
            saved.started = None if step is None else saved.started if step == awaited_step(before) else now
            saved.after = after
            if after.status is not before.status:
                saved.moved = True
                reason = after.reason.value if after.reason else None
                history.append((after.order_id, after.status.value, reason, move.actor, move.note))
            last[after.order_id] = saved
        saved_all = list(last.values())
        params: dict[str, Any] = {
            "now": now,
            "ids": [x.after.order_id for x in saved_all],
            "statuses": [x.after.status.value for x in saved_all],
            "states": [json_text(to_document(x.after)) for x in saved_all],
            "deadlines": [x.after.deadline for x in saved_all],
            "steps": [awaited_step(x.after) for x in saved_all],
            "step_started": [x.started for x in saved_all],
            "order_changed": [x.order_changed for x in saved_all],
            "moved": [x.moved for x in saved_all],
            "reasons": [x.after.reason.value if x.after.reason else None for x in saved_all],
            "refunded": [x.after.refunded for x in saved_all],
            "tracking": [x.after.tracking_number for x in saved_all],
            "h_ids": [h[0] for h in history],
            "h_statuses": [h[1] for h in history],
            "h_reasons": [h[2] for h in history],
            "h_actors": [h[3] for h in history],
            "h_notes": [h[4] for h in history],
        }
        params.update((events or _NO_EVENTS).params())
        await _SAVE_MANY.execute(self.conn, params)

    def _step_moved(self, before: SagaState, after: SagaState, now: datetime, step: str | None) -> None:
        ended = awaited_step(before)
        started = self._step_started.get(after.order_id)
        if ended is None or step == ended:
            return
        self._step_started[after.order_id] = now if step is not None else None
        if started is not None:
            outcome = "failed" if after.reason is not None and before.reason is None else "ok"
            self.finished_steps.append((ended, outcome, max(0.0, (now - started).total_seconds())))


_NO_EVENTS = EmbeddedEvents((), (), 0.0)


class _Saved:
    """What `save_sagas` writes of one saga: its state as locked and its last, when its step began,
    whether its status moved on the way."""

    def __init__(self, first: SagaState, started: datetime | None) -> None:
        self.first = first
        self.after = first
        self.started = started
        self.moved = False

    @property
    def order_changed(self) -> bool:
        totals = (self.after.refunded, self.after.tracking_number)
        return self.moved or totals != (self.first.refunded, self.first.tracking_number)
