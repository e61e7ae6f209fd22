"""Password change (knowing the current one) and reset (a single-use, expiring token mailed through
the `customers.password_reset_requested` event): both end every sign-in of the account."""

from __future__ import annotations

import hashlib

import pytest

from mercato.customers import PasswordChangeErrorCode, PasswordResetErrorCode, TokenCreateErrorCode
from mercato.customers.client import InProcessCustomersClient
from mercato.customers.domain.commands import (
    ChangePassword,
    CreateToken,
    RefreshToken,
    RegisterAccount,
    RequestPasswordReset,
    ResetPassword,
)
from mercato.platform.auth import Unauthenticated
from mercato.platform.config import Settings
from mercato.platform.db import Database
from mercato.platform.errors import ClientError
from tests.service.customers.conftest import (
    PASSWORD,
    FakeClock,
    account_row,
    fetch,
    new_email,
    new_ip,
    outbox,
)

NEW_PASSWORD = "a much better passphrase"


async def _signs_in(client: InProcessCustomersClient, email: str, password: str) -> bool:
    try:
        await client.create_token(CreateToken(email, password, new_ip()))
    except ClientError as exc:
        assert exc.code is TokenCreateErrorCode.INVALID_CREDENTIALS
        return False
    return True


async def test_changing_the_password_needs_the_current_one_and_ends_every_sign_in(
    client: InProcessCustomersClient, db: Database
) -> None:
    email = new_email()
    await client.register(RegisterAccount(email, PASSWORD))
    pair = await client.create_token(CreateToken(email, PASSWORD, new_ip()))
    principal = await client.authenticate(pair.access_token)
    hash_before = (await account_row(db, email)).password_hash

    with pytest.raises(ClientError) as wrong:
        await client.change_password(ChangePassword(principal, "not my password", NEW_PASSWORD))
    unchanged = (await account_row(db, email)).password_hash
    await client.change_password(ChangePassword(principal, PASSWORD, NEW_PASSWORD))

    assert (wrong.value.code, wrong.value.field) == (
        PasswordChangeErrorCode.INVALID_CREDENTIALS,
        "current_password",
    )
    assert unchanged == hash_before
    with pytest.raises(Unauthenticated):
        await client.authenticate(pair.access_token)
    with pytest.raises(ClientError):
        await client.refresh(RefreshToken(pair.refresh_token))
    assert not await _signs_in(client, email, PASSWORD)
    assert await _signs_in(client, email, NEW_PASSWORD)


async def test_a_too_short_new_password_is_refused_without_change(
    client: InProcessCustomersClient, db: Database
) -> None:
    email = new_email()
    await client.register(RegisterAccount(email, PASSWORD))
    principal = await client.authenticate(
        (await client.create_token(CreateToken(email, PASSWORD, new_ip()))).access_token
    )

    with pytest.raises(ClientError) as short:
        await client.change_password(ChangePassword(principal, PASSWORD, "short"))

    assert (short.value.code, short.value.field) == (PasswordChangeErrorCode.OUT_OF_RANGE, "password")
    assert await _signs_in(client, email, PASSWORD)


async def test_a_reset_request_answers_the_same_for_unknown_emails_and_mails_a_token_for_known_ones(
    client: InProcessCustomersClient, db: Database
) -> None:
    # Given one registered email and one unknown
    email = new_email()
    account = await client.register(RegisterAccount(email, PASSWORD))
    unknown = new_email()

    # When a reset is requested for both
    known_answer = await client.request_password_reset(RequestPasswordReset(email.upper()))
    unknown_answer = await client.request_password_reset(RequestPasswordReset(unknown))
    malformed_answer = await client.request_password_reset(RequestPasswordReset("not an email\x00"))

    # Then both answer alike; only the known account gets a token, stored as its hash only
    assert known_answer is unknown_answer is malformed_answer is None
    events = await outbox(db, "customers.password_reset_requested", account.id)
    assert len(events) == 1
    token = events[0].payload["token"]
    assert events[0].payload["email"] == email
    stored = await fetch(
        db, "SELECT token_hash FROM customers.password_reset_tokens WHERE account_id = :a", a=account.id
    )
    assert [bytes(r.token_hash) for r in stored] == [hashlib.sha256(token.encode()).digest()]
    unknown_rows = await fetch(
        db,
        "SELECT count(*) AS n FROM customers.outbox WHERE position(:e in convert_from(body, 'UTF8')) > 0",
        e=unknown,
    )
    assert unknown_rows[0].n == 0


async def test_a_reset_token_sets_a_new_password_once_and_ends_every_sign_in(
    client: InProcessCustomersClient, db: Database
) -> None:
    email = new_email()
    account = await client.register(RegisterAccount(email, PASSWORD))
    pair = await client.create_token(CreateToken(email, PASSWORD, new_ip()))
    await client.request_password_reset(RequestPasswordReset(email))
    token = (await outbox(db, "customers.password_reset_requested", account.id))[0].payload["token"]

    await client.reset_password(ResetPassword(token, NEW_PASSWORD))
    with pytest.raises(ClientError) as reused:
        await client.reset_password(ResetPassword(token, "yet another passphrase"))

    assert (reused.value.code, reused.value.field) == (PasswordResetErrorCode.INVALID_TOKEN, "token")
    with pytest.raises(Unauthenticated):
        await client.authenticate(pair.access_token)
    assert not await _signs_in(client, email, PASSWORD)
    assert await _signs_in(client, email, NEW_PASSWORD)


async def test_an_expired_or_unknown_reset_token_changes_nothing(
    client: InProcessCustomersClient, db: Database, clock: FakeClock, auth_settings: Settings
) -> None:
    email = new_email()
    account = await client.register(RegisterAccount(email, PASSWORD))
    await client.request_password_reset(RequestPasswordReset(email))
    token = (await outbox(db, "customers.password_reset_requested", account.id))[0].payload["token"]
    clock.advance(auth_settings.password_reset_ttl_seconds)

    codes = []
    for candidate in (token, "made-up-token", ""):
        with pytest.raises(ClientError) as refused:
            await client.reset_password(ResetPassword(candidate, NEW_PASSWORD))
        codes.append(refused.value.code)

    assert codes == [PasswordResetErrorCode.INVALID_TOKEN] * 3
    assert await _signs_in(client, email, PASSWORD)
