"""Read side: plain SELECTs, no unit of work, no locks; each function runs exactly one statement.

Views never carry a password hash or a token hash: the SELECTs do not even read those columns.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text

from mercato.customers.domain.addresses import Address
from mercato.customers.domain.model import Account
from mercato.customers.domain.tokens import token_stamp
from mercato.platform.auth import ALL_PERMISSIONS, Permission, Role
from mercato.platform.db import Database
from mercato.platform.sql import Sql


@dataclass(frozen=True)
class AccountView:
    id: uuid.UUID
    email: str
    role: Role
    # What the account may do: every permission for an admin, the grants otherwise.
    permissions: frozenset[Permission]
    is_active: bool
    created_at: datetime

    @classmethod
    def of(cls, account: Account) -> AccountView:
        """An account as callers may see it: no password hash."""
        assert account.created_at is not None
        return account_view(
            account.id,
            account.email,
            account.role,
            account.permissions,
            account.is_active,
            account.created_at,
        )


@dataclass(frozen=True)
class AddressView:
    id: uuid.UUID
    first_name: str
    last_name: str
    line1: str
    line2: str
    city: str
    postal_code: str
    country: str
    phone: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, address: Address) -> AddressView:
        fields = address.fields
        return cls(
            id=address.id,
            first_name=fields.first_name,
            last_name=fields.last_name,
            line1=fields.line1,
            line2=fields.line2,
            city=fields.city,
            postal_code=fields.postal_code,
            country=fields.country,
            phone=fields.phone,
            created_at=address.created_at,
            updated_at=address.updated_at,
        )


_ACCOUNT = text(
    "SELECT id, email, role, permissions, is_active, created_at FROM customers.accounts WHERE id = :id"
)
# Read on every authenticated request whose stamp is not cached: straight to asyncpg, a statement on
# its own (`platform.sql`: no BEGIN/ROLLBACK around it).
_TOKEN_STAMP = Sql("SELECT token_version, is_active FROM customers.accounts WHERE id = :id")
_ADDRESSES = text(
    "SELECT id, first_name, last_name, line1, line2, city, postal_code, country, phone, created_at, "
    "updated_at FROM customers.addresses WHERE account_id = :owner ORDER BY created_at, id"
)


def account_view(
    account_id: uuid.UUID,
    email: str,
    role: Role,
    permissions: frozenset[Permission],
    is_active: bool,
    created_at: datetime,
) -> AccountView:
    return AccountView(
        id=account_id,
        email=email,
        role=role,
        permissions=ALL_PERMISSIONS if role is Role.ADMIN else permissions,
        is_active=is_active,
        created_at=created_at,
    )


def _address(row: Any) -> AddressView:
    return AddressView(
        id=row.id,
        first_name=row.first_name,
        last_name=row.last_name,
        line1=row.line1,
        line2=row.line2,
        city=row.city,
        postal_code=row.postal_code,
        country=row.country,
        phone=row.phone,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class CustomersQueries:
    """The query functions bound to one database (what `CustomersService.queries` is)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def account(self, account_id: uuid.UUID) -> AccountView | None:
        async with self.db.connect() as conn:
            row = (await conn.execute(_ACCOUNT, {"id": account_id})).first()
        if row is None:
            return None
        return account_view(
            row.id,
            row.email,
            Role(row.role),
            frozenset(Permission(p) for p in row.permissions),
            row.is_active,
            row.created_at,
        )

    async def token_stamp(self, account_id: uuid.UUID) -> int | None:
        """The account's token stamp (`token_stamp`), None when there is no such account."""
        row = await _TOKEN_STAMP.read_first(self.db, {"id": account_id})
        return None if row is None else token_stamp(row["token_version"], row["is_active"])

    async def addresses(self, account_id: uuid.UUID) -> list[AddressView]:
        """The account's address book, oldest first."""
        async with self.db.connect() as conn:
            rows = (await conn.execute(_ADDRESSES, {"owner": account_id})).all()
        return [_address(r) for r in rows]
