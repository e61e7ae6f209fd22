"""Loads and saves customers data on the unit of work's connection, one statement per method.

Implements `service_layer.unit_of_work.CustomersStore`. Row locks are taken through `locks`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from mercato.customers.adapters import locks
from mercato.customers.adapters.tables import (
    accounts,
    addresses,
    password_reset_tokens,
    refresh_token_families,
    refresh_tokens,
)
from mercato.customers.domain.addresses import Address, AddressFields
from mercato.customers.domain.model import Account
from mercato.customers.domain.tokens import IssuedRefreshToken, StoredRefreshToken, token_stamp

_ACCOUNT_COLUMNS = (
    accounts.c.id,
    accounts.c.email,
    accounts.c.password_hash,
    accounts.c.role,
    accounts.c.permissions,
    accounts.c.is_active,
    accounts.c.created_at,
    accounts.c.token_version,
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

    async def save_access(self, account: Account) -> int:
        """Save role and grants, bumping the token version (tokens with the old access are refused);
        returns the new token stamp."""
        row = (
            await self.conn.execute(
                update(accounts)
                .where(accounts.c.id == account.id)
                .values(
                    role=account.role.value,
                    permissions=_permission_values(account),
                    token_version=accounts.c.token_version + 1,
                    updated_at=func.now(),
                )
                .returning(accounts.c.token_version, accounts.c.is_active)
            )
        ).one()
        return token_stamp(row.token_version, row.is_active)

    async def bump_token_version(self, account_id: uuid.UUID, *, is_active: bool | None = None) -> int:
        """Refuse every access token issued so far (optionally setting the active flag); returns the
        new token stamp."""
        values: dict[str, Any] = {"token_version": accounts.c.token_version + 1, "updated_at": func.now()}
        if is_active is not None:
            values["is_active"] = is_active
        row = (
            await self.conn.execute(
                update(accounts)
                .where(accounts.c.id == account_id)
                .values(**values)
                .returning(accounts.c.token_version, accounts.c.is_active)
            )
        ).one()
        return token_stamp(row.token_version, row.is_active)

    async def replace_password_hash(self, account_id: uuid.UUID, old: str, new: str) -> None:
        """Only if the hash is still `old`: a password changed meanwhile must not be overwritten."""
        await self.conn.execute(
            update(accounts)
            .where(accounts.c.id == account_id, accounts.c.password_hash == old)
            .values(password_hash=new, updated_at=func.now())
        )

    async def set_password_hash(self, account_id: uuid.UUID, password_hash: str) -> None:
        await self.conn.execute(
            update(accounts)
            .where(accounts.c.id == account_id)
            .values(password_hash=password_hash, updated_at=func.now())
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

    async def revoke_all_families(self, account_id: uuid.UUID, now: datetime) -> None:
        await self.conn.execute(
            update(refresh_token_families)
            .where(
                refresh_token_families.c.account_id == account_id,
                refresh_token_families.c.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        )

    async def revoke_family(self, family_id: uuid.UUID, now: datetime) -> None:
        await self.conn.execute(
            update(refresh_token_families)
            .where(refresh_token_families.c.id == family_id, refresh_token_families.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    # -- password reset tokens ----------------------------------------------------------------

    async def add_reset_token(
        self,
        token_id: uuid.UUID,
        token_hash: bytes,
        account_id: uuid.UUID,
        now: datetime,
        expires_at: datetime,
    ) -> None:
        await self.conn.execute(
            insert(password_reset_tokens).values(
                id=token_id,
                token_hash=token_hash,
                account_id=account_id,
                created_at=now,
                expires_at=expires_at,
            )
        )

    async def use_reset_token(self, token_hash: bytes, now: datetime) -> uuid.UUID | None:
        # One conditional UPDATE: of two concurrent uses of one token exactly one matches the row.
        row = (
            await self.conn.execute(
                update(password_reset_tokens)
                .where(
                    password_reset_tokens.c.token_hash == token_hash,
                    password_reset_tokens.c.used_at.is_(None),
                    password_reset_tokens.c.expires_at > now,
                )
                .values(used_at=now)
                .returning(password_reset_tokens.c.account_id)
            )
        ).first()
        return None if row is None else row.account_id

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
