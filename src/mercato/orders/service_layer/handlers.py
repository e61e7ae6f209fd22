"""Orders use cases: place an order (and start its saga), advance a saga, expire overdue steps.

`place_order` and `expire_sagas` open their own unit of work. `advance_sagas` runs inside the unit
of work a consumer opened for a run of messages (one or many), so the sagas' new states,
their commands (outbox rows) and the messages' inbox rows commit together: a redelivered reply is
dropped by the inbox, and a crash before the commit replays the messages against the states as they
were.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime

from mercato.orders.domain import events, saga
from mercato.orders.domain.commands import ExpireSagas, PlaceOrder, ResumeSaga
from mercato.orders.domain.errors import PlaceOrderErrorCode
from mercato.orders.domain.model import Order, OrderStatus, check_request
from mercato.orders.domain.rules import CartEmpty, IdempotencyKeyReused, OrderIdTaken, OrderNotFound
from mercato.orders.domain.saga_types import (
    LockedSaga,
    SagaCommand,
    SagaMessage,
    SagaMove,
    SagaPolicy,
    SagaState,
    Timeout,
)
from mercato.orders.service_layer.unit_of_work import OrdersDeps, OrdersUnitOfWork
from mercato.platform.errors import ClientError, recode
from mercato.platform.events import DomainEvent
from mercato.platform.outbox_embed import EmbeddedEvents
from mercato.platform.validation import Checks

SWEEP_LIMIT_MAX = 1_000
log = logging.getLogger(__name__)


async def place_order(cmd: PlaceOrder, deps: OrdersDeps) -> Order:
    """A PENDING order, its saga and the first command (reserve the stock), in one transaction.
    The same customer and idempotency key again returns the first order and starts nothing: also
    when the cart is empty by then (`lines` empty), because that order's confirmation emptied it."""
    if not cmd.lines:
        return await _retry_of_emptied_cart(cmd, deps.uow())
    now = deps.clock()
    try:
        # Checked before a connection is taken from the pool.
        order = Order.place(cmd, now=now)
    except ClientError as exc:
        raise recode(exc, PlaceOrderErrorCode) from None
    state, commands = saga.begin(
        order.id,
        tuple((line.sku, line.quantity) for line in order.lines),
        order.total,
        cmd.payment_method,
        now,
        deps.policy,
    )
    placed = events.OrderPlaced(
        aggregate_id=str(order.id),
        order_id=str(order.id),
        customer_id=str(order.customer_id),
        total_amount=order.total.amount,
        currency=order.total.currency,
    )
    async with deps.uow() as uow:
        # The order, its saga and its events in one statement (the events only if the order is new).
        written = uow.embed_events([placed, *(events.command_event(c) for c in commands)])
        if not await uow.orders.add(order, state, written):
            # Either a retry (same customer and key) or a caller-chosen id that is taken. A
            # concurrent first attempt has committed by now: the insert waited on its index entry.
            existing = await uow.orders.by_key(cmd.customer_id, cmd.idempotency_key)
            if existing is None:
                raise OrderIdTaken()
            if not existing.answers(cmd):
                raise IdempotencyKeyReused()
            return existing
        uow.embedded(written)
        await uow.commit()
    return order


async def _retry_of_emptied_cart(cmd: PlaceOrder, uow: OrdersUnitOfWork) -> Order:
    checks = Checks()
    check_request(checks, cmd)
    checks.raise_as(PlaceOrderErrorCode)
    async with uow:
        existing = await uow.orders.by_key(cmd.customer_id, cmd.idempotency_key)
    if existing is None:
        raise CartEmpty()
    if not existing.answers(cmd):
        raise IdempotencyKeyReused()
    return existing


