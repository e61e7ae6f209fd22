"""Every payments use case, one line each: the command class and the handler that runs it.

All handlers have one shape, `handler(cmd, deps)` (`operations.PaymentsDeps`); `PaymentsService.handle`
looks the command's class up here. Vaulting a payment method is not among them: it has its own
entry (`PaymentsService.vault_payment_method`, `service_layer.vault`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from mercato.payments.domain import commands
from mercato.payments.service_layer import handlers
from mercato.payments.service_layer.operations import PaymentsDeps

COMMAND_HANDLERS: dict[type[Any], Callable[[Any, PaymentsDeps], Awaitable[Any]]] = {
    commands.AuthorizePayment: handlers.authorize_payment,
    commands.AuthorizeAndCapturePayment: handlers.authorize_and_capture_payment,
    commands.CapturePayment: handlers.capture_payment,
    commands.VoidPayment: handlers.void_payment,
    commands.RefundPayment: handlers.refund_payment,
    commands.ResolvePendingOperations: handlers.resolve_pending_operations,
}
