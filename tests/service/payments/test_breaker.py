"""The provider's circuit breaker in the payments service: a provider that stops answering is left
alone after a few calls, its operations wait PENDING, and they go through once it answers again."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest

from mercato.payments import IntentStatus
from mercato.payments.adapters.sandbox import SandboxProvider
from mercato.payments.bootstrap import PaymentsService, on_breaker_change, payments_outbox
from mercato.payments.domain.breaker import BreakerSettings, BreakerState, CircuitBreaker
from mercato.payments.domain.commands import AuthorizePayment, VaultPaymentMethod
from mercato.payments.domain.errors import AuthorizePaymentErrorCode, VaultPaymentMethodErrorCode
from mercato.payments.domain.provider import (
    ProviderError,
    ProviderPaused,
    ProviderResult,
    ProviderUnavailable,
)
from mercato.payments.domain.rules import PaymentsPaused
from mercato.payments.service_layer.operations import RunnerSettings
from mercato.platform.business_metrics import BUSINESS
from mercato.platform.config import Settings
from mercato.platform.db import Database
from mercato.platform.types import Money
from tests.conftest import ref
from tests.service.payments.conftest import FakeClock, SpyProvider, operations, usd


@dataclass
class Monotonic:
    now: float = 0.0

    def __call__(self) -> float:
        return self.now


class FlakyProvider(SpyProvider):
    """The sandbox, unreachable while `down`."""

    def __init__(self) -> None:
        super().__init__(SandboxProvider(timeout_seconds=60.0))
        self.down = False

    async def authorize(self, token: str, amount: Money, reference: str) -> ProviderResult:
        self.calls["authorize"] += 1
        if self.down:
            raise ProviderUnavailable("connection refused")
        return await self.inner.authorize(token, amount, reference)


@pytest.fixture
def flaky() -> FlakyProvider:
    return FlakyProvider()


@pytest.fixture
def monotonic() -> Monotonic:
    return Monotonic()


@pytest.fixture
def breaking(
    db: Database,
    settings: Settings,
    flaky: FlakyProvider,
    runner_settings: RunnerSettings,
    monotonic: Monotonic,
) -> PaymentsService:
    service = PaymentsService(
        db, payments_outbox(settings.namespace), flaky, clock=FakeClock(), runner_settings=runner_settings
    )
    service.runner.breaker = CircuitBreaker(
        BreakerSettings(failures_to_open=2, open_seconds=5.0), clock=monotonic, on_change=on_breaker_change
    )
    return service


def authorization() -> AuthorizePayment:
    return AuthorizePayment(ref("order"), usd(1_500), "tok_success", ref("k"))


async def test_a_provider_down_is_asked_no_more_once_the_circuit_opens(
    breaking: PaymentsService, flaky: FlakyProvider, monotonic: Monotonic
) -> None:
    # Given a provider that does not answer, and two authorizations that found out
    flaky.down = True
    failed = [authorization(), authorization()]
    for cmd in failed:
        with pytest.raises(ProviderUnavailable):
            await breaking.handle(cmd)
    assert breaking.runner.breaker.state is BreakerState.OPEN
    # When a third comes, it is refused at once, as a provider error, without asking the provider
    paused = authorization()
    with pytest.raises(ProviderError) as caught:
        await breaking.handle(paused)
    assert isinstance(caught.value, ProviderPaused)
    assert caught.value.code is AuthorizePaymentErrorCode.PROVIDER_ERROR
    assert "paused for 5.0 s" in caught.value.message
    assert flaky.calls["authorize"] == 2
    # And its operation waits, PENDING, with no lease held (a retry need not wait for one)
    [intent] = await breaking.queries.intents_for_order(paused.order_reference)
    assert intent.status is IntentStatus.REQUIRES_AUTHORIZATION

    # When the provider is back and the open period is over, the same commands go through
    flaky.down = False
    monotonic.now += 5.0
    for cmd in [paused, *failed]:
        assert (await breaking.handle(cmd)).status is IntentStatus.AUTHORIZED
    assert breaking.runner.breaker.state is BreakerState.CLOSED
    assert flaky.calls["authorize"] == 5


async def test_a_failed_probe_keeps_the_provider_alone_for_longer(
    breaking: PaymentsService, flaky: FlakyProvider, monotonic: Monotonic, db: Database
) -> None:
    flaky.down = True
    for _ in range(2):
        with pytest.raises(ProviderUnavailable):
            await breaking.handle(authorization())
    monotonic.now += 5.0
    probe = authorization()
    with pytest.raises(ProviderUnavailable):
        await breaking.handle(probe)  # the probe, asked and failed
    assert flaky.calls["authorize"] == 3
    assert breaking.runner.breaker.seconds_until_probe() == 10.0
    [intent] = await breaking.queries.intents_for_order(probe.order_reference)
    assert [(kind, status) for kind, status, _, _ in await operations(db, intent.id)] == [
        ("AUTHORIZE", "PENDING")
    ]


def circuit_metric() -> str | None:
    """The state `mercato_payment_breaker_state` reads 1 for."""
    states = ("closed", "open", "half_open")
    on = [s for s in states if BUSINESS.get_sample_value("mercato_payment_breaker_state", {"state": s}) == 1]
    return on[0] if len(on) == 1 else None


async def test_new_payments_are_refused_with_a_code_while_the_circuit_is_open(
    breaking: PaymentsService, flaky: FlakyProvider, monotonic: Monotonic
) -> None:
    # Given a provider that stopped answering, found out by two authorizations: the circuit opens
    flaky.down = True
    for _ in range(2):
        with pytest.raises(ProviderUnavailable):
            await breaking.handle(authorization())
    assert circuit_metric() == "open"
    # When a checkout vaults its payment token, it is refused at once, with its code and the wait
    vault = VaultPaymentMethod(
        customer_id=uuid.uuid4(), payment_token="tok_success", idempotency_key=ref("k")
    )
    with pytest.raises(PaymentsPaused) as caught:
        await breaking.vault_payment_method(vault)
    assert caught.value.code is VaultPaymentMethodErrorCode.PAYMENTS_PAUSED
    assert caught.value.retry_after_seconds == 5.0
    assert flaky.calls["authorize"] == 2

    # When the pause is over, checkouts are taken again (the first payment is the probe)
    monotonic.now += 5.0
    assert (await breaking.vault_payment_method(vault)).startswith("pm_")
    flaky.down = False
    assert (await breaking.handle(authorization())).status is IntentStatus.AUTHORIZED
    assert breaking.runner.breaker.state is BreakerState.CLOSED
    assert circuit_metric() == "closed"
