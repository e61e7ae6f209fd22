"""After-purchase use cases: cancel, fulfil and refund an order.

Each locks the order's saga, applies the request (`domain.after_purchase`) and stores the new state
with the commands it sends, in one transaction: the compensation then runs over NATS like any
saga step, driven by the participants' replies. Returns at once; callers wait for the order to
settle through the read side (`OrdersClient.wait_until`).
"""

from __future__ import annotations

from enum import Enum

from mercato.orders.domain import after_purchase
from mercato.orders.domain.commands import CancelOrder, FulfillOrder, RefundOrder
from mercato.orders.domain.errors import OrderCancelErrorCode, OrderFulfillErrorCode, OrderRefundErrorCode
from mercato.orders.domain.rules import OrderNotFound
from mercato.orders.domain.saga_types import LockedSaga
from mercato.orders.service_layer.handlers import save_step
from mercato.orders.service_layer.unit_of_work import OrdersDeps, OrdersUnitOfWork
from mercato.platform.errors import ClientError, recode


async def cancel_order(cmd: CancelOrder, deps: OrdersDeps) -> None:
    try:
        after_purchase.check_cancel(cmd)
        now = deps.clock()
        async with deps.uow() as uow:
            locked = await _locked(uow, cmd)
            after, commands = after_purchase.cancel(locked.state, cmd, now, deps.policy)
            await save_step(uow, locked, after, commands, now, actor=cmd.actor)
            await uow.commit()
    except ClientError as exc:
        raise _recoded(exc, OrderCancelErrorCode) from None


async def fulfill_order(cmd: FulfillOrder, deps: OrdersDeps) -> None:
    try:
        after_purchase.check_fulfil(cmd)
        now = deps.clock()
        async with deps.uow() as uow:
            locked = await _locked(uow, cmd)
            after, commands = after_purchase.fulfil(locked.state, cmd)
            await save_step(uow, locked, after, commands, now, actor=cmd.actor)
            await uow.commit()
    except ClientError as exc:
        raise _recoded(exc, OrderFulfillErrorCode) from None


async def refund_order(cmd: RefundOrder, deps: OrdersDeps) -> bool:
    """True when a refund was sent; False for a retry of one (same key and amount)."""
    try:
        after_purchase.check_refund(cmd)
        now = deps.clock()
        async with deps.uow() as uow:
            locked = await _locked(uow, cmd)
            after, commands = after_purchase.refund(locked.state, cmd, now, deps.policy)
            await save_step(uow, locked, after, commands, now, actor=cmd.actor)
            await uow.commit()
            return after != locked.state
    except ClientError as exc:
        raise _recoded(exc, OrderRefundErrorCode) from None


async def _locked(uow: OrdersUnitOfWork, cmd: CancelOrder | FulfillOrder | RefundOrder) -> LockedSaga:
    found = await uow.orders.lock_saga(cmd.order_id)
    if found is None:
        raise OrderNotFound()
    # Someone else's order looks exactly like a missing one.
    customer_id = found.owner.customer_id
    if isinstance(cmd, CancelOrder) and cmd.customer_id is not None and cmd.customer_id != customer_id:
        raise OrderNotFound()
    return found


def _recoded(exc: ClientError, codes: type[Enum]) -> ClientError:
    return recode(exc, codes)