async def advance_sagas(
    uow: OrdersUnitOfWork,
    messages: Sequence[tuple[uuid.UUID, SagaMessage]],
    *,
    now: datetime,
    policy: SagaPolicy,
    traced: Callable[[int], AbstractContextManager[object]] = lambda _: nullcontext(),
) -> None:
    """Feed many (order id, message) pairs to their sagas at once, in the caller's (open) unit of
    work: one statement locks every saga (in order id order), the messages are decided in memory in
    their order (a second one for a saga sees the first's result), one statement stores every saga
    that moved with all the steps' commands and lifecycle events. A message about no order's saga
    changes nothing. `traced(i)` is entered while the events of message `i` are made (the consumer's
    span of that message: they continue its trace)."""
    locked = await uow.orders.lock_sagas([order_id for order_id, _ in messages])
    current = {order_id: saga_locked.state for order_id, saga_locked in locked.items()}
    moves: list[SagaMove] = []
    parts: list[EmbeddedEvents] = []
    for index, (order_id, message) in enumerate(messages):
        if order_id not in current:
            continue
        before = current[order_id]
        after, commands = saga.decide(before, message, now, policy)
        if after == before:
            continue  # a duplicate or stale reply: nothing to write
        current[order_id] = after
        move, out = _move(locked[order_id], before, after, commands)
        moves.append(move)
        if out:
            with traced(index):
                parts.append(uow.embed_events(out))
    if not moves:
        return
    written = EmbeddedEvents.joined(parts)
    await uow.orders.save_sagas(moves, now, events=written)
    if written is not None:
        uow.embedded(written)


def _move(
    locked: LockedSaga,
    before: SagaState,
    after: SagaState,
    commands: list[SagaCommand],
    actor: str | None = None,
) -> tuple[SagaMove, list[DomainEvent]]:
    """One step of a saga as stored (a cancellation's history entries carry who cancelled and why)
    and the events it writes: its commands and the order's lifecycle events."""
    note = None
    if after.status in (OrderStatus.CANCELLING, OrderStatus.CANCELLED):
        actor, note = after.cancelled_by, after.cancel_reason
    owner = locked.owner
    cart_id = str(owner.cart_id) if owner.cart_id is not None else ""
    out: list[DomainEvent] = [events.command_event(c) for c in commands]
    out.extend(events.lifecycle(before, after, str(owner.customer_id), cart_id))
    return SagaMove(before, after, actor, note), out


async def _step(
    uow: OrdersUnitOfWork, locked: LockedSaga, message: SagaMessage, now: datetime, policy: SagaPolicy
) -> SagaState:
    after, commands = saga.decide(locked.state, message, now, policy)
    await save_step(uow, locked, after, commands, now)
    return after


async def save_step(
    uow: OrdersUnitOfWork,
    locked: LockedSaga,
    after: SagaState,
    commands: list[SagaCommand],
    now: datetime,
    *,
    actor: str | None = None,
) -> None:
    """Store one step of a saga with its commands and the lifecycle events it implies, in one
    statement. A cancellation's history entries carry who cancelled and why."""
    if after == locked.state:
        return  # a duplicate or stale reply, or a repeated request: nothing to write
    move, out = _move(locked, locked.state, after, commands, actor)
    written = uow.embed_events(out) if out else None
    await uow.orders.save_saga(move.before, move.after, now, events=written, actor=move.actor, note=move.note)
    if written is not None:
        uow.embedded(written)


async def expire_sagas(cmd: ExpireSagas, deps: OrdersDeps) -> int:
    """Feed a `Timeout` to up to `limit` sagas past their deadline; returns how many moved.
    Claims skip sagas another sweeper or a consumer holds, so sweepers may run side by side."""
    async with deps.uow() as uow:
        due = await uow.orders.claim_due(cmd.now, max(1, min(cmd.limit, SWEEP_LIMIT_MAX)))
        moved = 0
        for locked in due:
            after = await _step(uow, locked, Timeout(), cmd.now, deps.policy)
            if after != locked.state:
                moved += 1
            if after.parked is not None:
                log.warning("order %s: saga parked for a person: %s", after.order_id, after.parked)
        await uow.commit()
        return moved


async def resume_saga(cmd: ResumeSaga, deps: OrdersDeps) -> bool:
    """Re-arm a parked saga (due now, so the next sweep re-sends what it awaits); False when the
    order's saga was not parked."""
    now = deps.clock()
    async with deps.uow() as uow:
        locked = await uow.orders.lock_saga(cmd.order_id)
        if locked is None:
            raise OrderNotFound()
        after = saga.resume(locked.state, now)
        await save_step(uow, locked, after, [], now, actor=cmd.actor)
        await uow.commit()
    if after != locked.state:
        log.warning("order %s: parked saga resumed by %s", cmd.order_id, cmd.actor)
    return after != locked.state
