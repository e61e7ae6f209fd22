"""Refresh tokens: opaque secrets, stored only as SHA-256 hashes, rotated on every use.

Every sign-in starts a *family*; each refresh marks the presented token used and issues its child
in the same family. A token presented a second time means two parties hold it (the client and a
thief): the whole family is revoked, so the thief's copy and the client's newer one both stop
working and the user has to sign in again (OAuth 2.0 Security BCP, refresh token rotation).

Pure Python: the secret comes from `secrets`, the time is passed in.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum

REFRESH_TOKEN_BYTES = 32  # 256 bits of entropy
# token_urlsafe(32) is 43 characters; anything far longer is not ours and is refused unhashed.
REFRESH_TOKEN_MAX = 128


def new_refresh_secret() -> str:
    return secrets.token_urlsafe(REFRESH_TOKEN_BYTES)


def hash_refresh_token(token: str) -> bytes:
    """What is stored and looked up. A plain SHA-256 suffices (no salt, no slow hash): the secret
    has 256 random bits, so there is nothing to brute-force, and the lookup must be exact."""
    return hashlib.sha256(token.encode("utf-8")).digest()


def plausible_refresh_token(token: str) -> bool:
    return 0 < len(token) <= REFRESH_TOKEN_MAX


class Verdict(Enum):
    VALID = "VALID"
    REUSED = "REUSED"
    INVALID = "INVALID"  # expired, or its family revoked


@dataclass(frozen=True)
class IssuedRefreshToken:
    """A new token row; `secret` goes to the client once and is never stored."""

    id: uuid.UUID
    family_id: uuid.UUID
    parent_id: uuid.UUID | None
    token_hash: bytes = field(repr=False)
    issued_at: datetime
    expires_at: datetime
    secret: str = field(repr=False)

    @classmethod
    def issue(
        cls, *, family_id: uuid.UUID, parent_id: uuid.UUID | None, now: datetime, ttl: timedelta
    ) -> IssuedRefreshToken:
        secret = new_refresh_secret()
        return cls(
            id=uuid.uuid4(),
            family_id=family_id,
            parent_id=parent_id,
            token_hash=hash_refresh_token(secret),
            issued_at=now,
            expires_at=now + ttl,
            secret=secret,
        )


@dataclass(frozen=True)
class StoredRefreshToken:
    """A token as found by its hash, with the state of its family."""

    id: uuid.UUID
    family_id: uuid.UUID
    account_id: uuid.UUID
    expires_at: datetime
    used_at: datetime | None
    family_revoked_at: datetime | None

    def verdict(self, now: datetime) -> Verdict:
        # Revoked first: once a family is revoked every token of it is simply invalid, and a second
        # replay of a used token does not count as a new theft.
        if self.family_revoked_at is not None:
            return Verdict.INVALID
        if self.used_at is not None:
            return Verdict.REUSED
        if self.expires_at <= now:
            return Verdict.INVALID
        return Verdict.VALID


def token_stamp(token_version: int, is_active: bool) -> int:
    """The version and the active flag in one number that only grows: every change of either bumps
    the version, so a cache can keep the larger of two stamps and never go back to a stale one."""
    return token_version * 2 + (0 if is_active else 1)
