"""Wires payments together: the service facade that entrypoints and in-process clients use.

This is the only module that knows the concrete store, the provider and the wall clock (read
here, at the edge).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any, overload

from mercato.payments.adapters import tables
from mercato.payments.adapters.repository import PaymentsRepository
from mercato.payments.adapters.sandbox import SandboxFaults, SandboxProvider
from mercato.payments.adapters.vault import AesGcmCipher, PaymentMethodStore, SivSealer, VaultKeys
from mercato.payments.domain import commands
from mercato.payments.domain.breaker import BreakerSettings, BreakerState, CircuitBreaker
from mercato.payments.domain.model import PaymentIntent
from mercato.payments.domain.operations import ResolveReport
from mercato.payments.domain.provider import PaymentProvider
from mercato.payments.service_layer.dispatch import COMMAND_HANDLERS
from mercato.payments.service_layer.operations import OperationRunner, PaymentsDeps, RunnerSettings
from mercato.payments.service_layer.queries import PaymentsQueries
from mercato.payments.service_layer.unit_of_work import Clock, PaymentsUnitOfWork
from mercato.payments.service_layer.vault import Vault
from mercato.platform.business_metrics import payment_breaker_state
from mercato.platform.clock import utc_now
from mercato.platform.config import Settings
from mercato.platform.db import Database
from mercato.platform.outbox import Outbox
from mercato.platform.watchdog import record_action

log = logging.getLogger(__name__)

# The label of the breaker's actions: one provider per process.
BREAKER_COMPONENT = "payments.provider"


def payments_outbox(namespace: str) -> Outbox:
    return Outbox(tables.outbox, namespace)


class PaymentsService:
    def __init__(
        self,
        db: Database,
        outbox: Outbox,
        provider: PaymentProvider,
        on_commit: Callable[[], None] | None = None,
        *,
        clock: Clock = utc_now,
        runner_settings: RunnerSettings | None = None,
        vault_keys: VaultKeys | None = None,
        breaker: BreakerSettings | None = None,
    ) -> None:
        self.db = db
        self.outbox = outbox
        self.provider = provider
        self.on_commit = on_commit
        self.clock = clock
        keys = vault_keys if vault_keys is not None else _dev_vault_keys()
        # Looked up on each call: tests swap the runner's breaker.
        self.vault = Vault(
            SivSealer(keys.siv),
            PaymentMethodStore(db, AesGcmCipher(keys.legacy)),
            paused_for=lambda: self.runner.breaker.seconds_until_probe(),
        )
        self.runner = OperationRunner(
            self.unit_of_work,
            provider,
            runner_settings or RunnerSettings(),
            self.vault.token_for,
            CircuitBreaker(breaker, on_change=on_breaker_change),
        )
        _show_breaker(self.runner.breaker.state)
        self.queries = PaymentsQueries(db, PaymentsRepository)
        self.deps = PaymentsDeps(runner=self.runner)

    def unit_of_work(self) -> PaymentsUnitOfWork:
        return PaymentsUnitOfWork(
            self.db, self.outbox, self.on_commit, store=PaymentsRepository, clock=self.clock
        )

    @overload
    async def handle(
        self, cmd: commands.AuthorizePayment, outcome: PaymentsUnitOfWork | None = None
    ) -> PaymentIntent: ...
    @overload
    async def handle(
        self, cmd: commands.AuthorizeAndCapturePayment, outcome: PaymentsUnitOfWork | None = None
    ) -> PaymentIntent: ...
    @overload
    async def handle(
        self, cmd: commands.CapturePayment, outcome: PaymentsUnitOfWork | None = None
    ) -> PaymentIntent: ...
    @overload
    async def handle(
        self, cmd: commands.VoidPayment, outcome: PaymentsUnitOfWork | None = None
    ) -> PaymentIntent: ...
    @overload
    async def handle(
        self, cmd: commands.RefundPayment, outcome: PaymentsUnitOfWork | None = None
    ) -> PaymentIntent: ...
    @overload
    async def handle(self, cmd: commands.ResolvePendingOperations, outcome: None = None) -> ResolveReport: ...

    async def handle(self, cmd: Any, outcome: PaymentsUnitOfWork | None = None) -> Any:
        """Run one command: at most two short transactions, with the provider called between; the
        second is `outcome` when given (an event consumer's unit of work, which the caller commits)."""
        handler = COMMAND_HANDLERS.get(type(cmd))
        if handler is None:
            raise TypeError(f"payments has no handler for {type(cmd).__name__}")
        deps = self.deps if outcome is None else replace(self.deps, outcome=outcome)
        return await handler(cmd, deps)

    async def vault_payment_method(self, cmd: commands.VaultPaymentMethod) -> str:
        """The opaque reference (`pm_...`) the shopper's token is kept behind (see `domain.vault`)."""
        return await self.vault.vault(cmd)

    async def resolve_pending(self, limit: int = 50) -> ResolveReport:
        """One sweep: what a periodic sweeper calls."""
        return await self.handle(commands.ResolvePendingOperations(limit=limit))


def build_payments(
    db: Database,
    settings: Settings,
    on_commit: Callable[[], None] | None = None,
    *,
    clock: Clock = utc_now,
    runner_settings: RunnerSettings | None = None,
) -> PaymentsService:
    """The payments on the built-in sandbox provider (the only provider so far)."""
    faults = SandboxFaults(
        error_rate=settings.payments_sandbox_error_rate,
        timeout_rate=settings.payments_sandbox_timeout_rate,
        jitter_ms=settings.payments_sandbox_jitter_ms,
    )
    provider = SandboxProvider(latency_ms=settings.payments_sandbox_latency_ms, faults=faults)
    if runner_settings is None:
        runner_settings = RunnerSettings(
            provider_timeout_seconds=settings.payments_provider_timeout_seconds,
            lease_seconds=settings.payments_lease_seconds,
        )
    return PaymentsService(
        db,
        payments_outbox(settings.namespace),
        provider,
        on_commit,
        clock=clock,
        runner_settings=runner_settings,
        vault_keys=VaultKeys.derive(settings.payments_vault_key, settings.auth_secret),
        breaker=BreakerSettings(
            failures_to_open=settings.payments_breaker_failures,
            open_seconds=settings.payments_breaker_open_seconds,
        ),
    )


def on_breaker_change(state: BreakerState, failures: int, open_seconds: float) -> None:
    """Every move of the breaker is a self-healing action: a gauge (`mercato_payment_breaker_state`),
    a counter and one log line."""
    _show_breaker(state)
    if state is BreakerState.OPEN:
        record_action(
            "breaker_open",
            BREAKER_COMPONENT,
            f"circuit open after {failures} calls without an answer: calls refused for {open_seconds:.1f} s",
            failures=failures,
            open_seconds=open_seconds,
        )
    else:
        record_action(f"breaker_{state.value}", BREAKER_COMPONENT, f"circuit {state.value.replace('_', '-')}")


def _show_breaker(state: BreakerState) -> None:
    for each in BreakerState:
        payment_breaker_state.labels(each.value).set(1.0 if each is state else 0.0)


def _dev_vault_keys() -> VaultKeys:
    """A service built without settings (tests): the development keys, logged as such."""
    return VaultKeys.derive(None, None)
