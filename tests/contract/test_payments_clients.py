"""One behaviour suite for both `PaymentsClient`s: in-process and gRPC (a real `grpc.aio` server on a
loopback port, over the session database, on the sandbox provider). A caller must not be able to
tell them apart."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from enum import Enum

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from mercato._gen.mercato.payments.v1 import payments_service_pb2, payments_service_pb2_grpc
from mercato.payments.bootstrap import PaymentsService, build_payments
from mercato.payments.client import InProcessPaymentsClient, PaymentsClient
from mercato.payments.domain.breaker import BreakerSettings, CircuitBreaker
from mercato.payments.domain.commands import AuthorizePayment, CapturePayment, RefundPayment, VoidPayment
from mercato.payments.domain.errors import (
    AuthorizePaymentErrorCode,
    CapturePaymentErrorCode,
    RefundPaymentErrorCode,
    VaultPaymentMethodErrorCode,
    VoidPaymentErrorCode,
)
from mercato.payments.domain.model import IntentStatus, PaymentIntent
from mercato.payments.domain.rules import IntentNotFound, InvalidState, PaymentDeclined, PaymentsPaused
from mercato.payments.entrypoints.grpc_server import registration
from mercato.payments.grpc_client import GrpcPaymentsClient
from mercato.platform.auth import Unauthenticated
from mercato.platform.config import Settings
from mercato.platform.db import Database
from mercato.platform.errors import (
    ClientError,
    Conflict,
    InputRejected,
    MercatoError,
    Unavailable,
    field_errors,
)
from mercato.platform.grpc.client import CallPolicy, create_channel
from mercato.platform.grpc.server import GrpcServer
from mercato.platform.types import Money
from tests.conftest import ref


@pytest.fixture(scope="session")
def payments_service(db: Database, settings: Settings) -> PaymentsService:
    return build_payments(db, settings)


@pytest.fixture(scope="session")
async def payments_server(payments_service: PaymentsService, settings: Settings) -> AsyncIterator[GrpcServer]:
    server = GrpcServer([registration(payments_service)], secret=settings.auth_secret)
    await server.start()
    yield server
    await server.stop(grace=None)


@pytest.fixture(scope="session")
async def payments_channel(payments_server: GrpcServer) -> AsyncIterator[grpc.aio.Channel]:
    channel = create_channel(f"127.0.0.1:{payments_server.port}")
    yield channel
    await channel.close()


@pytest.fixture(scope="session")
def grpc_payments(payments_channel: grpc.aio.Channel, settings: Settings) -> GrpcPaymentsClient:
    return GrpcPaymentsClient(payments_channel, service="orders", secret=settings.auth_secret)


@pytest.fixture(params=["in_process", "grpc"])
def client(
    request: pytest.FixtureRequest, payments_service: PaymentsService, grpc_payments: GrpcPaymentsClient
) -> PaymentsClient:
    if request.param == "grpc":
        return grpc_payments
    return InProcessPaymentsClient(payments_service)


def usd(amount: int) -> Money:
    return Money(amount, "USD")


async def authorized(client: PaymentsClient, amount: int = 5_000) -> PaymentIntent:
    return await client.authorize(AuthorizePayment(ref("order"), usd(amount), "tok_success", ref("key")))


def described(exc: MercatoError) -> tuple[object, ...]:
    """Everything a caller can observe of an error."""
    errors = [(e.field, e.code, e.message) for e in field_errors(exc)]
    extras = {k: v for k, v in vars(exc).items() if k not in {"message", "code", "field", "errors"}}
    return (type(exc), exc.code, exc.field, exc.message, str(exc), errors, extras)


async def test_reads_return_equal_values(
    payments_service: PaymentsService, grpc_payments: GrpcPaymentsClient
) -> None:
    local = InProcessPaymentsClient(payments_service)
    held = await authorized(local)
    await local.capture(CapturePayment(held.id, ref("key")))
    order = held.order_reference
    assert await grpc_payments.intent(held.id) == await local.intent(held.id)
    assert await grpc_payments.intents_for_order(order) == await local.intents_for_order(order)
    assert await grpc_payments.reconcile(order) == await local.reconcile(order)
    assert await grpc_payments.intents_for_order(ref("none")) == []
    assert await grpc_payments.reconcile(ref("none")) == []


async def test_an_unknown_intent_reads_as_none(client: PaymentsClient) -> None:
    assert await client.intent(uuid.uuid4()) is None


async def test_a_payment_lives_through_capture_and_refunds(client: PaymentsClient) -> None:
    held = await authorized(client, 10_000)
    assert (held.status, held.amount, held.provider_reference is not None) == (
        IntentStatus.AUTHORIZED,
        usd(10_000),
        True,
    )
    captured = await client.capture(CapturePayment(held.id, ref("key")))
    assert (captured.status, captured.captured_amount) == (IntentStatus.CAPTURED, usd(10_000))
    key = ref("key")
    partly = await client.refund(RefundPayment(held.id, usd(2_500), key, "damaged"))
    assert (partly.status, partly.refunded_amount) == (IntentStatus.PARTIALLY_REFUNDED, usd(2_500))
    assert (
        await client.refund(RefundPayment(held.id, usd(2_500), key, "damaged")) == partly
    )  # same key: same outcome
    [totals] = await client.reconcile(held.order_reference)
    assert (totals.authorized, totals.captured, totals.refunded, totals.net) == (10_000, 10_000, 2_500, 7_500)
    assert await client.intent(held.id) == partly


async def test_authorize_is_idempotent_and_void_releases(client: PaymentsClient) -> None:
    order, key = ref("order"), ref("key")
    first = await client.authorize(AuthorizePayment(order, usd(700), "tok_success", key))
    assert await client.authorize(AuthorizePayment(order, usd(700), "tok_success", key)) == first
    voided = await client.void(VoidPayment(first.id, ref("key")))
    assert voided.status is IntentStatus.VOIDED
    assert await client.intents_for_order(order) == [voided]


async def test_a_vaulted_token_is_paid_with_through_its_reference_only(client: PaymentsClient) -> None:
    # Given a token vaulted for a customer
    customer, key, token = uuid.uuid4(), ref("key"), ref("tok_ok_contract")
    reference = await client.vault_payment_method(customer, token, key)
    # Then the reference is opaque and stable for (customer, key), and another customer gets another
    assert reference.startswith("pm_") and token not in reference and len(reference) >= 20
    assert await client.vault_payment_method(customer, token, key) == reference
    assert await client.vault_payment_method(uuid.uuid4(), token, key) != reference
    # When an authorization names the reference, the provider is asked with the token (approved)
    held = await client.authorize(AuthorizePayment(ref("order"), usd(900), reference, ref("key")))
    assert held.status is IntentStatus.AUTHORIZED


async def test_the_vault_answers_by_shopper_and_token_whatever_the_key(client: PaymentsClient) -> None:
    # The vault keeps nothing: a reused key with another token is another reference, and the order
    # placed under that key refuses it (tests/service/orders/test_place_order.py)
    customer = uuid.uuid4()
    first = await client.vault_payment_method(customer, "tok_ok_first", ref("key"))
    assert await client.vault_payment_method(customer, "tok_ok_first", ref("key")) == first
    assert await client.vault_payment_method(customer, "tok_ok_second", ref("key")) != first


async def test_a_bad_token_is_refused_before_anything_is_vaulted(client: PaymentsClient) -> None:
    with pytest.raises(ClientError) as caught:
        await client.vault_payment_method(uuid.uuid4(), " ", "")
    assert [(e.field, e.code) for e in field_errors(caught.value)] == [
        ("paymentToken", VaultPaymentMethodErrorCode.REQUIRED),
        ("idempotencyKey", VaultPaymentMethodErrorCode.REQUIRED),
    ]


async def test_a_checkout_is_refused_as_payments_paused_while_the_circuit_is_open(
    client: PaymentsClient, payments_service: PaymentsService
) -> None:
    # Given payments whose provider's circuit breaker is open for 30 s
    kept = payments_service.runner.breaker
    paused = CircuitBreaker(BreakerSettings(failures_to_open=1, open_seconds=30.0))
    paused.failed()
    payments_service.runner.breaker = paused
    try:
        # When a token is vaulted, it is refused: the same class, code and wait through either client
        with pytest.raises(Conflict) as caught:
            await client.vault_payment_method(uuid.uuid4(), "tok_success", ref("key"))
    finally:
        payments_service.runner.breaker = kept
    assert isinstance(caught.value, PaymentsPaused)
    assert caught.value.code is VaultPaymentMethodErrorCode.PAYMENTS_PAUSED
    assert 0 < caught.value.retry_after_seconds <= 30.0


async def test_a_decline_is_a_payment_declined_conflict(client: PaymentsClient) -> None:
    with pytest.raises(Conflict) as caught:
        await client.authorize(AuthorizePayment(ref("order"), usd(1_000), "tok_decline", ref("key")))
    assert isinstance(caught.value, PaymentDeclined)
    assert caught.value.code is AuthorizePaymentErrorCode.PAYMENT_DECLINED
    failed = await client.intent(caught.value.intent_id)
    assert failed is not None
    assert failed.status is IntentStatus.FAILED


async def test_capture_after_void_is_an_invalid_state(client: PaymentsClient) -> None:
    held = await authorized(client)
    await client.void(VoidPayment(held.id, ref("key")))
    with pytest.raises(InvalidState) as caught:
        await client.capture(CapturePayment(held.id, ref("key")))
    assert caught.value.code is CapturePaymentErrorCode.INVALID_STATE


async def test_a_remote_capture_with_an_amount_is_refused_and_captures_nothing(
    grpc_payments: GrpcPaymentsClient,
) -> None:
    # The request carries no amount (wire compatibility): the client refuses rather than drop it.
    held = await authorized(grpc_payments)

    with pytest.raises(InputRejected) as caught:
        await grpc_payments.capture(CapturePayment(held.id, ref("key"), amount=usd(1)))

    assert [(e.field, e.code) for e in caught.value.errors] == [("amount", CapturePaymentErrorCode.INVALID)]
    after = await grpc_payments.intent(held.id)
    assert after is not None
    assert (after.status, after.captured_amount) == (held.status, held.captured_amount)


async def test_typed_errors_arrive_identical_on_both_clients(
    payments_service: PaymentsService, grpc_payments: GrpcPaymentsClient
) -> None:
    local = InProcessPaymentsClient(payments_service)
    voided = await authorized(local)
    await local.void(VoidPayment(voided.id, ref("key")))
    captured = await authorized(local, 2_000)
    await local.capture(CapturePayment(captured.id, ref("key")))
    reused, declined_key, order, declined_order = ref("key"), ref("key"), ref("order"), ref("order")
    await local.authorize(AuthorizePayment(order, usd(100), "tok_success", reused))
    with pytest.raises(PaymentDeclined):
        await local.authorize(
            AuthorizePayment(declined_order, usd(100), "tok_insufficient_funds", declined_key)
        )
    missing = uuid.uuid4()
    calls: list[tuple[Callable[[PaymentsClient], Awaitable[object]], Enum]] = [
        (
            lambda c: c.authorize(
                AuthorizePayment(declined_order, usd(100), "tok_insufficient_funds", declined_key)
            ),
            AuthorizePaymentErrorCode.INSUFFICIENT_FUNDS,
        ),
        (
            lambda c: c.authorize(AuthorizePayment(order, usd(999), "tok_success", reused)),
            AuthorizePaymentErrorCode.IDEMPOTENCY_KEY_REUSED,
        ),
        (
            lambda c: c.authorize(AuthorizePayment("", usd(100), "tok_success", ref("k"))),
            AuthorizePaymentErrorCode.REQUIRED,
        ),
        (lambda c: c.capture(CapturePayment(voided.id, ref("k"))), CapturePaymentErrorCode.INVALID_STATE),
        (lambda c: c.capture(CapturePayment(missing, ref("k"))), CapturePaymentErrorCode.INTENT_NOT_FOUND),
        (lambda c: c.void(VoidPayment(captured.id, ref("k"))), VoidPaymentErrorCode.INVALID_STATE),
        (
            lambda c: c.refund(RefundPayment(captured.id, usd(2_001), ref("k"), "x")),
            RefundPaymentErrorCode.REFUND_EXCEEDS_CAPTURED,
        ),
        (
            lambda c: c.refund(RefundPayment(captured.id, Money(1, "EUR"), ref("k"), "x")),
            RefundPaymentErrorCode.CURRENCY_MISMATCH,
        ),
        (
            lambda c: c.refund(RefundPayment(missing, usd(1), ref("k"), "x")),
            RefundPaymentErrorCode.INTENT_NOT_FOUND,
        ),
    ]
    for call, code in calls:
        seen = []
        for client in (local, grpc_payments):
            with pytest.raises(ClientError) as caught:
                await call(client)
            seen.append(described(caught.value))
        assert seen[0] == seen[1], code
        assert code in {e.code for e in field_errors(caught.value)}


async def test_a_missing_intent_is_not_found(client: PaymentsClient) -> None:
    with pytest.raises(IntentNotFound) as caught:
        await client.void(VoidPayment(uuid.uuid4(), ref("key")))
    assert caught.value.code is VoidPaymentErrorCode.INTENT_NOT_FOUND


async def test_a_call_without_a_service_token_is_refused(payments_channel: grpc.aio.Channel) -> None:
    stub = payments_service_pb2_grpc.PaymentsServiceStub(payments_channel)  # type: ignore[no-untyped-call]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ReconcileOrder(payments_service_pb2.ReconcileOrderRequest(order_reference="x"), timeout=2)
    assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED
    forged = GrpcPaymentsClient(payments_channel, service="orders", secret="y" * 48)
    with pytest.raises(Unauthenticated):
        await forged.reconcile("x")


async def test_the_health_service_answers_serving(payments_channel: grpc.aio.Channel) -> None:
    stub = health_pb2_grpc.HealthStub(payments_channel)
    for service in ("", "mercato.payments.v1.PaymentsService"):
        reply = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=2)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


async def test_a_stopped_server_yields_unavailable_within_the_deadline(
    payments_service: PaymentsService, settings: Settings
) -> None:
    server = GrpcServer([registration(payments_service)], secret=settings.auth_secret)
    await server.start()
    await server.stop(grace=None)
    channel = create_channel(f"127.0.0.1:{server.port}")
    try:
        client = GrpcPaymentsClient(
            channel, service="orders", secret=settings.auth_secret, policy=CallPolicy(timeout=0.5)
        )
        # The guard only stops a hang: calls are retried, but never past their 0.5 s deadline.
        async with asyncio.timeout(2):
            with pytest.raises(Unavailable):
                await client.intent(uuid.uuid4())
            with pytest.raises(Unavailable):
                await client.authorize(AuthorizePayment(ref("order"), usd(100), "tok_success", ref("key")))
    finally:
        await channel.close()
