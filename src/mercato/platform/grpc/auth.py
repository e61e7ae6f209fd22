"""Service-to-service identity over gRPC metadata.

Every call carries `authorization: Bearer <service token>`: an HS256 JWT signed with the shared
`auth_secret`, `typ="service"`, `sub` = the calling service, `aud` = the gRPC service called (e.g.
`mercato.catalog.v1.CatalogService`), valid for a minute. The end user the call is made for (if any)
travels beside it as `x-mercato-principal`, signed the same way but with `typ="principal"`, so neither
token can stand in for the other nor for a customer access token, and neither can be replayed against
another service than the one it was made for.
The server verifies both and exposes the principal through `current_principal`; a server that calls
another service passes the same principal on without doing anything.
"""

from __future__ import annotations

import time
import uuid
from contextvars import ContextVar
from typing import Any

import jwt

from mercato.platform.auth import Permission, Principal, Role, Unauthenticated

ALGORITHM = "HS256"
SERVICE = "service"
PRINCIPAL = "principal"
AUTHORIZATION_KEY = "authorization"
PRINCIPAL_KEY = "x-mercato-principal"
# Short: a leaked token is useless after a minute, and callers mint a fresh one per call anyway.
DEFAULT_TTL_SECONDS = 60
_TOKEN_MAX = 8_192

# The end user the current request is made for; set by the server interceptor, read by servicers and
# by outgoing calls (the gateway sets it before calling a context).
current_principal: ContextVar[Principal | None] = ContextVar("mercato_grpc_principal", default=None)
# The service that made the current request (the verified `sub` of its service token).
current_caller: ContextVar[str | None] = ContextVar("mercato_grpc_caller", default=None)


def _sign(claims: dict[str, Any], secret: str, ttl_seconds: int) -> str:
    issued = int(time.time())
    return jwt.encode(
        {**claims, "iat": issued, "exp": issued + ttl_seconds, "jti": uuid.uuid4().hex},
        secret,
        algorithm=ALGORITHM,
    )


def _verify(token: str, secret: str, typ: str, audience: str) -> dict[str, Any]:
    if not token or len(token) > _TOKEN_MAX:
        raise Unauthenticated(f"invalid {typ} token")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            secret,
            # Pinning the algorithm is what stops `alg: none` and algorithm-confusion forgeries.
            algorithms=[ALGORITHM],
            audience=audience,
            options={"require": ["sub", "exp", "iat", "typ", "aud"]},
        )
    except jwt.PyJWTError:
        raise Unauthenticated(f"invalid {typ} token") from None
    if claims.get("typ") != typ:
        raise Unauthenticated(f"invalid {typ} token")
    return claims


def issue_service_token(
    service: str, secret: str, *, audience: str, ttl_seconds: int = DEFAULT_TTL_SECONDS
) -> str:
    return _sign({"sub": service, "typ": SERVICE, "aud": audience}, secret, ttl_seconds)


def verify_service_token(token: str, secret: str, *, audience: str) -> str:
    """The calling service's name, or `Unauthenticated` (also when the token was made for another
    service than `audience`)."""
    sub = _verify(token, secret, SERVICE, audience)["sub"]
    if not isinstance(sub, str) or not sub:
        raise Unauthenticated("invalid service token")
    return sub


def issue_principal_token(
    principal: Principal, secret: str, *, audience: str, ttl_seconds: int = DEFAULT_TTL_SECONDS
) -> str:
    return _sign(
        {
            "sub": str(principal.user_id),
            "email": principal.email,
            "role": principal.role.value,
            "perms": sorted(p.value for p in principal.permissions),
            "typ": PRINCIPAL,
            "aud": audience,
        },
        secret,
        ttl_seconds,
    )


def verify_principal_token(token: str, secret: str, *, audience: str) -> Principal:
    claims = _verify(token, secret, PRINCIPAL, audience)
    try:
        return Principal(
            user_id=uuid.UUID(claims["sub"]),
            email=str(claims["email"]),
            role=Role(claims["role"]),
            permissions=frozenset(Permission(p) for p in claims["perms"]),
        )
    except (KeyError, TypeError, ValueError):
        raise Unauthenticated("invalid principal token") from None


def bearer(metadata: dict[str, str]) -> str:
    value = metadata.get(AUTHORIZATION_KEY, "")
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def audience_of(method_path: str) -> str:
    """The gRPC service a call path (`/package.Service/Method`) is for: the tokens' audience."""
    return method_path.lstrip("/").rpartition("/")[0]


def outgoing_metadata(service: str, secret: str, *, audience: str) -> tuple[tuple[str, str], ...]:
    """Metadata for one outgoing call to the gRPC service `audience`: a fresh service token, and the
    current principal if any."""
    metadata = [(AUTHORIZATION_KEY, f"Bearer {issue_service_token(service, secret, audience=audience)}")]
    principal = current_principal.get()
    if principal is not None:
        metadata.append((PRINCIPAL_KEY, issue_principal_token(principal, secret, audience=audience)))
    return tuple(metadata)
