from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import timedelta

import jwt
import pytest
from redis.asyncio import Redis
from sqlalchemy import text

from mercato.customers import TokenCreateErrorCode, TokenPair, TokenRefreshErrorCode, TokenRevokeErrorCode
from mercato.customers.bootstrap import CustomersService, customers_outbox
from mercato.customers.client import InProcessCustomersClient
from mercato.customers.domain.commands import CreateToken, RefreshToken, RegisterAccount, RevokeToken
from mercato.platform.auth import Principal, Role, Unauthenticated
from mercato.platform.config import Settings
from mercato.platform.db import Database
from mercato.platform.errors import ClientError
from tests.service.customers.conftest import (
    PASSWORD,
    FakeClock,
    SpyPasswords,
    account_row,
    cheap_passwords,
    fetch,
    new_email,
    new_ip,
    tokens_of,
)


async def test_sign_in_hands_out_an_access_token_and_stores_only_the_refresh_tokens_hash(
    client: InProcessCustomersClient, db: Database, auth_settings: Settings, clock: FakeClock
) -> None:
    email = new_email()
    account = await client.register(RegisterAccount(email, PASSWORD))

    pair = await client.create_token(CreateToken(email.upper(), PASSWORD, new_ip()))

    assert pair.expires_in == auth_settings.access_token_ttl_seconds == 900
    assert await client.authenticate(pair.access_token) == Principal(
        user_id=account.id, email=email, role=Role.CUSTOMER, permissions=frozenset()
    )
    claims = jwt.decode(pair.access_token, options={"verify_signature": False})
    assert set(claims) == {"sub", "email", "role", "perms", "ver", "iat", "exp", "jti", "typ"}
    assert (claims["typ"], claims["iat"], claims["exp"] - claims["iat"]) == (
        "access",
        int(clock.now.timestamp()),
        900,
    )
    assert len(pair.refresh_token) == 43  # 256 bits, url-safe base64
    [token] = await tokens_of(db, account.id)
    assert bytes(token.token_hash) == hashlib.sha256(pair.refresh_token.encode()).digest()
    assert (token.parent_id, token.used_at, token.revoked_at) == (None, None, None)
    assert token.expires_at == clock.now + timedelta(days=30)
    assert pair.refresh_token not in repr(pair) and pair.access_token not in repr(pair)


async def test_wrong_password_and_unknown_email_are_the_same_error_and_write_nothing(
    client: InProcessCustomersClient, db: Database, passwords: SpyPasswords
) -> None:
    email = new_email()
    account = await client.register(RegisterAccount(email, PASSWORD))
    passwords.calls.clear()

    with pytest.raises(ClientError) as wrong:
        await client.create_token(CreateToken(email, "wrong password", new_ip()))
    with pytest.raises(ClientError) as unknown:
        await client.create_token(CreateToken(new_email(), PASSWORD, new_ip()))

    assert (wrong.value.code, wrong.value.field, wrong.value.message) == (
        TokenCreateErrorCode.INVALID_CREDENTIALS,
        None,
        "the email or password is not correct",
    )
    assert (unknown.value.code, unknown.value.field, unknown.value.message) == (
        wrong.value.code,
        wrong.value.field,
        wrong.value.message,
    )
    # The unknown email still paid for one argon2 verification (against the dummy hash).
    assert passwords.calls == ["verify", "burn"]
    assert await tokens_of(db, account.id) == []


@pytest.mark.parametrize("email", ["", "nul\x00@example.com", "no-at-sign", "x" * 300])
async def test_malformed_emails_are_invalid_credentials_at_the_cost_of_a_hash(
    client: InProcessCustomersClient, passwords: SpyPasswords, email: str
) -> None:
    with pytest.raises(ClientError) as caught:
        await client.create_token(CreateToken(email, PASSWORD, new_ip()))

    assert caught.value.code is TokenCreateErrorCode.INVALID_CREDENTIALS
    assert passwords.calls == ["burn"]


async def test_a_disabled_account_cannot_sign_in_nor_refresh(
    client: InProcessCustomersClient, db: Database
) -> None:
    email = new_email()
    account = await client.register(RegisterAccount(email, PASSWORD))
    pair = await client.create_token(CreateToken(email, PASSWORD, new_ip()))
    async with db.begin() as conn:
        await conn.execute(
            text("UPDATE customers.accounts SET is_active = false WHERE id = :id"),
            {"id": account.id},
        )

    with pytest.raises(ClientError) as signing_in:
        await client.create_token(CreateToken(email, PASSWORD, new_ip()))
    with pytest.raises(ClientError) as refreshing:
        await client.refresh(RefreshToken(pair.refresh_token))

    assert signing_in.value.code is TokenCreateErrorCode.INVALID_CREDENTIALS
    assert refreshing.value.code is TokenRefreshErrorCode.INVALID_TOKEN
    assert [t.used_at for t in await tokens_of(db, account.id)] == [None]


