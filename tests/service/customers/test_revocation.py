"""Revocation, demotion, disabling and new passwords take effect on access tokens within the token
version cache's TTL (here driven by the test's clock), not after the tokens' 15 minutes."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from mercato.customers import AccountSetActiveErrorCode, TokenCreateErrorCode, TokenRefreshErrorCode
from mercato.customers.bootstrap import CustomersService, create_admin, customers_outbox
from mercato.customers.client import InProcessCustomersClient
from mercato.customers.domain.commands import (
    CreateToken,
    RefreshToken,
    RegisterAccount,
    RevokeAllTokens,
    SetAccountActive,
    SetStaffPermissions,
)
from mercato.platform.auth import Permission, Principal, Role, Unauthenticated
from mercato.platform.config import Settings
from mercato.platform.db import Database
from mercato.platform.errors import ClientError
from tests.service.customers.conftest import (
    PASSWORD,
    FakeClock,
    account_row,
    cheap_passwords,
    fetch,
    new_email,
    new_ip,
    outbox,
)


async def _admin(client: InProcessCustomersClient, service: CustomersService) -> Principal:
    email = new_email("admin")
    await create_admin(service, email, PASSWORD)
    return await client.authenticate(
        (await client.create_token(CreateToken(email, PASSWORD, new_ip()))).access_token
    )


async def _refused(client: InProcessCustomersClient, token: str) -> bool:
    try:
        await client.authenticate(token)
    except Unauthenticated:
        return True
    return False


async def test_signing_out_everywhere_refuses_earlier_access_and_refresh_tokens_at_once(
    client: InProcessCustomersClient, db: Database
) -> None:
    # Given a customer signed in twice
    email = new_email()
    account = await client.register(RegisterAccount(email, PASSWORD))
    first = await client.create_token(CreateToken(email, PASSWORD, new_ip()))
    second = await client.create_token(CreateToken(email, PASSWORD, new_ip()))
    principal = await client.authenticate(first.access_token)

    # When it signs out everywhere
    await client.revoke_all(RevokeAllTokens(principal))

    # Then both sign-ins are over, and a new one works
    assert await _refused(client, first.access_token)
    assert await _refused(client, second.access_token)
    with pytest.raises(ClientError) as refresh:
        await client.refresh(RefreshToken(second.refresh_token))
    assert refresh.value.code is TokenRefreshErrorCode.INVALID_TOKEN
    revoked = await fetch(
        db,
        "SELECT count(*) AS n FROM customers.refresh_token_families "
        "WHERE account_id = :a AND revoked_at IS NULL",
        a=account.id,
    )
    assert revoked[0].n == 0
    fresh = await client.create_token(CreateToken(email, PASSWORD, new_ip()))
    assert (await client.authenticate(fresh.access_token)).user_id == account.id


async def test_another_process_refuses_a_revoked_token_within_the_cache_ttl(
    client: InProcessCustomersClient,
    db: Database,
    redis: Redis,
    auth_settings: Settings,
    clock: FakeClock,
) -> None:
    # Given a second process (its own memory, the same Redis and database) that has seen the token
    other = InProcessCustomersClient(
        CustomersService(
            db,
            redis,
            auth_settings,
            customers_outbox(auth_settings.namespace),
            clock=clock,
            passwords=cheap_passwords(),
        )
    )
    email = new_email()
    await client.register(RegisterAccount(email, PASSWORD))
    pair = await client.create_token(CreateToken(email, PASSWORD, new_ip()))
    principal = await other.authenticate(pair.access_token)

    # When the first process revokes every token of the account
    await client.revoke_all(RevokeAllTokens(principal))

    # Then the second still trusts its memory until the TTL ends, and refuses from then on
    assert not await _refused(other, pair.access_token)
    clock.advance(auth_settings.token_version_cache_seconds)
    assert await _refused(other, pair.access_token)


async def test_a_demoted_staff_members_token_is_refused_and_a_refresh_carries_the_new_access(
    client: InProcessCustomersClient, service: CustomersService
) -> None:
    # Given staff holding catalog:write and inventory:write, signed in
    admin = await _admin(client, service)
    email = new_email("staff")
    account = await client.register(RegisterAccount(email, PASSWORD))
    await client.set_staff_permissions(
        SetStaffPermissions.of(
            admin, account.id, Role.STAFF, [Permission.CATALOG_WRITE, Permission.INVENTORY_WRITE]
        )
    )
    pair = await client.create_token(CreateToken(email, PASSWORD, new_ip()))
    before = await client.authenticate(pair.access_token)

    # When an admin takes catalog:write away
    await client.set_staff_permissions(
        SetStaffPermissions.of(admin, account.id, Role.STAFF, [Permission.INVENTORY_WRITE])
    )

    # Then the old token is refused, and the refreshed one holds only what is left
    refreshed = await client.refresh(RefreshToken(pair.refresh_token))
    after = await client.authenticate(refreshed.access_token)
    assert before.permissions == frozenset({Permission.CATALOG_WRITE, Permission.INVENTORY_WRITE})
    assert await _refused(client, pair.access_token)
    assert after.permissions == frozenset({Permission.INVENTORY_WRITE})


async def test_a_manager_disables_an_account_its_tokens_stop_and_it_cannot_sign_in_until_enabled(
    client: InProcessCustomersClient, service: CustomersService, db: Database
) -> None:
    # Given a customer signed in, and staff holding customers:manage
    admin = await _admin(client, service)
    manager_email = new_email("manager")
    manager_account = await client.register(RegisterAccount(manager_email, PASSWORD))
    await client.set_staff_permissions(
        SetStaffPermissions.of(admin, manager_account.id, Role.STAFF, [Permission.CUSTOMERS_MANAGE])
    )
    manager = await client.authenticate(
        (await client.create_token(CreateToken(manager_email, PASSWORD, new_ip()))).access_token
    )
    email = new_email()
    account = await client.register(RegisterAccount(email, PASSWORD))
    pair = await client.create_token(CreateToken(email, PASSWORD, new_ip()))

    # When the manager disables the account
    disabled = await client.set_account_active(SetAccountActive(manager, account.id, False))

    # Then its token, its refresh token and its password stop working
    assert disabled.is_active is False
    assert await _refused(client, pair.access_token)
    with pytest.raises(ClientError) as refresh:
        await client.refresh(RefreshToken(pair.refresh_token))
    with pytest.raises(ClientError) as sign_in:
        await client.create_token(CreateToken(email, PASSWORD, new_ip()))
    assert refresh.value.code is TokenRefreshErrorCode.INVALID_TOKEN
    assert sign_in.value.code is TokenCreateErrorCode.INVALID_CREDENTIALS
    assert (await account_row(db, email)).is_active is False
    assert [
        e.payload["is_active"] for e in await outbox(db, "customers.account_active_changed", account.id)
    ] == [False]

    # And once enabled again, it signs in
    enabled = await client.set_account_active(SetAccountActive(manager, account.id, True))
    again = await client.create_token(CreateToken(email, PASSWORD, new_ip()))
    assert enabled.is_active is True
    assert (await client.authenticate(again.access_token)).user_id == account.id


async def test_disabling_needs_customers_manage_and_not_oneself(
    client: InProcessCustomersClient, service: CustomersService, db: Database
) -> None:
    admin = await _admin(client, service)
    email = new_email()
    await client.register(RegisterAccount(email, PASSWORD))
    customer = await client.authenticate(
        (await client.create_token(CreateToken(email, PASSWORD, new_ip()))).access_token
    )
    other = await client.register(RegisterAccount(new_email(), PASSWORD))

    with pytest.raises(ClientError) as denied:
        await client.set_account_active(SetAccountActive(customer, other.id, False))
    with pytest.raises(ClientError) as self_disabled:
        await client.set_account_active(SetAccountActive(admin, admin.user_id, False))

    assert denied.value.code is AccountSetActiveErrorCode.PERMISSION_DENIED
    assert self_disabled.value.code is AccountSetActiveErrorCode.CANNOT_DISABLE_SELF
    assert (await account_row(db, other.email)).is_active is True
    assert (await account_row(db, admin.email)).is_active is True
