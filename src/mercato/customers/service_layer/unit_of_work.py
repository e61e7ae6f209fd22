"""The customers' unit of work: one transaction and its store.

The store (`adapters.repository.CustomersRepository`) is handed in as a factory, so this layer
depends on the `CustomersStore` port only.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from mercato.customers.domain.addresses import Address, AddressFields
from mercato.customers.domain.model import Account
from mercato.customers.domain.tokens import IssuedRefreshToken, StoredRefreshToken
from mercato.platform.unit_of_work import StoreUnitOfWork

Clock = Callable[[], datetime]


class CustomersStore(Protocol):
    """What the use cases need of storage. Locks follow `adapters.locks` (account, then family)."""

    async def add_account(self, account: Account) -> None: ...
    async def account(self, account_id: uuid.UUID) -> Account | None: ...
    async def account_by_email(self, email: str) -> Account | None: ...
    async def lock_accounts(self, account_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Account]: ...
    async def save_access(self, account: Account) -> int: ...
    async def bump_token_version(self, account_id: uuid.UUID, *, is_active: bool | None = None) -> int: ...
    async def replace_password_hash(self, account_id: uuid.UUID, old: str, new: str) -> None: ...
    async def set_password_hash(self, account_id: uuid.UUID, password_hash: str) -> None: ...

    async def start_family(self, family_id: uuid.UUID, account_id: uuid.UUID, now: datetime) -> None: ...
    async def add_refresh_token(self, token: IssuedRefreshToken) -> None: ...
    async def lock_refresh_token(self, token_hash: bytes) -> StoredRefreshToken | None: ...
    async def mark_used(self, token_id: uuid.UUID, now: datetime) -> None: ...
    async def revoke_family(self, family_id: uuid.UUID, now: datetime) -> None: ...
    async def revoke_all_families(self, account_id: uuid.UUID, now: datetime) -> None: ...

    async def add_reset_token(
        self,
        token_id: uuid.UUID,
        token_hash: bytes,
        account_id: uuid.UUID,
        now: datetime,
        expires_at: datetime,
    ) -> None: ...
    async def use_reset_token(self, token_hash: bytes, now: datetime) -> uuid.UUID | None:
        """Spend a valid (unused, unexpired) reset token; its account, or None."""
        ...

    async def count_addresses(self, account_id: uuid.UUID) -> int: ...
    async def add_address(self, address: Address) -> None: ...
    async def update_address(
        self, owner_id: uuid.UUID, address_id: uuid.UUID, fields: AddressFields, now: datetime
    ) -> Address | None: ...
    async def delete_address(self, owner_id: uuid.UUID, address_id: uuid.UUID) -> bool: ...


StoreFactory = Callable[[AsyncConnection], CustomersStore]


class CustomersUnitOfWork(StoreUnitOfWork[CustomersStore]):
    """One transaction; the store is built on its connection."""
