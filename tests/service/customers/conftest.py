"""Fixtures of the customers service tests: the `customers` schema migrated into the session
database, a service with a clock the test controls and cheap (but real, argon2id) password hashing,
and helpers to read what a transaction left behind."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import text

from mercato import customers
from mercato.customers.adapters.passwords import Argon2Passwords
from mercato.customers.bootstrap import CustomersService, customers_outbox
from mercato.customers.client import InProcessCustomersClient
from mercato.customers.domain.commands import CreateToken, RegisterAccount
from mercato.platform.auth import Principal
from mercato.platform.config import Settings
from mercato.platform.db import Database
from mercato.platform.events import Envelope
from mercato.platform.migrations import migrate
from tests.conftest import ref

SECRET = "s" * 40
PASSWORD = "correct horse battery"
PER_ACCOUNT = 3
PER_IP = 5


@pytest.fixture(scope="session", autouse=True)
async def customers_schema(db: Database) -> None:
    # `mercato.app.contexts.MIGRATIONS` does not list customers yet; migrate() is idempotent.
    await migrate(db, [customers.MIGRATIONS])


@dataclass
class FakeClock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class SpyPasswords:
    """Argon2id with the cheapest parameters, counting what the use cases ask of it."""

    inner: Argon2Passwords = field(default_factory=lambda: cheap_passwords())
    calls: list[str] = field(default_factory=list)

    async def hash(self, password: str) -> str:
        self.calls.append("hash")
        return await self.inner.hash(password)

    async def verify(self, password_hash: str, password: str) -> bool:
        self.calls.append("verify")
        return await self.inner.verify(password_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        return self.inner.needs_rehash(password_hash)

    async def burn(self, password: str) -> None:
        self.calls.append("burn")
        await self.inner.burn(password)


def cheap_passwords(time_cost: int = 1) -> Argon2Passwords:
    return Argon2Passwords(time_cost=time_cost, memory_cost=1024, parallelism=1)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2030, 1, 1, tzinfo=UTC))


@pytest.fixture
def auth_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "auth_secret": SECRET,
            "login_attempts_per_account": PER_ACCOUNT,
            "login_attempts_per_ip": PER_IP,
        }
    )


@pytest.fixture
def passwords() -> SpyPasswords:
    return SpyPasswords()


@pytest.fixture
def service(
    db: Database, redis: Redis, auth_settings: Settings, clock: FakeClock, passwords: SpyPasswords
) -> CustomersService:
    return CustomersService(
        db, redis, auth_settings, customers_outbox(auth_settings.namespace), clock=clock, passwords=passwords
    )


@pytest.fixture
def client(service: CustomersService) -> InProcessCustomersClient:
    return InProcessCustomersClient(service)


def new_email(prefix: str = "user") -> str:
    return f"{ref(prefix)}@example.com"


def new_ip() -> str:
    """A made-up peer address no other test throttles."""
    return f"ip-{ref()}"


async def signed_up(client: InProcessCustomersClient, email: str | None = None) -> Principal:
    """A new customer and the principal of its access token."""
    email = email or new_email()
    await client.register(RegisterAccount(email, PASSWORD))
    pair = await client.create_token(CreateToken(email, PASSWORD, new_ip()))
    return await client.authenticate(pair.access_token)


async def outbox(db: Database, type_name: str, aggregate_id: str | uuid.UUID) -> list[Envelope]:
    """Events of `type_name` about `aggregate_id` in the customers outbox, oldest first."""
    async with db.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT body FROM customers.outbox "
                    "WHERE convert_from(body, 'UTF8')::jsonb ->> 'aggregate_id' = :aggregate "
                    "AND convert_from(body, 'UTF8')::jsonb ->> 'type' = :type ORDER BY seq"
                ),
                {"aggregate": str(aggregate_id), "type": type_name},
            )
        ).all()
    return [Envelope.from_json(bytes(r.body)) for r in rows]


async def fetch(db: Database, sql: str, **params: Any) -> list[Any]:
    async with db.connect() as conn:
        return list((await conn.execute(text(sql), params)).all())


async def account_row(db: Database, email: str) -> Any:
    rows = await fetch(
        db,
        "SELECT id, email, password_hash, role, permissions, is_active FROM customers.accounts "
        "WHERE email = :email",
        email=email,
    )
    return rows[0] if rows else None


async def tokens_of(db: Database, account_id: uuid.UUID) -> list[Any]:
    """Every refresh token of the account with its family's state, in issue order."""
    return await fetch(
        db,
        "SELECT t.id, t.token_hash, t.family_id, t.parent_id, t.expires_at, t.used_at, f.revoked_at "
        "FROM customers.refresh_tokens t JOIN customers.refresh_token_families f ON f.id = t.family_id "
        "WHERE f.account_id = :account ORDER BY t.issued_at, t.parent_id NULLS FIRST",
        account=account_id,
    )


@pytest.fixture
async def unreachable_redis() -> AsyncIterator[Redis]:
    # Port 1 is never a Redis: every command fails with a connection error, as in an outage.
    client = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2, socket_timeout=0.2)
    yield client
    await client.aclose()
