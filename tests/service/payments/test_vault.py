"""The payment-method vault: a shopper's token is sealed by payments into an opaque `pm_2.` reference;
authorizations carry the reference and the provider alone gets the token. References of the first
vault (rows in `payments.payment_methods`) still open."""

from __future__ import annotations

import os
import secrets
import uuid

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mercato.payments import IntentStatus
from mercato.payments.adapters.sandbox import SandboxProvider
from mercato.payments.adapters.vault import VaultKeys
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


async def test_the_token_is_sealed_into_the_reference_and_only_the_provider_sees_it(
    vaulting: PaymentsService, db: Database, spy: TokenSpy
) -> None:
    # Given a vaulted token: no statement, a reference that does not show the token
    token = a_token()
    with db.count_statements() as stored:
        reference = await vaulted(vaulting, token)
    assert (stored.count, stored.commits) == (0, 0), stored.statements
    assert reference.startswith("pm_2.") and token not in reference
    # When an authorization names the reference
    with db.count_statements() as by_reference:
        intent = await vaulting.handle(AuthorizePayment(ref("order"), usd(1_000), reference, ref("k")))
    # Then the provider got the token, and the operation row keeps the reference
    assert (intent.status, spy.tokens) == (IntentStatus.AUTHORIZED, [token])
    # And opening it cost nothing more than paying with a raw token does
    with db.count_statements() as by_token:
        await vaulting.handle(AuthorizePayment(ref("order"), usd(1_000), a_token(), ref("k")))
    assert by_reference.count == by_token.count, (by_reference.statements, by_token.statements)
    assert by_reference.commits == by_token.commits
    assert await rows(
        db, "SELECT payment_token FROM payments.payment_operations WHERE intent_id = :id", id=intent.id
    ) == [(reference,)]


async def test_the_same_shopper_and_token_get_the_same_reference_and_no_one_else_does(
    vaulting: PaymentsService,
) -> None:
    customer, token = uuid.uuid4(), a_token()
    first = await vaulted(vaulting, token, customer)
    # A retry (another key even) answers the same reference: the order's idempotency relies on it
    assert await vaulted(vaulting, token, customer) == first
    # Another shopper's same token, or another token of the same shopper, is another reference
    assert await vaulted(vaulting, token) != first
    assert await vaulted(vaulting, a_token(), customer) != first


async def test_an_edited_reference_does_not_open_and_is_declined(
    vaulting: PaymentsService, spy: TokenSpy
) -> None:
    # Given a reference with one character of its ciphertext changed
    reference = await vaulted(vaulting, a_token())
    edited = reference[:-3] + ("A" if reference[-3] != "A" else "B") + reference[-2:]
    # When an authorization names it, it is declined (not retried for ever)
    with pytest.raises(PaymentDeclined):
        await vaulting.handle(AuthorizePayment(ref("order"), usd(500), edited, ref("k")))
    # And the provider never saw a token: it was asked with the reference itself
    assert spy.tokens == [edited]


async def test_a_reference_sealed_with_another_key_is_declined(
    db: Database, settings: Settings, spy: TokenSpy, runner_settings: RunnerSettings
) -> None:
    # Given a reference sealed under another vault key (the key was changed)
    other = PaymentsService(
        db,
        payments_outbox(settings.namespace),
        spy,
        clock=FakeClock(),
        runner_settings=runner_settings,
        vault_keys=VaultKeys.derive("another vault key of at least 32 characters", None),
    )
    reference = await vaulted(other, a_token())
    current = PaymentsService(
        db, payments_outbox(settings.namespace), spy, clock=FakeClock(), runner_settings=runner_settings
    )
    # When the current key is asked to open it, the authorization is declined
    with pytest.raises(PaymentDeclined):
        await current.handle(AuthorizePayment(ref("order"), usd(500), reference, ref("k")))
    assert spy.tokens == [reference]


async def test_a_reference_of_the_first_vault_still_opens_from_its_table(
    vaulting: PaymentsService, db: Database, spy: TokenSpy
) -> None:
    # Given a token the first vault kept in its table (row id as the reference, AES-GCM bound to it)
    token, customer, reference = a_token(), uuid.uuid4(), "pm_" + secrets.token_urlsafe(16)
    nonce = os.urandom(12)
    sealed = (
        b"\x01"
        + nonce
        + AESGCM(VaultKeys.derive(None, None).legacy).encrypt(
            nonce, token.encode(), f"{reference}|{customer}".encode()
        )
    )
    await execute(
        db,
        "INSERT INTO payments.payment_methods (id, customer_id, idempotency_key, sealed) "
        "VALUES (:id, :customer, :key, :sealed)",
        id=reference,
        customer=customer,
        key=ref("k"),
        sealed=sealed,
    )
    # When an in-flight saga's authorization names it, the provider gets the token
    intent = await vaulting.handle(AuthorizePayment(ref("order"), usd(700), reference, ref("k")))
    assert (intent.status, spy.tokens) == (IntentStatus.AUTHORIZED, [token])


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
