"""Customers use cases, as data. Entrypoints build one and hand it to `CustomersService.handle`.

A command an account runs on itself names it by its `principal` (who it acts for over gRPC, signed
into the call's metadata); `owner_id` / `account_id` read its id.

Commands carrying secrets (passwords, refresh tokens) keep them out of `repr`, so a command that
ends up in a log line or a traceback does not leak them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from mercato.customers.domain.addresses import AddressFields
from mercato.platform.auth import Permission, Principal, Role


@dataclass(frozen=True)
class RegisterAccount:
    """A customer signs up."""

    email: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class CreateAdmin:
    """An operator creates an admin account (the `mercato admin create` command)."""

    email: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class CreateToken:
    """Sign in: an access token and a refresh token for an email and password.

    `ip` is the caller's address, throttled on its own; None (no network peer, e.g. a CLI) skips
    the per-IP limit but never the per-account one.
    """

    email: str
    password: str = field(repr=False)
    ip: str | None = None


@dataclass(frozen=True)
class RefreshToken:
    """Exchange a refresh token for a new pair (rotation)."""

    refresh_token: str = field(repr=False)


@dataclass(frozen=True)
class RevokeToken:
    """Sign out: revoke the refresh token and every token of its sign-in (its family)."""

    refresh_token: str = field(repr=False)


@dataclass(frozen=True)
class SetStaffPermissions:
    """Change an account's role and permission grants. `actor` is who asks (checked against the
    database, not only against the claims of their access token)."""

    actor: Principal
    user_id: uuid.UUID
    role: Role
    permissions: frozenset[Permission]

    @classmethod
    def of(
        cls, actor: Principal, user_id: uuid.UUID, role: Role, permissions: Iterable[Permission]
    ) -> SetStaffPermissions:
        return cls(actor=actor, user_id=user_id, role=role, permissions=frozenset(permissions))


@dataclass(frozen=True)
class AddAddress:
    principal: Principal  # the owner, acting for themselves
    fields: AddressFields

    @property
    def owner_id(self) -> uuid.UUID:
        return self.principal.user_id


@dataclass(frozen=True)
class UpdateAddress:
    """Replace every field of one of the owner's addresses."""

    principal: Principal  # the owner
    address_id: uuid.UUID
    fields: AddressFields

    @property
    def owner_id(self) -> uuid.UUID:
        return self.principal.user_id


@dataclass(frozen=True)
class DeleteAddress:
    principal: Principal  # the owner
    address_id: uuid.UUID

    @property
    def owner_id(self) -> uuid.UUID:
        return self.principal.user_id


@dataclass(frozen=True)
class RevokeAllTokens:
    """Sign out everywhere: every sign-in of the account, and every access token issued so far."""

    principal: Principal  # the account's own

    @property
    def account_id(self) -> uuid.UUID:
        return self.principal.user_id


@dataclass(frozen=True)
class SetAccountActive:
    """Staff disable (or enable again) an account. `actor` is checked against the database."""

    actor: Principal
    user_id: uuid.UUID
    active: bool


@dataclass(frozen=True)
class ChangePassword:
    """A signed-in account changes its password; it must know the current one."""

    principal: Principal  # the account's own
    current_password: str = field(repr=False)
    new_password: str = field(repr=False)

    @property
    def account_id(self) -> uuid.UUID:
        return self.principal.user_id


@dataclass(frozen=True)
class RequestPasswordReset:
    """Someone asks for a reset link for an email: answered the same whether it has an account."""

    email: str


@dataclass(frozen=True)
class ResetPassword:
    """Set a new password with a reset token (single use)."""

    token: str = field(repr=False)
    new_password: str = field(repr=False)
