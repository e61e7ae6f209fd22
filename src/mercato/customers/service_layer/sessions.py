"""Sign-in, refresh-token rotation and sign-out.

Password hashing runs outside any transaction: it takes tens of milliseconds of CPU (in a worker
thread) and must not hold a pooled connection meanwhile. The order of a sign-in is fixed:
throttle, then look up, then verify, so a throttled attempt costs no hashing at all.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field

from mercato.customers.domain import commands
from mercato.customers.domain.errors import (
    TokenCreateErrorCode,
    TokenRefreshErrorCode,
    TokenRevokeErrorCode,
)
from mercato.customers.domain.model import PASSWORD_MAX, Account, normalize_email, plausible_email
from mercato.customers.domain.rules import InvalidCredentials, InvalidToken, TokenReused, TooManyAttempts
from mercato.customers.domain.tokens import (
    IssuedRefreshToken,
    Verdict,
    hash_refresh_token,
    plausible_refresh_token,
)
from mercato.customers.service_layer.guard import guarded
from mercato.customers.service_layer.ports import Deps

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TokenPair:
    """What a sign-in or a refresh hands out. `expires_in` is the access token's lifetime, seconds."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_in: int
    token_type: str = "Bearer"  # noqa: S105 - the OAuth 2.0 token type, not a secret


async def _account_by_email(deps: Deps, email: str) -> Account | None:
    if not plausible_email(email):
        return None
    async with deps.unit_of_work() as uow:
        return await uow.store.account_by_email(email)


async def create_token(cmd: commands.CreateToken, deps: Deps) -> TokenPair:
    async def run() -> TokenPair:
        email = normalize_email(cmd.email)
        if not await deps.throttle.attempt(email, cmd.ip):
            raise TooManyAttempts()
        if not 0 < len(cmd.password) <= PASSWORD_MAX:
            # No account can have such a password; refusing without hashing depends on the input
            # only, so it tells nothing about which emails exist.
            raise InvalidCredentials()
        account = await _account_by_email(deps, email)
        if account is None:
            await deps.passwords.burn(cmd.password)
            raise InvalidCredentials()
        if not await deps.passwords.verify(account.password_hash, cmd.password) or not account.is_active:
            raise InvalidCredentials()
        # Parameters were raised since this hash was made: upgrade it now that the password is known.
        new_hash = (
            await deps.passwords.hash(cmd.password)
            if deps.passwords.needs_rehash(account.password_hash)
            else None
        )
        now = deps.clock()
        access_token = deps.access_tokens.issue(account, now)
        family_id = uuid.uuid4()
        token = IssuedRefreshToken.issue(family_id=family_id, parent_id=None, now=now, ttl=deps.refresh_ttl)
        async with deps.unit_of_work() as uow:
            if new_hash is not None:
                await uow.store.replace_password_hash(account.id, account.password_hash, new_hash)
            await uow.store.start_family(family_id, account.id, now)
            await uow.store.add_refresh_token(token)
            await uow.commit()
        await deps.throttle.succeeded(email, cmd.ip)
        return TokenPair(access_token, token.secret, deps.access_tokens.ttl_seconds)

    return await guarded(TokenCreateErrorCode, run)


async def refresh_token(cmd: commands.RefreshToken, deps: Deps) -> TokenPair:
    """Rotate: the presented token becomes used and its child is issued in the same family. A used
    token presented again revokes the family; that revocation commits although the call fails."""

    async def run() -> TokenPair:
        if not plausible_refresh_token(cmd.refresh_token):
            raise InvalidToken()
        now = deps.clock()
        async with deps.unit_of_work() as uow:
            # Locks the family: concurrent refreshes of one sign-in queue here, so exactly one
            # of two racing uses of the same token wins and the other is seen as a reuse.
            stored = await uow.store.lock_refresh_token(hash_refresh_token(cmd.refresh_token))
            if stored is None:
                raise InvalidToken()
            verdict = stored.verdict(now)
            if verdict is Verdict.REUSED:
                await uow.store.revoke_family(stored.family_id, now)
                await uow.commit()
                log.warning(
                    "refresh token reused: revoked family %s of account %s",
                    stored.family_id,
                    stored.account_id,
                )
                raise TokenReused()
            if verdict is Verdict.INVALID:
                raise InvalidToken()
            account = await uow.store.account(stored.account_id)
            if account is None or not account.is_active:
                raise InvalidToken()
            access_token = deps.access_tokens.issue(account, now)
            child = IssuedRefreshToken.issue(
                family_id=stored.family_id, parent_id=stored.id, now=now, ttl=deps.refresh_ttl
            )
            await uow.store.mark_used(stored.id, now)
            await uow.store.add_refresh_token(child)
            await uow.commit()
        return TokenPair(access_token, child.secret, deps.access_tokens.ttl_seconds)

    return await guarded(TokenRefreshErrorCode, run)


async def revoke_token(cmd: commands.RevokeToken, deps: Deps) -> None:
    """Revoke the token's whole family (sign-out of that sign-in). Revoking twice is fine; an
    unknown token is refused so that a client bug (sending the access token, say) shows."""

    async def run() -> None:
        if not plausible_refresh_token(cmd.refresh_token):
            raise InvalidToken()
        async with deps.unit_of_work() as uow:
            stored = await uow.store.lock_refresh_token(hash_refresh_token(cmd.refresh_token))
            if stored is None:
                raise InvalidToken()
            if stored.family_revoked_at is None:
                await uow.store.revoke_family(stored.family_id, deps.clock())
                await uow.commit()

    await guarded(TokenRevokeErrorCode, run)
