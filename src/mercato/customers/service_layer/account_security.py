"""Taking access away and giving it back: sign out everywhere, disabling by staff, password change
and reset.

Each of them bumps the account's token version in its transaction and publishes the new stamp after
the commit (`deps.token_versions.changed`), so access tokens issued before are refused within
seconds everywhere (see `adapters.token_versions`); those that end sign-ins revoke every refresh
token family of the account in the same transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime

from mercato.customers.domain import commands, events
from mercato.customers.domain.errors import (
    AccountSetActiveErrorCode,
    PasswordChangeErrorCode,
    PasswordResetErrorCode,
    PasswordResetRequestErrorCode,
    TokenRevokeAllErrorCode,
)
from mercato.customers.domain.model import (
    PASSWORD_MAX,
    Account,
    check_password,
    normalize_email,
    plausible_email,
)
from mercato.customers.domain.rules import (
    AccountGone,
    AccountNotFound,
    CannotDisableSelf,
    InvalidResetToken,
    NotAllowed,
    TooManyAttempts,
    WrongPassword,
)
from mercato.customers.domain.tokens import hash_refresh_token, new_refresh_secret, plausible_refresh_token
from mercato.customers.service_layer.guard import guarded
from mercato.customers.service_layer.ports import Deps
from mercato.customers.service_layer.unit_of_work import CustomersUnitOfWork
from mercato.platform.auth import Permission, Role
from mercato.platform.errors import Problem
from mercato.platform.validation import Checks


def _check_new_password(password: str) -> None:
    checks = Checks()
    check_password(checks, password)
    checks.raise_as(Problem)


async def revoke_all_tokens(cmd: commands.RevokeAllTokens, deps: Deps) -> None:
    async def run() -> None:
        now = deps.clock()
        async with deps.unit_of_work() as uow:
            if not (await uow.store.lock_accounts([cmd.account_id])):
                raise AccountGone()
            await uow.store.revoke_all_families(cmd.account_id, now)
            stamp = await uow.store.bump_token_version(cmd.account_id)
            await uow.commit()
        await deps.token_versions.changed(cmd.account_id, stamp)

    await guarded(TokenRevokeAllErrorCode, run)


def _check_may_disable(actor: Account | None, target: Account | None) -> Account:
    needed = f"this needs the {Permission.CUSTOMERS_MANAGE.value} permission"
    # The actor's rights as stored now, not as their token claims; checked before the target, so
    # someone without the right learns nothing about which ids exist.
    if actor is None or not actor.is_active or not actor.principal().has(Permission.CUSTOMERS_MANAGE):
        raise NotAllowed(needed)
    if target is None:
        raise AccountNotFound()
    if target.id == actor.id:
        raise CannotDisableSelf()
    if target.role is Role.ADMIN and actor.role is not Role.ADMIN:
        raise NotAllowed("only an admin can disable or enable an admin", field="user_id")
    return target


async def set_account_active(cmd: commands.SetAccountActive, deps: Deps) -> Account:
    async def run() -> Account:
        if not cmd.actor.has(Permission.CUSTOMERS_MANAGE):
            raise NotAllowed(f"this needs the {Permission.CUSTOMERS_MANAGE.value} permission")
        now = deps.clock()
        async with deps.unit_of_work() as uow:
            accounts = await uow.store.lock_accounts([cmd.actor.user_id, cmd.user_id])
            target = _check_may_disable(accounts.get(cmd.actor.user_id), accounts.get(cmd.user_id))
            if target.is_active is cmd.active:
                return target
            if not cmd.active:
                await uow.store.revoke_all_families(target.id, now)
            stamp = await uow.store.bump_token_version(target.id, is_active=cmd.active)
            uow.add_event(
                events.AccountActiveChanged(
                    aggregate_id=str(target.id),
                    occurred_at=now,
                    is_active=cmd.active,
                    changed_by=str(cmd.actor.user_id),
                )
            )
            await uow.commit()
        await deps.token_versions.changed(target.id, stamp)
        return replace(target, is_active=cmd.active, token_version=stamp // 2)

    return await guarded(AccountSetActiveErrorCode, run)


async def _end_every_sign_in(
    uow: CustomersUnitOfWork, account_id: uuid.UUID, password_hash: str, now: datetime
) -> int:
    """A new password ends every sign-in; returns the new token stamp."""
    await uow.store.set_password_hash(account_id, password_hash)
    await uow.store.revoke_all_families(account_id, now)
    return await uow.store.bump_token_version(account_id)


async def change_password(cmd: commands.ChangePassword, deps: Deps) -> None:
    """Throttled like a sign-in (per account): a stolen access token must not become a way to guess
    the password. Hashing runs outside the transaction (see `sessions`)."""

    async def run() -> None:
        _check_new_password(cmd.new_password)
        async with deps.unit_of_work() as uow:
            account = await uow.store.account(cmd.account_id)
        if account is None or not account.is_active:
            raise AccountGone()
        if not await deps.throttle.attempt(account.email, None):
            raise TooManyAttempts()
        if not 0 < len(cmd.current_password) <= PASSWORD_MAX or not await deps.passwords.verify(
            account.password_hash, cmd.current_password
        ):
            raise WrongPassword()
        await deps.throttle.succeeded(account.email, None)
        password_hash = await deps.passwords.hash(cmd.new_password)
        async with deps.unit_of_work() as uow:
            stamp = await _end_every_sign_in(uow, account.id, password_hash, deps.clock())
            await uow.commit()
        await deps.token_versions.changed(account.id, stamp)

    await guarded(PasswordChangeErrorCode, run)


async def request_password_reset(cmd: commands.RequestPasswordReset, deps: Deps) -> None:
    """Answers the same (nothing) whether or not the email has an account: no enumeration. For an
    active account, a reset token is stored (its hash) with the event that delivers it."""

    async def run() -> None:
        email = normalize_email(cmd.email)
        if not plausible_email(email):
            return
        now = deps.clock()
        secret = new_refresh_secret()
        async with deps.unit_of_work() as uow:
            account = await uow.store.account_by_email(email)
            if account is None or not account.is_active:
                return
            expires_at = now + deps.reset_ttl
            await uow.store.add_reset_token(
                uuid.uuid4(), hash_refresh_token(secret), account.id, now, expires_at
            )
            uow.add_event(
                events.PasswordResetRequested(
                    aggregate_id=str(account.id),
                    occurred_at=now,
                    email=account.email,
                    token=secret,
                    expires_at=expires_at.isoformat(),
                )
            )
            await uow.commit()

    await guarded(PasswordResetRequestErrorCode, run)


async def reset_password(cmd: commands.ResetPassword, deps: Deps) -> None:
    async def run() -> None:
        _check_new_password(cmd.new_password)
        if not plausible_refresh_token(cmd.token):
            raise InvalidResetToken()
        # Hashed before the transaction; a wrong token then costs one hash, as a sign-in does.
        password_hash = await deps.passwords.hash(cmd.new_password)
        now = deps.clock()
        async with deps.unit_of_work() as uow:
            account_id = await uow.store.use_reset_token(hash_refresh_token(cmd.token), now)
            if account_id is None:
                raise InvalidResetToken()
            account = (await uow.store.lock_accounts([account_id])).get(account_id)
            if account is None or not account.is_active:
                raise InvalidResetToken()
            stamp = await _end_every_sign_in(uow, account_id, password_hash, now)
            await uow.commit()
        await deps.token_versions.changed(account_id, stamp)

    await guarded(PasswordResetErrorCode, run)
