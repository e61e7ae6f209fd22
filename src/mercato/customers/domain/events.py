"""Events the customers context publishes (subjects `<ns>.customers.v1.<name>`).

Payloads never carry a password hash or a token. `account_registered` carries the email because
its consumers (welcome mail, CRM sync) need it and have no other way to get it.
"""

from __future__ import annotations

from dataclasses import dataclass
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
