from __future__ import annotations

import logging

import pytest
from redis.asyncio import Redis

from mercato.customers import TokenCreateErrorCode
from mercato.customers.adapters.throttle import RedisLoginThrottle
from mercato.customers.bootstrap import CustomersService, customers_outbox
from mercato.customers.client import InProcessCustomersClient
from mercato.customers.domain.commands import CreateToken, RegisterAccount
from mercato.platform.config import Settings
from mercato.platform.db import Database
from mercato.platform.errors import ClientError
from tests.service.customers.conftest import (
    PASSWORD,
    PER_ACCOUNT,
    PER_IP,
    SECRET,
    FakeClock,
    SpyPasswords,
    cheap_passwords,
    new_email,
    new_ip,
    tokens_of,
)


async def _code(client: InProcessCustomersClient, email: str, password: str, ip: str | None) -> str:
    try:
        await client.create_token(CreateToken(email, password, ip))
    except ClientError as exc:
        assert isinstance(exc.code, TokenCreateErrorCode)
        return exc.code.name
    return "OK"


def _throttle(service: CustomersService) -> RedisLoginThrottle:
    throttle = service.deps.throttle
    assert isinstance(throttle, RedisLoginThrottle)
    return throttle


async def test_an_account_is_throttled_after_its_limit_even_with_the_right_password(
    client: InProcessCustomersClient,
    service: CustomersService,
    redis: Redis,
    db: Database,
    passwords: SpyPasswords,
    auth_settings: Settings,
) -> None:
    email = new_email()
    account = await client.register(RegisterAccount(email, PASSWORD))
    codes = [await _code(client, email, "wrong password", new_ip()) for _ in range(PER_ACCOUNT)]
    passwords.calls.clear()

    refused = await _code(client, email.upper(), PASSWORD, new_ip())

    assert codes == ["INVALID_CREDENTIALS"] * PER_ACCOUNT
    assert refused == "TOO_MANY_ATTEMPTS"
    assert passwords.calls == []  # refused before any hashing
    assert await tokens_of(db, account.id) == []
    key = _throttle(service).account_key(email)
    assert key.startswith(f"{auth_settings.namespace}:throttle:account:")
    assert int(await redis.get(key) or 0) == PER_ACCOUNT + 1
    assert 0 < await redis.ttl(key) <= auth_settings.login_throttle_window_seconds


async def test_a_successful_sign_in_resets_the_accounts_counter(
    client: InProcessCustomersClient, service: CustomersService, redis: Redis
) -> None:
    email = new_email()
    await client.register(RegisterAccount(email, PASSWORD))
    before = [await _code(client, email, "wrong password", new_ip()) for _ in range(PER_ACCOUNT - 1)]

    signed_in = await _code(client, email, PASSWORD, new_ip())
    counter_after_success = await redis.get(_throttle(service).account_key(email))
    after = [await _code(client, email, "wrong password", new_ip()) for _ in range(PER_ACCOUNT)]
    refused = await _code(client, email, PASSWORD, new_ip())

    assert before == ["INVALID_CREDENTIALS"] * (PER_ACCOUNT - 1)
    assert (signed_in, counter_after_success) == ("OK", None)
    assert after == ["INVALID_CREDENTIALS"] * PER_ACCOUNT
    assert refused == "TOO_MANY_ATTEMPTS"


async def test_an_ip_is_throttled_after_its_failures_across_accounts_and_a_success_does_not_reset_it(
    client: InProcessCustomersClient, service: CustomersService, redis: Redis, db: Database
) -> None:
    ip = new_ip()
    email = new_email()
    account = await client.register(RegisterAccount(email, PASSWORD))
    guesses = [await _code(client, new_email(), PASSWORD, ip) for _ in range(PER_IP - 1)]
    signed_in = await _code(client, email, PASSWORD, ip)
    counter_after_success = int(await redis.get(_throttle(service).ip_key(ip)) or 0)
    last_guess = await _code(client, new_email(), PASSWORD, ip)

    refused = await _code(client, email, PASSWORD, ip)
    elsewhere = await _code(client, email, PASSWORD, new_ip())

    assert guesses == ["INVALID_CREDENTIALS"] * (PER_IP - 1)
    assert (signed_in, counter_after_success) == ("OK", PER_IP - 1)
    assert (last_guess, refused, elsewhere) == ("INVALID_CREDENTIALS", "TOO_MANY_ATTEMPTS", "OK")
    assert len(await tokens_of(db, account.id)) == 2
    assert int(await redis.get(_throttle(service).ip_key(ip)) or 0) == PER_IP + 1


