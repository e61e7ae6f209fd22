"""Fixtures of the payments service tests: the payments schema on the session database, a service
on the sandbox provider wrapped in a `SpyProvider` (counts calls, injects failures), a clock the
test controls, and helpers that read what the payments left in their tables and the sandbox in its
book."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from mercato import payments
from mercato.payments import ProviderResult, ResolvePendingOperations, ResolveReport
from mercato.payments.adapters.sandbox import SandboxProvider, charge_id
from mercato.payments.bootstrap import PaymentsService, payments_outbox
from mercato.payments.entrypoints.saga_commands import saga_subscription
from mercato.payments.service_layer.operations import RunnerSettings
from mercato.platform.config import Settings
from mercato.platform.db import Database
from mercato.platform.events import Envelope
from mercato.platform.migrations import migrate
from mercato.platform.types import Money

# Short, so that timeouts and lease take-overs happen within a test; the lease outlasts the timeout.
PROVIDER_TIMEOUT = 0.3
LEASE = 1.0
MAX_ATTEMPTS = 3  # of the sweeps a test runs itself (see `drain_pending`)


class SimulatedCrash(Exception):
    """Raised by the spy after the provider did its work: the answer is lost, as in a crash."""


@dataclass
class FakeClock:
    now: datetime = field(default_factory=lambda: datetime(2030, 1, 1, tzinfo=UTC))

    def __call__(self) -> datetime:
        # Ticks, so that intents of one order sort by creation.
        self.now += timedelta(seconds=1)
        return self.now


class SpyProvider:
    """The sandbox, counting calls per method. `crash_after` names methods whose next call does its
    work at the provider and then raises; `hang_after` ones whose next call then never answers;
    `crash_before` ones whose next call raises before the provider is asked (nothing is made)."""

    def __init__(self, inner: SandboxProvider) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()
        self.crash_after: set[str] = set()
        self.hang_after: set[str] = set()
        self.crash_before: set[str] = set()

    def _before(self, method: str) -> None:
        self.calls[method] += 1
        if method in self.crash_before:
            self.crash_before.discard(method)
            raise SimulatedCrash(method)

    @property
    def name(self) -> str:
        return self.inner.name

    async def _after(self, method: str, result: ProviderResult) -> ProviderResult:
        if method in self.crash_after:
            self.crash_after.discard(method)
            raise SimulatedCrash(method)
        if method in self.hang_after:
            self.hang_after.discard(method)
            await asyncio.sleep(60)
        return result

    async def authorize(self, token: str, amount: Money, reference: str) -> ProviderResult:
        self._before("authorize")
        return await self._after("authorize", await self.inner.authorize(token, amount, reference))

    async def capture(self, charge: str, amount: Money, reference: str) -> ProviderResult:
        self._before("capture")
        return await self._after("capture", await self.inner.capture(charge, amount, reference))

    async def void(self, charge: str, reference: str) -> ProviderResult:
        self._before("void")
        return await self._after("void", await self.inner.void(charge, reference))

    async def refund(self, charge: str, amount: Money, reference: str) -> ProviderResult:
        self._before("refund")
        return await self._after("refund", await self.inner.refund(charge, amount, reference))


@pytest.fixture(scope="session", autouse=True)
async def payments_schema(db: Database) -> AsyncIterator[None]:
    # mercato.app.contexts.MIGRATIONS does not list payments yet; migrate() is idempotent.
    await migrate(db, [payments.MIGRATIONS])
    yield


@pytest.fixture
def provider() -> SpyProvider:
    return SpyProvider(SandboxProvider(timeout_seconds=60.0))


@pytest.fixture
def runner_settings() -> RunnerSettings:
    return RunnerSettings(
        provider_timeout_seconds=PROVIDER_TIMEOUT, lease_seconds=LEASE, poll_interval_seconds=0.01
    )


@pytest.fixture
def service(
    db: Database, settings: Settings, provider: SpyProvider, runner_settings: RunnerSettings
) -> PaymentsService:
    return PaymentsService(
        db, payments_outbox(settings.namespace), provider, clock=FakeClock(), runner_settings=runner_settings
    )


def usd(amount: int) -> Money:
    return Money(amount, "USD")


async def rows(db: Database, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    async with db.connect() as conn:
        return [tuple(r) for r in (await conn.execute(text(sql), params)).all()]


async def execute(db: Database, sql: str, **params: Any) -> None:
    async with db.begin() as conn:
        await conn.execute(text(sql), params)


async def ledger(db: Database, intent_id: uuid.UUID) -> list[tuple[str, int, str]]:
    """(kind, amount, currency) of the intent's ledger entries, oldest first."""
    return [
        (str(r[0]), int(r[1]), str(r[2]))
        for r in await rows(
            db,
            "SELECT kind, amount, currency FROM payments.ledger_entries WHERE intent_id = :id "
            "ORDER BY created_at, id",
            id=intent_id,
        )
    ]


