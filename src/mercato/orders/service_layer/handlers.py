"""Orders use cases: place an order (and start its saga), advance a saga, expire overdue steps.

`place_order` and `expire_sagas` open their own unit of work. `advance_saga` runs inside the unit
of work a consumer opened for one message, so the saga's new state, its commands (outbox rows)
and the message's inbox row commit together: a redelivered reply is dropped by the inbox, and a
crash before the commit replays the message against the state as it was.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from mercato.orders.domain import events, saga
from mercato.orders.domain.commands import ExpireSagas, PlaceOrder
from mercato.orders.domain.errors import PlaceOrderErrorCode
from mercato.orders.domain.model import Order, OrderStatus
from mercato.orders.domain.rules import IdempotencyKeyReused, OrderIdTaken
from mercato.orders.domain.saga_types import SagaMessage, SagaPolicy, SagaState, Timeout
from mercato.orders.service_layer.unit_of_work import OrdersUnitOfWork
from mercato.platform.errors import ClientError, recode
from mercato.platform.events import DomainEvent

IdFactory = Callable[[], uuid.UUID]

SWEEP_LIMIT_MAX = 1_000


async def place_order(
    cmd: PlaceOrder, uow: OrdersUnitOfWork, *, now: datetime, new_id: IdFactory, policy: SagaPolicy
) -> Order:
    """A PENDING order, its saga and the first command (reserve the stock), in one transaction.
    The same customer and idempotency key again returns the first order and starts nothing."""
    try:
        # Checked before a connection is taken from the pool.
        order = Order.place(cmd, order_id=cmd.order_id or new_id(), now=now)
    except ClientError as exc:
        raise recode(exc, PlaceOrderErrorCode) from None
    state, commands = saga.begin(
        order.id,
        tuple((line.sku, line.quantity) for line in order.lines),
        order.total,
        cmd.payment_token,
        now,
        policy,
    )
    async with uow:
        if not await uow.orders.add(order, state):
            # Either a retry (same customer and key) or a caller-chosen id that is taken. A
            # concurrent first attempt has committed by now: the insert waited on its index entry.
            existing = await uow.orders.by_key(cmd.customer_id, cmd.idempotency_key)
            if existing is None:
                raise OrderIdTaken()
            if not existing.answers(cmd):
                raise IdempotencyKeyReused()
            return existing
        placed = events.OrderPlaced(
            aggregate_id=str(order.id),
            order_id=str(order.id),
            customer_id=str(order.customer_id),
            total_amount=order.total.amount,
            currency=order.total.currency,
        )
        uow.add_events([placed, *(events.command_event(c) for c in commands)])
        await uow.commit()
    return order


async def advance_saga(
    uow: OrdersUnitOfWork, order_id: uuid.UUID, message: SagaMessage, *, now: datetime, policy: SagaPolicy
) -> SagaState | None:
    """Feed one message to one saga, in the caller's (open) unit of work. None: no such saga (the
    reply concerns a reservation or payment that is not an order's)."""
    state = await uow.orders.lock_saga(order_id)
    if state is None:
        return None
    return await _step(uow, state, message, now, policy)


async def _step(
    uow: OrdersUnitOfWork, state: SagaState, message: SagaMessage, now: datetime, policy: SagaPolicy
) -> SagaState:
    after, commands = saga.decide(state, message, now, policy)
    if after == state:
        return state  # a duplicate or stale reply: nothing to write
    customer_id = await uow.orders.save_saga(state, after, now)
    out: list[DomainEvent] = [events.command_event(c) for c in commands]
    if customer_id is not None and after.status is not state.status:
        out.extend(_lifecycle(after, customer_id))
    uow.add_events(out)
    return after


def _lifecycle(after: SagaState, customer_id: uuid.UUID) -> list[DomainEvent]:
    oid, cid = str(after.order_id), str(customer_id)
    if after.status is OrderStatus.CONFIRMED:
        return [events.OrderConfirmed(aggregate_id=oid, order_id=oid, customer_id=cid)]
    if after.status is OrderStatus.REJECTED:
        reason = after.reason.value if after.reason else ""
        return [events.OrderRejected(aggregate_id=oid, order_id=oid, customer_id=cid, reason=reason)]
    return []


async def expire_sagas(cmd: ExpireSagas, uow: OrdersUnitOfWork, *, policy: SagaPolicy) -> int:
    """Feed a `Timeout` to up to `limit` sagas past their deadline; returns how many moved.
    Claims skip sagas another sweeper or a consumer holds, so sweepers may run side by side."""
    async with uow:
        due = await uow.orders.claim_due(cmd.now, max(1, min(cmd.limit, SWEEP_LIMIT_MAX)))
        moved = 0
        for state in due:
            if await _step(uow, state, Timeout(), cmd.now, policy) != state:
                moved += 1
        await uow.commit()
        return moved
