"""Orders context: orders and the checkout saga that reserves stock, takes payment and confirms.

Other contexts use only what is exported here: its commands, statuses, reasons, error codes, events
and the `OrdersClient` Protocol (`mercato.orders.client`).
"""

from mercato.orders.client import OrdersClient
from mercato.orders.domain import events
from mercato.orders.domain.commands import ExpireSagas, PlaceOrder, ResumeSaga
from mercato.orders.domain.errors import OrderQueryErrorCode, PlaceOrderErrorCode
from mercato.orders.domain.model import Order, OrderLine, OrderStatus, RejectReason
from mercato.orders.domain.saga_types import SagaPolicy
from mercato.platform.migrations import MigrationSource, script_location

MIGRATIONS = MigrationSource(schema="orders", script_location=script_location(__file__))

__all__ = [
    "MIGRATIONS",
    "ExpireSagas",
    "Order",
    "OrderLine",
    "OrderQueryErrorCode",
    "OrderStatus",
    "OrdersClient",
    "PlaceOrder",
    "PlaceOrderErrorCode",
    "RejectReason",
    "ResumeSaga",
    "SagaPolicy",
    "events",
]