async def operations(db: Database, intent_id: uuid.UUID) -> list[tuple[str, str, str | None, int]]:
    """(operation, status, outcome_code, attempts) of the intent's operations, oldest first."""
    return [
        (str(r[0]), str(r[1]), r[2], int(r[3]))
        for r in await rows(
            db,
            "SELECT operation, status, outcome_code, attempts FROM payments.payment_operations "
            "WHERE intent_id = :id ORDER BY created_at, id",
            id=intent_id,
        )
    ]


def charges(provider: SpyProvider | SandboxProvider, charge: str | None) -> list[tuple[str, int, int, int]]:
    """(status, amount, captured, refunded) of the sandbox's charge, as its book holds it."""
    sandbox = provider.inner if isinstance(provider, SpyProvider) else provider
    found = sandbox.charge(charge) if charge is not None else None
    return [] if found is None else [(found.status, found.amount.amount, found.captured, found.refunded)]


async def charges_for_order(
    db: Database, provider: SpyProvider | SandboxProvider, order_reference: str
) -> list[tuple[str, int]]:
    """(status, amount) of every sandbox charge made for the order's authorizations, oldest first."""
    sandbox = provider.inner if isinstance(provider, SpyProvider) else provider
    authorizations = await rows(
        db,
        "SELECT id FROM payments.payment_operations "
        "WHERE order_reference = :order AND operation = 'AUTHORIZE' ORDER BY created_at, id",
        order=order_reference,
    )
    made = [sandbox.charge(charge_id(f"op_{r[0].hex}")) for r in authorizations]
    return [(c.status, c.amount.amount) for c in made if c is not None]


async def events(db: Database, intent_id: uuid.UUID) -> list[Envelope]:
    """Events about the intent written to the payments outbox, oldest first."""
    found = await rows(
        db,
        "SELECT body FROM payments.outbox WHERE convert_from(body, 'UTF8')::jsonb ->> 'aggregate_id' = :id "
        "ORDER BY seq",
        id=str(intent_id),
    )
    return [Envelope.from_json(bytes(r[0])) for r in found]


def message(kind: str, **payload: Any) -> Envelope:
    """A saga command as the payments' consumer receives it."""
    return Envelope(uuid.uuid4(), kind, 1, datetime.now(UTC), str(payload.get("order_id", "")), payload)


async def handle(service: PaymentsService, *envelopes: Envelope) -> None:
    """What the event consumer does with a batch: one unit of work, every handler on it, one commit."""
    handlers = saga_subscription(service).handlers
    async with service.unit_of_work() as uow:
        for envelope in envelopes:
            await handlers[envelope.type](envelope, uow)
        await uow.commit()


async def drain_pending(service: PaymentsService, max_attempts: int) -> None:
    """Sweep until nothing is claimable under `max_attempts`, so that a test's sweep sees only the
    operations it left itself (operations of other tests may stay PENDING: provider errors)."""
    for _ in range(max_attempts + 1):
        report: ResolveReport = await service.handle(
            ResolvePendingOperations(limit=500, max_attempts=max_attempts)
        )
        if report.claimed == 0:
            return
    raise AssertionError("pending operations could not be drained")