async def test_refresh_rotates_within_the_family(
    client: InProcessCustomersClient, db: Database, clock: FakeClock
) -> None:
    email = new_email()
    account = await client.register(RegisterAccount(email, PASSWORD))
    first = await client.create_token(CreateToken(email, PASSWORD, new_ip()))
    clock.advance(60)

    second = await client.refresh(RefreshToken(first.refresh_token))

    assert second.refresh_token != first.refresh_token
    assert (await client.authenticate(second.access_token)).user_id == account.id
    old, new = await tokens_of(db, account.id)
    assert (old.used_at, new.used_at) == (clock.now, None)
    assert (new.family_id, new.parent_id) == (old.family_id, old.id)
    assert bytes(new.token_hash) == hashlib.sha256(second.refresh_token.encode()).digest()


async def test_reusing_a_spent_refresh_token_revokes_the_whole_family(
    client: InProcessCustomersClient, db: Database, clock: FakeClock
) -> None:
    email = new_email()
    account = await client.register(RegisterAccount(email, PASSWORD))
    stolen = await client.create_token(CreateToken(email, PASSWORD, new_ip()))
    rotated = await client.refresh(RefreshToken(stolen.refresh_token))
    other_sign_in = await client.create_token(CreateToken(email, PASSWORD, new_ip()))
    clock.advance(5)

    with pytest.raises(ClientError) as reused:
        await client.refresh(RefreshToken(stolen.refresh_token))
    with pytest.raises(ClientError) as after:
        await client.refresh(RefreshToken(rotated.refresh_token))
    with pytest.raises(ClientError) as replayed_again:
        await client.refresh(RefreshToken(stolen.refresh_token))

    assert (reused.value.code, reused.value.field) == (TokenRefreshErrorCode.TOKEN_REUSED, "refresh_token")
    assert after.value.code is TokenRefreshErrorCode.INVALID_TOKEN
    assert replayed_again.value.code is TokenRefreshErrorCode.INVALID_TOKEN
    tokens = await tokens_of(db, account.id)
    family = {t.family_id for t in tokens if t.parent_id is not None}
    assert len(tokens) == 3  # no token was issued by the refused refreshes
    assert {t.revoked_at for t in tokens if t.family_id in family} == {clock.now}
    # Other sign-ins of the same account are not touched.
    assert (await client.refresh(RefreshToken(other_sign_in.refresh_token))).expires_in == 900


async def test_concurrent_refreshes_of_one_token_let_exactly_one_win(
    client: InProcessCustomersClient, db: Database
) -> None:
    email = new_email()
    account = await client.register(RegisterAccount(email, PASSWORD))
    pair = await client.create_token(CreateToken(email, PASSWORD, new_ip()))

    outcomes = await asyncio.gather(
        client.refresh(RefreshToken(pair.refresh_token)),
        client.refresh(RefreshToken(pair.refresh_token)),
        return_exceptions=True,
    )

    won = [o for o in outcomes if isinstance(o, TokenPair)]
    refused = [o.code for o in outcomes if isinstance(o, ClientError)]
    assert (len(won), refused) == (1, [TokenRefreshErrorCode.TOKEN_REUSED])
    assert {t.revoked_at is not None for t in await tokens_of(db, account.id)} == {True}


async def test_an_expired_refresh_token_is_invalid_and_left_unused(
    client: InProcessCustomersClient, db: Database, clock: FakeClock, auth_settings: Settings
) -> None:
    email = new_email()
    account = await client.register(RegisterAccount(email, PASSWORD))
    pair = await client.create_token(CreateToken(email, PASSWORD, new_ip()))
    clock.advance(auth_settings.refresh_token_ttl_seconds)

    with pytest.raises(ClientError) as caught:
        await client.refresh(RefreshToken(pair.refresh_token))

    assert caught.value.code is TokenRefreshErrorCode.INVALID_TOKEN
    assert [(t.used_at, t.revoked_at) for t in await tokens_of(db, account.id)] == [(None, None)]


@pytest.mark.parametrize("token", ["", "unknown-token", "x" * 5_000])
async def test_unknown_refresh_tokens_are_invalid(client: InProcessCustomersClient, token: str) -> None:
    with pytest.raises(ClientError) as refreshing:
        await client.refresh(RefreshToken(token))
    with pytest.raises(ClientError) as revoking:
        await client.revoke(RevokeToken(token))

    assert refreshing.value.code is TokenRefreshErrorCode.INVALID_TOKEN
    assert revoking.value.code is TokenRevokeErrorCode.INVALID_TOKEN


async def test_revoke_ends_the_sign_in_and_may_be_repeated(
    client: InProcessCustomersClient, db: Database, clock: FakeClock
) -> None:
    email = new_email()
    account = await client.register(RegisterAccount(email, PASSWORD))
    first = await client.create_token(CreateToken(email, PASSWORD, new_ip()))
    second = await client.refresh(RefreshToken(first.refresh_token))

    await client.revoke(RevokeToken(second.refresh_token))
    revoked_at = clock.now
    clock.advance(10)
    await client.revoke(RevokeToken(second.refresh_token))

    with pytest.raises(ClientError) as caught:
        await client.refresh(RefreshToken(second.refresh_token))
    assert caught.value.code is TokenRefreshErrorCode.INVALID_TOKEN
    assert {t.revoked_at for t in await tokens_of(db, account.id)} == {revoked_at}


