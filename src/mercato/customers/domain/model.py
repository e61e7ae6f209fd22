"""Accounts: who can sign in, with which role and permissions.

Pure Python, no I/O; the current time is always passed in, never read here. Passwords reach this
module only to be checked for shape; hashing is a port of the service layer.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

from mercato.customers.domain import events
from mercato.customers.domain.rules import CannotDemoteSelf, NotAllowed
from mercato.platform.auth import ALL_PERMISSIONS, Permission, Principal, Role
from mercato.platform.errors import Problem
from mercato.platform.validation import Checks

EMAIL_MAX = 254  # RFC 5321 path limit
EMAIL_LOCAL_MAX = 64
PASSWORD_MIN = 8
PASSWORD_MAX = 128

# ASCII addresses only (internationalized domains in their punycode form): Python's and
# PostgreSQL's lower() agree on ASCII, which the case-insensitive uniqueness relies on, and it rules
# out look-alike characters in staff logins.
_EMAIL_RE = re.compile(
    r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$"
)


def normalize_email(email: str) -> str:
    """The form emails are stored, compared and throttled in: trimmed and lower-cased."""
    return email.strip().lower()


def check_email(checks: Checks, email: str) -> str:
    """Add the problems of `email` to `checks`; returns its normalized form."""
    normalized = normalize_email(email)
    if not normalized:
        checks.add("email", Problem.REQUIRED, "email is required")
    elif len(normalized) > EMAIL_MAX:
        checks.add("email", Problem.TOO_LONG, f"email is longer than {EMAIL_MAX} characters")
    elif not plausible_email(normalized):
        checks.add("email", Problem.INVALID, "email must be an address like name@example.com")
    return normalized


def plausible_email(normalized: str) -> bool:
    """Whether a normalized email has the shape every stored email has (sign-in looks up no other:
    it keeps malformed input, NUL bytes included, away from the database)."""
    return (
        len(normalized) <= EMAIL_MAX
        and _EMAIL_RE.match(normalized) is not None
        and len(normalized.split("@", 1)[0]) <= EMAIL_LOCAL_MAX
    )


def check_password(checks: Checks, password: str) -> None:
    # Length only (NIST SP 800-63B): composition rules make passwords worse, not stronger. The
    # upper bound keeps a request from feeding megabytes to the hash function.
    if not password:
        checks.add("password", Problem.REQUIRED, "password is required")
    elif len(password) < PASSWORD_MIN:
        checks.add("password", Problem.OUT_OF_RANGE, f"password must have at least {PASSWORD_MIN} characters")
    elif len(password) > PASSWORD_MAX:
        checks.add("password", Problem.TOO_LONG, f"password is longer than {PASSWORD_MAX} characters")
    else:
        checks.clean("password", password)


def check_sign_up(email: str, password: str) -> str:
    """Input checks of a new account, raised as `Problem`s; returns the normalized email."""
    checks = Checks()
    normalized = check_email(checks, email)
    check_password(checks, password)
    checks.raise_as(Problem)
    return normalized


def _values(permissions: Iterable[Permission]) -> list[str]:
    return sorted(p.value for p in permissions)


@dataclass(frozen=True)
class Account:
    id: uuid.UUID
    email: str
    password_hash: str = field(repr=False)
    role: Role = Role.CUSTOMER
    # Grants as stored. Customers hold none; an admin holds all (see `effective_permissions`).
    permissions: frozenset[Permission] = frozenset()
    is_active: bool = True
    created_at: datetime | None = None
    # Access tokens carry it; a bump (sign out everywhere, access changed, disabled, new password)
    # refuses every token issued before (see service_layer.access_tokens).
    token_version: int = 0

    @classmethod
    def open(cls, *, email: str, password_hash: str, role: Role, now: datetime) -> Account:
        """A new account; `email` is already normalized and checked (`check_sign_up`)."""
        return cls(id=uuid.uuid4(), email=email, password_hash=password_hash, role=role, created_at=now)

    @property
    def effective_permissions(self) -> frozenset[Permission]:
        return ALL_PERMISSIONS if self.role is Role.ADMIN else self.permissions

    def principal(self) -> Principal:
        return Principal(
            user_id=self.id, email=self.email, role=self.role, permissions=self.effective_permissions
        )

    def check_manages_staff(self) -> None:
        if not self.is_active or not self.principal().has(Permission.STAFF_MANAGE):
            raise NotAllowed(f"this needs the {Permission.STAFF_MANAGE.value} permission")

    def registered(self, now: datetime) -> events.AccountRegistered:
        return events.AccountRegistered(
            aggregate_id=str(self.id), occurred_at=now, email=self.email, role=self.role.value
        )

    def change_access(
        self, actor: Account, role: Role, permissions: frozenset[Permission], now: datetime
    ) -> tuple[Account, events.StaffPermissionsChanged] | None:
        """This account with `role` and `permissions`, as `actor` asks; None when nothing changes.

        `actor` is the asking account as stored (not as its token claims). Who may do what:
        - only holders of STAFF_MANAGE (every admin) change anyone's access;
        - an admin cannot take away their own admin role (someone must be left to manage staff);
        - a non-admin manager cannot grant the admin role, cannot touch an admin, and can only add
          or remove permissions they hold themselves, so managing staff never escalates privileges.
        """
        actor.check_manages_staff()
        checks = Checks()
        checks.that(
            role is not Role.CUSTOMER or not permissions,
            "permissions",
            Problem.INVALID,
            "customers hold no permissions",
        )
        checks.raise_as(Problem)
        if actor.id == self.id and self.role is Role.ADMIN and role is not Role.ADMIN:
            raise CannotDemoteSelf()
        # An admin's stored grants are irrelevant (they hold everything); keep none so that a later
        # demotion starts from a clean slate instead of from forgotten grants.
        granted = frozenset() if role is Role.ADMIN else permissions
        if actor.role is not Role.ADMIN:
            if role is Role.ADMIN:
                raise NotAllowed("only an admin can grant the admin role", field="role")
            if self.role is Role.ADMIN:
                raise NotAllowed("only an admin can change an admin's access", field="user_id")
            if not (granted ^ self.permissions) <= actor.permissions:
                raise NotAllowed("you can only grant or remove permissions you hold", field="permissions")
        if role is self.role and granted == self.permissions:
            return None
        changed = replace(self, role=role, permissions=granted)
        event = events.StaffPermissionsChanged(
            aggregate_id=str(self.id),
            occurred_at=now,
            role=role.value,
            permissions=_values(granted),
            previous_role=self.role.value,
            previous_permissions=_values(self.permissions),
            changed_by=str(actor.id),
        )
        return changed, event
