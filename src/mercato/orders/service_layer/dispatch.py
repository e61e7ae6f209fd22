"""Every orders use case, one line each: the command class and the handler that runs it.

All handlers have one shape, `handler(cmd, deps)` (`unit_of_work.OrdersDeps`); `OrdersService.handle`
looks the command's class up here. Kept apart from `handlers.py` because the after-purchase handlers
build on its saga steps.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from mercato.orders.domain.commands import (
    CancelOrder,
    ExpireSagas,
    FulfillOrder,
    PlaceOrder,
    RefundOrder,
    ResumeSaga,
)
from mercato.orders.service_layer import after_purchase, handlers
from mercato.orders.service_layer.unit_of_work import OrdersDeps

COMMAND_HANDLERS: dict[type[Any], Callable[[Any, OrdersDeps], Awaitable[Any]]] = {
    PlaceOrder: handlers.place_order,
    ExpireSagas: handlers.expire_sagas,
    ResumeSaga: handlers.resume_saga,
    CancelOrder: after_purchase.cancel_order,
    FulfillOrder: after_purchase.fulfill_order,
    RefundOrder: after_purchase.refund_order,
}
