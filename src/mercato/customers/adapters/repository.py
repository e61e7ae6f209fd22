"""Loads and saves customers data on the unit of work's connection, one statement per method.

Implements `service_layer.unit_of_work.CustomersStore`. Row locks are taken through `locks`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from mercato.customers.adapters import locks
from mercato.customers.adapters.tables import accounts, addresses, refresh_token_families, refresh_tokens
from mercato.customers.domain.addresses import Address, AddressFields
from mercato.customers.domain.model import Account
from mercato.customers.domain.tokens import IssuedRefreshToken, StoredRefreshToken

_ACCOUNT_COLUMNS = (
    accounts.c.id,
    accounts.c.email,
    accounts.c.password_hash,
    accounts.c.role,
    accounts.c.permissions,
    accounts.c.is_active,
    accounts.c.created_at,
)


def _permission_values(account: Account) -> list[str]:
    return sorted(p.value for p in account.permissions)


def _address_values(fields: AddressFields) -> dict[str, str]:
    return {
        "first_name": fields.first_name,
        "last_name": fields.last_name,
        "line1": fields.line1,
        "line2": fields.line2,
        "city": fields.city,
        "postal_code": fields.postal_code,
        "country": fields.country,
        "phone": fields.phone,
    }


class CustomersRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    # -- accounts -----------------------------------------------------------------------------

    async def add_account(self, account: Account) -> None:
        await self.conn.execute(
            insert(accounts).values(
                id=account.id,
                email=account.email,
                password_hash=account.password_hash,
                role=account.role.value,
                permissions=_permission_values(account),
                is_active=account.is_active,
                created_at=account.created_at,
                updated_at=account.created_at,
            )
        )

    async def account(self, account_id: uuid.UUID) -> Account | None:
        row = (await self.conn.execute(select(*_ACCOUNT_COLUMNS).where(accounts.c.id == account_id))).first()
        return locks.to_account(row) if row is not None else None

    async def account_by_email(self, email: str) -> Account | None:
        row = (await self.conn.execute(select(*_ACCOUNT_COLUMNS).where(accounts.c.email == email))).first()
        return locks.to_account(row) if row is not None else None

    async def lock_accounts(self, account_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Account]:
        return await locks.lock_accounts(self.conn, account_ids)

    async def save_access(self, account: Account) -> None:
        await self.conn.execute(
            update(accounts)
            .where(accounts.c.id == account.id)
            .values(role=account.role.value, permissions=_permission_values(account), updated_at=func.now())
        )

    async def replace_password_hash(self, account_id: uuid.UUID, old: str, new: str) -> None:
        """Only if the hash is still `old`: a password changed meanwhile must not be overwritten."""
        await self.conn.execute(
            update(accounts)
            .where(accounts.c.id == account_id, accounts.c.password_hash == old)
            .values(password_hash=new, updated_at=func.now())
        )

    # -- refresh tokens -----------------------------------------------------------------------

    async def start_family(self, family_id: uuid.UUID, account_id: uuid.UUID, now: datetime) -> None:
        await self.conn.execute(
            insert(refresh_token_families).values(id=family_id, account_id=account_id, created_at=now)
        )

    async def add_refresh_token(self, token: IssuedRefreshToken) -> None:
        await self.conn.execute(
            insert(refresh_tokens).values(
                id=token.id,
                token_hash=token.token_hash,
                family_id=token.family_id,
                parent_id=token.parent_id,
                issued_at=token.issued_at,
                expires_at=token.expires_at,
            )
        )

    async def lock_refresh_token(self, token_hash: bytes) -> StoredRefreshToken | None:
        return await locks.lock_refresh_token(self.conn, token_hash)

    async def mark_used(self, token_id: uuid.UUID, now: datetime) -> None:
        await self.conn.execute(
            update(refresh_tokens).where(refresh_tokens.c.id == token_id).values(used_at=now)
        )

    async def revoke_family(self, family_id: uuid.UUID, now: datetime) -> None:
        await self.conn.execute(
            update(refresh_token_families)
            .where(refresh_token_families.c.id == family_id, refresh_token_families.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    # -- addresses ----------------------------------------------------------------------------

    async def count_addresses(self, account_id: uuid.UUID) -> int:
        found = await self.conn.execute(
            select(func.count()).select_from(addresses).where(addresses.c.account_id == account_id)
        )
        return int(found.scalar_one())

    async def add_address(self, address: Address) -> None:
        await self.conn.execute(
            insert(addresses).values(
                id=address.id,
                account_id=address.account_id,
                created_at=address.created_at,
                updated_at=address.updated_at,
                **_address_values(address.fields),
            )
        )

    async def update_address(
        self, owner_id: uuid.UUID, address_id: uuid.UUID, fields: AddressFields, now: datetime
    ) -> Address | None:
        row = (
            await self.conn.execute(
                update(addresses)
                .where(addresses.c.id == address_id, addresses.c.account_id == owner_id)
                .values(updated_at=now, **_address_values(fields))
                .returning(addresses.c.created_at)
            )
        ).first()
        if row is None:
            return None
        return Address(
            id=address_id, account_id=owner_id, fields=fields, created_at=row.created_at, updated_at=now
        )

    async def delete_address(self, owner_id: uuid.UUID, address_id: uuid.UUID) -> bool:
        result = await self.conn.execute(
            delete(addresses).where(addresses.c.id == address_id, addresses.c.account_id == owner_id)
        )
        return bool(result.rowcount)
