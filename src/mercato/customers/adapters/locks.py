"""Every row lock the customers context takes, in one place, so that the order is easy to check.

Lock order, for every transaction:
  1. account rows: all of a transaction's accounts in ONE statement, ordered by id
     (SetStaffPermissions locks actor and target; AddAddress locks the owner; a sign-in that
     upgrades a password hash locks its account through that UPDATE);
  2. then at most one refresh token with its family row, in one statement (rotation, reuse
     detection, revocation).
No transaction locks an account after a family, and several accounts are always taken in id order,
so transactions can only wait on each other in one direction: no deadlock. Rotations of one
sign-in all lock its family row, so they run one at a time and a token is never rotated twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mercato.customers.domain.model import Account
from mercato.customers.domain.tokens import StoredRefreshToken
from mercato.platform.auth import Permission, Role

ACCOUNT_COLUMNS = (
    "SELECT id, email, password_hash, role, permissions, is_active, created_at, token_version "
    "FROM customers.accounts "
)

LOCK_ACCOUNTS = text(ACCOUNT_COLUMNS + "WHERE id = ANY(CAST(:ids AS uuid[])) ORDER BY id FOR UPDATE")

# The token with its family's state. The token row is locked with the family: a transaction that
# waited for a concurrent rotation then reads the token as that rotation left it (used), because
# PostgreSQL re-reads the latest version of every row a FOR UPDATE waited on. Locking the family
# alone would hand back the token as it was before the wait, and let it be rotated twice.
LOCK_REFRESH_TOKEN = text(
    "SELECT t.id, t.family_id, f.account_id, t.expires_at, t.used_at, f.revoked_at "
    "FROM customers.refresh_tokens t JOIN customers.refresh_token_families f ON f.id = t.family_id "
    "WHERE t.token_hash = :token_hash FOR UPDATE OF t, f"
)


def to_account(row: Any) -> Account:
    return Account(
        id=row.id,
        email=row.email,
        password_hash=row.password_hash,
        role=Role(row.role),
        permissions=frozenset(Permission(p) for p in row.permissions),
        is_active=row.is_active,
        created_at=row.created_at,
        token_version=row.token_version,
    )


async def lock_accounts(conn: AsyncConnection, account_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Account]:
    ids = sorted(set(account_ids))
    if not ids:
        return {}
    rows = (await conn.execute(LOCK_ACCOUNTS, {"ids": ids})).all()
    return {row.id: to_account(row) for row in rows}


async def lock_refresh_token(conn: AsyncConnection, token_hash: bytes) -> StoredRefreshToken | None:
    row = (await conn.execute(LOCK_REFRESH_TOKEN, {"token_hash": token_hash})).first()
    if row is None:
        return None
    return StoredRefreshToken(
        id=row.id,
        family_id=row.family_id,
        account_id=row.account_id,
        expires_at=row.expires_at,
        used_at=row.used_at,
        family_revoked_at=row.revoked_at,
    )
