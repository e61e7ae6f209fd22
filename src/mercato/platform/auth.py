"""Who is calling: the principal every entrypoint resolves, and the permissions it may hold.

Identity is established by the customers context (tokens); every other context only checks a
`Principal` against a permission, so no context needs to know how login works.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import Enum

from mercato.platform.errors import MercatoError, PermissionDenied


class Role(Enum):
    CUSTOMER = "CUSTOMER"
    STAFF = "STAFF"
    ADMIN = "ADMIN"


class Permission(Enum):
    CATALOG_WRITE = "catalog:write"
    INVENTORY_READ = "inventory:read"
    INVENTORY_WRITE = "inventory:write"
    ORDERS_MANAGE = "orders:manage"
    PAYMENTS_REFUND = "payments:refund"
    STAFF_MANAGE = "staff:manage"
    # Disable and enable customer (and staff) accounts.
    CUSTOMERS_MANAGE = "customers:manage"


# An admin holds every permission; staff hold what an admin grants them; customers hold none.
ALL_PERMISSIONS = frozenset(Permission)


class Unauthenticated(MercatoError):
    """No valid credentials were presented for something that needs them."""

    graphql_code = "UNAUTHENTICATED"
    grpc_status = "UNAUTHENTICATED"


@dataclass(frozen=True)
class Principal:
    user_id: uuid.UUID
    email: str
    role: Role
    permissions: frozenset[Permission] = field(default_factory=frozenset)

    def has(self, permission: Permission) -> bool:
        return self.role is Role.ADMIN or permission in self.permissions


def require_permission(principal: Principal | None, permission: Permission) -> Principal:
    """The principal, if it holds `permission`; else a typed UNAUTHENTICATED / PERMISSION_DENIED."""
    if principal is None:
        raise Unauthenticated("sign in first: this needs an access token")
    if not principal.has(permission):
        raise PermissionDenied(f"this needs the {permission.value} permission")
    return principal


def require_principal(principal: Principal | None) -> Principal:
    if principal is None:
        raise Unauthenticated("sign in first: this needs an access token")
    return principal
