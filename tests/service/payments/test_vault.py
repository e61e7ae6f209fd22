"""The payment-method vault: a shopper's token is kept sealed in `payments.payment_methods` behind a
`pm_` reference; authorizations carry the reference and the provider alone gets the token."""

from __future__ import annotations

import uuid

import pytest

from mercato.payments import IntentStatus
from mercato.payments.adapters.sandbox import SandboxProvider
from mercato.payments.bootstrap import PaymentsService, payments_outbox
from mercato.payments.domain.commands import AuthorizePayment, VaultPaymentMethod
from mercato.payments.domain.provider import ProviderResult
from mercato.payments.domain.rules import PaymentDeclined
from mercato.payments.entrypoints.saga_commands import AUTHORIZE_AND_CAPTURE_PAYMENT_REQUESTED
from mercato.payments.service_layer.operations import RunnerSettings
from mercato.platform.config import Settings
from mercato.platform.db import Database
from mercato.platform.types import Money
from tests.conftest import ref
from tests.service.payments.conftest import FakeClock, SpyProvider, execute, handle, message, rows, usd


class TokenSpy(SpyProvider):
    """The sandbox, remembering the token of each authorization."""

    def __init__(self) -> None:
        super().__init__(SandboxProvider(timeout_seconds=60.0))
        self.tokens: list[str] = []

    async def authorize(self, token: str, amount: Money, reference: str) -> ProviderResult:
        self.tokens.append(token)
        return await super().authorize(token, amount, reference)


@pytest.fixture
def spy() -> TokenSpy:
    return TokenSpy()


@pytest.fixture
def vaulting(
    db: Database, settings: Settings, spy: TokenSpy, runner_settings: RunnerSettings
) -> PaymentsService:
    return PaymentsService(
        db, payments_outbox(settings.namespace), spy, clock=FakeClock(), runner_settings=runner_settings
    )


def a_token() -> str:
    return f"tok_ok_{uuid.uuid4().hex}"


async def vaulted(service: PaymentsService, token: str, customer: uuid.UUID | None = None) -> str:
    command = VaultPaymentMethod(
        customer_id=customer or uuid.uuid4(), payment_token=token, idempotency_key=ref("k")
    )
    return await service.vault_payment_method(command)


async def test_the_token_is_stored_sealed_and_only_the_provider_sees_it(
    vaulting: PaymentsService, db: Database, spy: TokenSpy
) -> None:
    # Given a vaulted token
    token = a_token()
    with db.count_statements() as stored:
        reference = await vaulted(vaulting, token)
    assert (stored.count, stored.commits) == (1, 1), stored.statements  # one INSERT
    # Then its row holds ciphertext only: neither the text nor its bytes appear in it
    [(row_id, sealed, as_text)] = await rows(
        db, "SELECT id, sealed, m::text FROM payments.payment_methods m WHERE id = :id", id=reference
    )
    assert row_id == reference and token.encode() not in bytes(sealed) and token not in as_text
    assert len(bytes(sealed)) == 1 + 12 + len(token) + 16  # version, nonce, ciphertext, tag
    # When an authorization names the reference
    with db.count_statements() as by_reference:
        intent = await vaulting.handle(AuthorizePayment(ref("order"), usd(1_000), reference, ref("k")))
    # Then the provider got the token, and the operation row keeps the reference
    assert (intent.status, spy.tokens) == (IntentStatus.AUTHORIZED, [token])
    # And opening it cost one SELECT more than paying with a raw token does
    with db.count_statements() as by_token:
        await vaulting.handle(AuthorizePayment(ref("order"), usd(1_000), a_token(), ref("k")))
    assert by_reference.count == by_token.count + 1, (by_reference.statements, by_token.statements)
    assert by_reference.commits == by_token.commits
    assert await rows(
        db, "SELECT payment_token FROM payments.payment_operations WHERE intent_id = :id", id=intent.id
    ) == [(reference,)]


async def test_the_same_customer_and_key_get_the_same_reference_in_two_statements(
    vaulting: PaymentsService, db: Database
) -> None:
    customer, key, token = uuid.uuid4(), ref("k"), a_token()
    command = VaultPaymentMethod(customer_id=customer, payment_token=token, idempotency_key=key)
    first = await vaulting.vault_payment_method(command)
    with db.count_statements() as again:
        assert await vaulting.vault_payment_method(command) == first
    assert again.count == 2, again.statements  # the INSERT that conflicts, the SELECT of the first
    assert await rows(
        db, "SELECT count(*) FROM payments.payment_methods WHERE customer_id = :c", c=customer
    ) == [(1,)]


async def test_a_sealed_token_moved_to_another_reference_does_not_open_and_is_declined(
    vaulting: PaymentsService, db: Database, spy: TokenSpy
) -> None:
    # Given two vaulted tokens, the second row given the first one's ciphertext
    good, other = await vaulted(vaulting, a_token()), await vaulted(vaulting, a_token())
    await execute(
        db,
        "UPDATE payments.payment_methods SET sealed = (SELECT sealed FROM payments.payment_methods "
        "WHERE id = :good) WHERE id = :other",
        good=good,
        other=other,
    )
    # When an authorization names the tampered reference, it is declined (not retried for ever)
    with pytest.raises(PaymentDeclined):
        await vaulting.handle(AuthorizePayment(ref("order"), usd(500), other, ref("k")))
    # And the provider never saw a token: it was asked with the reference itself
    assert spy.tokens == [other]


async def test_saga_commands_carry_the_reference_and_older_ones_the_raw_token(
    vaulting: PaymentsService, spy: TokenSpy
) -> None:
    # Given a command naming a vaulted reference, and one sent before the vault (raw token)
    token, legacy = a_token(), a_token()
    reference = await vaulted(vaulting, token)
    new_order, old_order = str(uuid.uuid4()), str(uuid.uuid4())
    common = {"amount": 2_000, "currency": "USD"}
    # When payments' saga consumer runs both
    await handle(
        vaulting,
        message(
            AUTHORIZE_AND_CAPTURE_PAYMENT_REQUESTED,
            order_id=new_order,
            payment_method=reference,
            idempotency_key=f"order:{new_order}:authorize",
            capture_idempotency_key=f"order:{new_order}:capture",
            **common,
        ),
        message(
            AUTHORIZE_AND_CAPTURE_PAYMENT_REQUESTED,
            order_id=old_order,
            payment_token=legacy,
            idempotency_key=f"order:{old_order}:authorize",
            capture_idempotency_key=f"order:{old_order}:capture",
            **common,
        ),
    )
    # Then both are captured, each with its own token
    assert spy.tokens == [token, legacy]
    for order in (new_order, old_order):
        [intent] = await vaulting.queries.intents_for_order(order)
        assert intent.status is IntentStatus.CAPTURED