async def test_an_access_token_expires_on_the_services_clock(
    client: InProcessCustomersClient, clock: FakeClock
) -> None:
    email = new_email()
    await client.register(RegisterAccount(email, PASSWORD))
    pair = await client.create_token(CreateToken(email, PASSWORD, new_ip()))

    clock.advance(pair.expires_in - 1)
    assert (await client.authenticate(pair.access_token)).email == email
    clock.advance(1)
    with pytest.raises(Unauthenticated, match="expired"):
        await client.authenticate(pair.access_token)


async def test_an_access_token_signed_with_another_secret_is_refused(
    db: Database, redis: Redis, auth_settings: Settings, clock: FakeClock, client: InProcessCustomersClient
) -> None:
    other_settings = auth_settings.model_copy(update={"auth_secret": "o" * 40})
    other = InProcessCustomersClient(
        CustomersService(
            db,
            redis,
            other_settings,
            customers_outbox(other_settings.namespace),
            clock=clock,
            passwords=cheap_passwords(),
        )
    )
    email = new_email()
    await other.register(RegisterAccount(email, PASSWORD))
    foreign = await other.create_token(CreateToken(email, PASSWORD, new_ip()))

    with pytest.raises(Unauthenticated, match="invalid access token"):
        await client.authenticate(foreign.access_token)
    with pytest.raises(Unauthenticated):
        await client.authenticate(foreign.refresh_token)


async def test_signing_in_upgrades_a_hash_made_with_older_parameters(
    db: Database, redis: Redis, auth_settings: Settings, clock: FakeClock, client: InProcessCustomersClient
) -> None:
    email = new_email()
    await client.register(RegisterAccount(email, PASSWORD))
    old_hash = (await account_row(db, email)).password_hash
    stronger = CustomersService(
        db,
        redis,
        auth_settings,
        customers_outbox(auth_settings.namespace),
        clock=clock,
        passwords=cheap_passwords(time_cost=2),
    )

    await InProcessCustomersClient(stronger).create_token(CreateToken(email, PASSWORD, new_ip()))
    upgraded = (await account_row(db, email)).password_hash
    await InProcessCustomersClient(stronger).create_token(CreateToken(email, PASSWORD, new_ip()))

    assert ",t=1," in old_hash
    assert upgraded.startswith("$argon2id$v=19$m=1024,t=2,p=1$")
    assert (await account_row(db, email)).password_hash == upgraded  # no rehash when current
    # The old parameters still verify the new hash (parameters are read from the hash).
    assert (await client.create_token(CreateToken(email, PASSWORD, new_ip()))).expires_in == 900


async def test_a_refresh_carries_the_accounts_current_role(
    service: CustomersService, client: InProcessCustomersClient, db: Database
) -> None:
    email = new_email()
    account = await client.register(RegisterAccount(email, PASSWORD))
    pair = await client.create_token(CreateToken(email, PASSWORD, new_ip()))
    async with db.begin() as conn:
        await conn.execute(
            text("UPDATE customers.accounts SET role = 'ADMIN' WHERE id = :id"),
            {"id": account.id},
        )

    refreshed = await client.refresh(RefreshToken(pair.refresh_token))

    assert (await client.authenticate(pair.access_token)).role is Role.CUSTOMER
    assert (await client.authenticate(refreshed.access_token)).role is Role.ADMIN


async def test_a_sign_in_costs_three_statements(client: InProcessCustomersClient, db: Database) -> None:
    email = new_email()
    await client.register(RegisterAccount(email, PASSWORD))

    with db.count_statements() as counter:
        await client.create_token(CreateToken(email, PASSWORD, new_ip()))

    # read the account, start the family, insert its first token
    assert counter.count == 3


async def test_a_refresh_costs_four_statements(client: InProcessCustomersClient, db: Database) -> None:
    email = new_email()
    await client.register(RegisterAccount(email, PASSWORD))
    pair = await client.create_token(CreateToken(email, PASSWORD, new_ip()))

    with db.count_statements() as counter:
        await client.refresh(RefreshToken(pair.refresh_token))

    # lock token+family, read account, mark used, insert child
    assert counter.count == 4


async def test_no_token_is_issued_without_a_secret(
    db: Database, redis: Redis, settings: Settings, clock: FakeClock
) -> None:
    without_secret = settings.model_copy(update={"auth_secret": None})
    unset = InProcessCustomersClient(
        CustomersService(
            db,
            redis,
            without_secret,
            customers_outbox(settings.namespace),
            clock=clock,
            passwords=cheap_passwords(),
        )
    )
    email = new_email()
    account = await unset.register(RegisterAccount(email, PASSWORD))

    with pytest.raises(RuntimeError, match="MERCATO_AUTH_SECRET"):
        await unset.create_token(CreateToken(email, PASSWORD, new_ip()))
    with pytest.raises(Unauthenticated):
        await unset.authenticate(jwt.encode({"sub": str(uuid.uuid4())}, "k" * 40, algorithm="HS256"))
    assert (
        await fetch(db, "SELECT id FROM customers.refresh_token_families WHERE account_id = :a", a=account.id)
        == []
    )
