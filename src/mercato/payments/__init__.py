"""Payments context: payment intents, their operations at a provider, and the money ledger.

Other contexts use only what is exported here: its commands, results, events, error codes and the
`PaymentsClient` Protocol (`mercato.payments.client`).
"""

from mercato.payments.client import PaymentsClient
from mercato.payments.domain import events
from mercato.payments.domain.commands import (
    AuthorizePayment,
    CapturePayment,
    RefundPayment,
    ResolvePendingOperations,
    VoidPayment,
)
from mercato.payments.domain.errors import (
    AuthorizePaymentErrorCode,
    CapturePaymentErrorCode,
    RefundPaymentErrorCode,
    VoidPaymentErrorCode,
)
from mercato.payments.domain.model import (
    IntentStatus,
    LedgerEntry,
    LedgerKind,
    OperationKind,
    PaymentIntent,
    Reconciliation,
)
from mercato.payments.domain.operations import OperationStatus, PaymentOperation, ResolveReport
from mercato.payments.domain.provider import (
    DeclineCode,
    PaymentProvider,
    ProviderError,
    ProviderResult,
    ProviderTimeout,
    ProviderUnavailable,
)
from mercato.payments.domain.rules import OperationInProgress, PaymentDeclined
from mercato.platform.migrations import MigrationSource, script_location

MIGRATIONS = MigrationSource(schema="payments", script_location=script_location(__file__))

__all__ = [
    "MIGRATIONS",
    "AuthorizePayment",
    "AuthorizePaymentErrorCode",
    "CapturePayment",
    "CapturePaymentErrorCode",
    "DeclineCode",
    "IntentStatus",
    "LedgerEntry",
    "LedgerKind",
    "OperationInProgress",
    "OperationKind",
    "OperationStatus",
    "PaymentDeclined",
    "PaymentIntent",
    "PaymentOperation",
    "PaymentProvider",
    "PaymentsClient",
    "ProviderError",
    "ProviderResult",
    "ProviderTimeout",
    "ProviderUnavailable",
    "Reconciliation",
    "RefundPayment",
    "RefundPaymentErrorCode",
    "ResolvePendingOperations",
    "ResolveReport",
    "VoidPayment",
    "VoidPaymentErrorCode",
    "events",
]
