"""Access tokens: short-lived JWTs (HS256, `settings.auth_secret`) that every entrypoint verifies
without a database round trip.

Claims: sub (account id), email, role, perms (sorted permission values), ver (the account's token
version), iat, exp, jti, typ="access". The signature check needs no I/O; on its own it would leave a
token valid until `exp` after a revocation or demotion. So `CustomersService.authenticate` also
compares `ver` with the account's current version (`adapters.token_versions`, cached for a few
seconds): signing out everywhere, a change of access, disabling and a new password bump the version
and refuse every older token within that cache's TTL. Refresh re-reads the account, so a new access
token always carries the current role, permissions and version.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import jwt

from mercato.customers.domain.model import Account
from mercato.platform.auth import Permission, Principal, Role, Unauthenticated
from mercato.platform.config import Settings

ALGORITHM = "HS256"
ACCESS = "access"
_REQUIRED_CLAIMS = ["sub", "email", "role", "perms", "ver", "iat", "exp", "jti", "typ"]
# A JWT of ours is a few hundred bytes; refuse oversized input before any parsing.
_TOKEN_MAX = 4_096


def _secret(settings: Settings) -> str:
    if settings.auth_secret is None:
        # No fallback key: tokens signed with a guessable key would be forgeable by anyone.
        raise RuntimeError("MERCATO_AUTH_SECRET is not set: access tokens cannot be issued")
    return settings.auth_secret


def issue_access_token(account: Account, settings: Settings, now: datetime) -> str:
    issued = int(now.timestamp())
    claims: dict[str, Any] = {
        "sub": str(account.id),
        "email": account.email,
        "role": account.role.value,
        "perms": sorted(p.value for p in account.effective_permissions),
        "ver": account.token_version,
        "iat": issued,
        "exp": issued + settings.access_token_ttl_seconds,
        "jti": uuid.uuid4().hex,
        "typ": ACCESS,
    }
    return jwt.encode(claims, _secret(settings), algorithm=ALGORITHM)


def verify_access_token(token: str, settings: Settings, *, now: datetime | None = None) -> Principal:
    """The principal an access token names, or `Unauthenticated` (bad signature, expired, malformed,
    not an access token, or no secret configured). The token version is not checked here.

    `now` is the caller's clock; when None, PyJWT checks `exp` against the wall clock itself.
    """
    return verify_versioned(token, settings, now=now)[0]


def verify_versioned(token: str, settings: Settings, *, now: datetime | None = None) -> tuple[Principal, int]:
    """`verify_access_token`, with the token version the token was issued under."""
    if settings.auth_secret is None or not token or len(token) > _TOKEN_MAX:
        raise Unauthenticated("invalid access token")
    try:
        claims = jwt.decode(
            token,
            settings.auth_secret,
            # Pinning the algorithm is what stops `alg: none` and algorithm-confusion forgeries.
            algorithms=[ALGORITHM],
            options={
                "require": _REQUIRED_CLAIMS,
                "verify_exp": now is None,
                "verify_iat": False,
                "verify_nbf": now is None,
            },
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("access token expired; refresh it") from None
    except jwt.PyJWTError:
        raise Unauthenticated("invalid access token") from None
    exp = claims["exp"]
    if not isinstance(exp, int) or isinstance(exp, bool):
        raise Unauthenticated("invalid access token")
    # RFC 7519: the token must not be accepted on or after `exp`.
    if now is not None and now.timestamp() >= exp:
        raise Unauthenticated("access token expired; refresh it")
    version = claims["ver"]
    if claims["typ"] != ACCESS or not isinstance(version, int) or isinstance(version, bool):
        raise Unauthenticated("invalid access token")
    return _principal(claims), version


def _principal(claims: dict[str, Any]) -> Principal:
    try:
        perms = claims["perms"]
        if not isinstance(perms, list) or not isinstance(claims["email"], str):
            raise TypeError("malformed claims")
        return Principal(
            user_id=uuid.UUID(str(claims["sub"])),
            email=claims["email"],
            role=Role(claims["role"]),
            permissions=frozenset(Permission(p) for p in perms),
        )
    except (TypeError, ValueError):
        raise Unauthenticated("invalid access token") from None


class AccessTokens:
    """Issues and verifies access tokens with one process's settings and clock."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def ttl_seconds(self) -> int:
        return self.settings.access_token_ttl_seconds

    def issue(self, account: Account, now: datetime) -> str:
        return issue_access_token(account, self.settings, now)

    def verify(self, token: str, now: datetime) -> tuple[Principal, int]:
        return verify_versioned(token, self.settings, now=now)