async def test_successful_sign_ins_never_count_against_the_ip(
    client: InProcessCustomersClient, service: CustomersService, redis: Redis, db: Database
) -> None:
    # Given one address (an office, a NAT, a proxy) where many shoppers sign in correctly
    ip = new_ip()
    email = new_email()
    account = await client.register(RegisterAccount(email, PASSWORD))

    # When it signs in far more often than the per-IP limit of failures
    codes = [await _code(client, email, PASSWORD, ip) for _ in range(PER_IP * 3 + 1)]

    # Then every sign-in succeeds and nothing is left on either counter
    assert codes == ["OK"] * (PER_IP * 3 + 1)
    assert len(await tokens_of(db, account.id)) == PER_IP * 3 + 1
    assert await redis.get(_throttle(service).ip_key(ip)) is None
    assert await redis.get(_throttle(service).account_key(email)) is None


async def test_the_default_limits_let_31_correct_sign_ins_through_and_throttle_wrong_passwords(
    db: Database, redis: Redis, settings: Settings, clock: FakeClock
) -> None:
    # Given the shipped defaults (30 failures per IP, 5 per account, per 5 minutes)
    defaults = Settings(auth_secret=SECRET, namespace=settings.namespace)
    client = InProcessCustomersClient(
        CustomersService(
            db,
            redis,
            defaults,
            customers_outbox(defaults.namespace),
            clock=clock,
            passwords=cheap_passwords(),
        )
    )
    ip = new_ip()
    email = new_email()
    await client.register(RegisterAccount(email, PASSWORD))

    # When one address signs in correctly 31 times, then guesses one account's password
    correct = [await _code(client, email, PASSWORD, ip) for _ in range(31)]
    wrong = [await _code(client, email, "wrong password", ip) for _ in range(6)]

    # Then the 31 succeed and the sixth wrong password is throttled with the typed code
    assert correct == ["OK"] * 31
    assert wrong == ["INVALID_CREDENTIALS"] * 5 + ["TOO_MANY_ATTEMPTS"]


async def test_without_an_ip_only_the_account_is_throttled(client: InProcessCustomersClient) -> None:
    email = new_email()
    await client.register(RegisterAccount(email, PASSWORD))

    codes = [await _code(client, email, "wrong password", None) for _ in range(PER_ACCOUNT + 1)]

    assert codes == ["INVALID_CREDENTIALS"] * PER_ACCOUNT + ["TOO_MANY_ATTEMPTS"]


async def test_the_throttle_fails_open_when_redis_is_unreachable(
    db: Database,
    unreachable_redis: Redis,
    auth_settings: Settings,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = InProcessCustomersClient(
        CustomersService(
            db,
            unreachable_redis,
            auth_settings,
            customers_outbox(auth_settings.namespace),
            clock=clock,
            passwords=cheap_passwords(),
        )
    )
    email = new_email()
    await client.register(RegisterAccount(email, PASSWORD))

    with caplog.at_level(logging.WARNING, logger="mercato.customers.adapters.throttle"):
        codes = [await _code(client, email, "wrong password", new_ip()) for _ in range(PER_ACCOUNT + 1)]
        signed_in = await _code(client, email, PASSWORD, new_ip())

    assert codes == ["INVALID_CREDENTIALS"] * (PER_ACCOUNT + 1)
    assert signed_in == "OK"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == PER_ACCOUNT + 3  # every attempt, plus the reset after the success
    assert all("sign-in throttle unavailable" in w for w in warnings)
