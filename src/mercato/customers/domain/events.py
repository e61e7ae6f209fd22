"""Events the customers context publishes (subjects `<ns>.customers.v1.<name>`).

Payloads never carry a password hash or a token. `account_registered` carries the email because
its consumers (welcome mail, CRM sync) need it and have no other way to get it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from mercato.platform.events import DomainEvent


@dataclass(frozen=True, kw_only=True)
class CustomersEvent(DomainEvent):
    context: ClassVar[str] = "customers"


@dataclass(frozen=True, kw_only=True)
class AccountRegistered(CustomersEvent):
    """aggregate_id: the account id. `role` is CUSTOMER for sign-ups, ADMIN for `mercato admin create`."""

    name: ClassVar[str] = "account_registered"
    email: str
    role: str


@dataclass(frozen=True, kw_only=True)
class StaffPermissionsChanged(CustomersEvent):
    """aggregate_id: the account whose access changed; `changed_by` the account that changed it.

    Permissions are the stored grants (sorted values, e.g. "catalog:write"); an ADMIN holds every
    permission whatever is listed.
    """

    name: ClassVar[str] = "staff_permissions_changed"
    role: str
    permissions: list[str]
    previous_role: str
    previous_permissions: list[str]
    changed_by: str


@dataclass(frozen=True, kw_only=True)
class PasswordResetRequested(CustomersEvent):
    """aggregate_id: the account. For the email sender: mail `token` to `email` (e.g. as a link to
    the shop's reset page, which calls `passwordReset`). The one event that carries a secret: it is
    single-use, expires at `expires_at`, and only its SHA-256 is stored; consumers must not log it."""

    name: ClassVar[str] = "password_reset_requested"
    email: str
    token: str = field(repr=False)
    expires_at: str  # ISO 8601, UTC


@dataclass(frozen=True, kw_only=True)
class AccountActiveChanged(CustomersEvent):
    """aggregate_id: the account disabled (is_active false) or enabled again; `changed_by` who did it."""

    name: ClassVar[str] = "account_active_changed"
    is_active: bool
    changed_by: str
