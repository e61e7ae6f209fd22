"""SQL budget per command, and no transaction open while the provider is asked."""

from __future__ import annotations

import re

from sqlalchemy import text

from mercato.payments import AuthorizePayment, CapturePayment, ProviderResult
from mercato.payments.bootstrap import PaymentsService, payments_outbox
from mercato.payments.service_layer.operations import RunnerSettings
from mercato.platform.config import Settings
from mercato.platform.db import Database
from mercato.platform.types import Money
from tests.conftest import ref
from tests.service.payments.conftest import FakeClock, SpyProvider, usd


def compact(statement: str) -> str:
    return re.sub(r"\s+", " ", statement).strip()


class StubProvider:
    """Approves everything without SQL, so the counts below are the payments' own."""

    name = "stub"

    async def authorize(self, token: str, amount: Money, reference: str) -> ProviderResult:
        return ProviderResult.ok(f"ch_{reference}")

    async def capture(self, charge: str, amount: Money, reference: str) -> ProviderResult:
        return ProviderResult.ok(f"cap_{reference}")

    async def void(self, charge: str, reference: str) -> ProviderResult:
        return ProviderResult.ok(f"void_{reference}")

    async def refund(self, charge: str, amount: Money, reference: str) -> ProviderResult:
        return ProviderResult.ok(f"re_{reference}")


def authorize() -> AuthorizePayment:
    return AuthorizePayment(
        order_reference=ref("order"), amount=usd(1_200), payment_token="tok_success", idempotency_key=ref("k")
    )


async def test_authorize_and_capture_budgets_on_their_own(
    db: Database, settings: Settings, runner_settings: RunnerSettings
) -> None:
    service = PaymentsService(
        db,
        payments_outbox(settings.namespace),
        StubProvider(),
        clock=FakeClock(),
        runner_settings=runner_settings,
    )
    command = authorize()
    with db.count_statements() as auth:
        intent = await service.handle(command)
    statements = [compact(s) for s in auth.statements]
    # tx 1: the operation claims the key, with its intent, in one statement | provider | tx 2: one
    # statement locks the intent at the version tx 1 read, finishes the operation, updates the
    # intent, inserts the ledger entry and the event's outbox row.
    assert (auth.count, auth.commits) == (2, 2), statements
    assert statements[0].startswith("WITH op AS (INSERT INTO payments.payment_operations")
    assert "INSERT INTO payments.payment_intents" in statements[0]
    assert statements[1].startswith("WITH lk AS (SELECT i.id FROM payments.payment_intents i")
    assert "FOR UPDATE OF i), f AS (UPDATE payments.payment_operations" in statements[1]
    assert "UPDATE payments.payment_intents" in statements[1]
    assert "INSERT INTO payments.ledger_entries" in statements[1]
    assert "INSERT INTO payments.outbox" in statements[1]

    with db.count_statements() as capture:
        await service.handle(CapturePayment(intent_id=intent.id, idempotency_key=ref("k")))
    statements = [compact(s) for s in capture.statements]
    # tx 1: lock the intent with the key's / in-flight operations, insert the operation | tx 2: as above.
    assert (capture.count, capture.commits) == (3, 2), statements
    assert "json_agg" in statements[0] and statements[0].endswith("FOR UPDATE OF i")
    assert statements[1].startswith("INSERT INTO payments.payment_operations")

    with db.count_statements() as replay:
        await service.handle(command)
    # The key's INSERT finds the key taken, one read answers the recorded outcome; nothing commits.
    assert (replay.count, replay.commits) == (2, 0), replay.statements


async def test_the_sandbox_adds_no_statement(service: PaymentsService, db: Database) -> None:
    with db.count_statements() as auth:
        intent = await service.handle(authorize())
    assert (auth.count, auth.commits) == (2, 2), auth.statements
    with db.count_statements() as capture:
        await service.handle(CapturePayment(intent_id=intent.id, idempotency_key=ref("k")))
    assert (capture.count, capture.commits) == (3, 2), capture.statements


class WatchingProvider(SpyProvider):
    """Looks, at each call, for any session of the test database inside a transaction."""

    db: Database
    open_transactions: list[int]

    async def _after(self, method: str, result: ProviderResult) -> ProviderResult:
        async with self.db.connect() as conn:
            found = await conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"
                )
            )
            self.open_transactions.append(int(found.scalar_one()))
        return result


async def test_no_transaction_is_open_while_the_provider_is_called(
    db: Database, settings: Settings, provider: SpyProvider, runner_settings: RunnerSettings
) -> None:
    watching = WatchingProvider(provider.inner)
    watching.db, watching.open_transactions = db, []
    service = PaymentsService(
        db, payments_outbox(settings.namespace), watching, clock=FakeClock(), runner_settings=runner_settings
    )
    intent = await service.handle(authorize())
    await service.handle(CapturePayment(intent_id=intent.id, idempotency_key=ref("k")))
    assert watching.open_transactions == [0, 0]
