"""Service-to-service identity over gRPC metadata.

Every call carries `authorization: Bearer <service token>`: an HS256 JWT signed with the shared
`auth_secret`, `typ="service"`, `sub` = the calling service, `aud` = the gRPC service called (e.g.
`mercato.catalog.v1.CatalogService`), valid for a minute. The end user the call is made for (if any)
travels beside it as `x-mercato-principal`, signed the same way but with `typ="principal"`, so neither
token can stand in for the other nor for a customer access token, and neither can be replayed against
another service than the one it was made for.
The server verifies both and exposes the principal through `current_principal`; a server that calls
another service passes the same principal on without doing anything.

A caller does not sign per call: `OutgoingTokens` reuses each token while more than half its life is
left (see there why that is safe).
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

import jwt

from mercato.platform.auth import Permission, Principal, Role, Unauthenticated

ALGORITHM = "HS256"
SERVICE = "service"
PRINCIPAL = "principal"
AUTHORIZATION_KEY = "authorization"
PRINCIPAL_KEY = "x-mercato-principal"
# Short: a leaked token is useless after a minute; callers renew theirs every half minute.
DEFAULT_TTL_SECONDS = 60
_TOKEN_MAX = 8_192

# The end user the current request is made for; set by the server interceptor, read by servicers and
# by outgoing calls (the gateway sets it before calling a context).
current_principal: ContextVar[Principal | None] = ContextVar("mercato_grpc_principal", default=None)
# The service that made the current request (the verified `sub` of its service token).
current_caller: ContextVar[str | None] = ContextVar("mercato_grpc_caller", default=None)


def _sign(claims: dict[str, Any], secret: str, ttl_seconds: int, now: float | None = None) -> str:
    issued = int(time.time() if now is None else now)
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
    service: str,
    secret: str,
    *,
    audience: str,
    ttl_seconds: int = DEFAULT_TTL_SECONDS,
    now: float | None = None,
) -> str:
    return _sign({"sub": service, "typ": SERVICE, "aud": audience}, secret, ttl_seconds, now)


def verify_service_token(token: str, secret: str, *, audience: str) -> str:
    """The calling service's name, or `Unauthenticated` (also when the token was made for another
    service than `audience`)."""
    sub = _verify(token, secret, SERVICE, audience)["sub"]
    if not isinstance(sub, str) or not sub:
        raise Unauthenticated("invalid service token")
    return sub


def issue_principal_token(
    principal: Principal,
    secret: str,
    *,
    audience: str,
    ttl_seconds: int = DEFAULT_TTL_SECONDS,
    now: float | None = None,
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
        now,
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
    current principal if any. (Callers on a hot path use `OutgoingTokens`, which reuses them.)"""
    metadata = [(AUTHORIZATION_KEY, f"Bearer {issue_service_token(service, secret, audience=audience)}")]
    principal = current_principal.get()
    if principal is not None:
        metadata.append((PRINCIPAL_KEY, issue_principal_token(principal, secret, audience=audience)))
    return tuple(metadata)


class OutgoingTokens:
    """The tokens of one calling service's outgoing calls, each signed once and reused while more than
    half its life is left, instead of signed per call (a JWT signature, JSON and base64 on every call).

    Reuse is safe, and verification does not change, for three reasons. A reused token is the one a
    fresh signature would make, except for `iat`/`exp`/`jti`, and nothing checks `jti` for replays.
    Each token keeps at least half of its minute, far more than any call's deadline. A principal token
    is keyed by the whole principal (id, email, role and permissions) and the audience, so a change
    of role or permissions means a new token at once. The principal tokens are a bounded LRU:
    `max_principals` recent users per process.
    """

    def __init__(
        self,
        service: str,
        secret: str,
        *,
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
        max_principals: int = 1_024,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.service = service
        self._secret = secret
        self._ttl = ttl_seconds
        self._max_principals = max_principals
        self._clock = clock
        # audience -> (token, when to sign a new one); one entry per service this one calls.
        self._service: dict[str, tuple[str, float]] = {}
        self._principals: OrderedDict[tuple[Principal, str], tuple[str, float]] = OrderedDict()

    def service_token(self, audience: str) -> str:
        now = self._clock()
        cached = self._service.get(audience)
        if cached is not None and now < cached[1]:
            return cached[0]
        token = issue_service_token(
            self.service, self._secret, audience=audience, ttl_seconds=self._ttl, now=now
        )
        self._service[audience] = (token, self._renew_at(now))
        return token

    def principal_token(self, principal: Principal, audience: str) -> str:
        now, key = self._clock(), (principal, audience)
        cached = self._principals.get(key)
        if cached is not None and now < cached[1]:
            self._principals.move_to_end(key)
            return cached[0]
        token = issue_principal_token(
            principal, self._secret, audience=audience, ttl_seconds=self._ttl, now=now
        )
        self._principals[key] = (token, self._renew_at(now))
        self._principals.move_to_end(key)
        while len(self._principals) > self._max_principals:
            self._principals.popitem(last=False)
        return token

    def metadata(self, audience: str) -> tuple[tuple[str, str], ...]:
        """Metadata for one outgoing call to `audience`: the service token, and the current principal's
        if any."""
        metadata = [(AUTHORIZATION_KEY, f"Bearer {self.service_token(audience)}")]
        principal = current_principal.get()
        if principal is not None:
            metadata.append((PRINCIPAL_KEY, self.principal_token(principal, audience)))
        return tuple(metadata)

    def _renew_at(self, now: float) -> float:
        # From the whole seconds the token states: `iat` is truncated, so its life started up to 1 s earlier.
        return int(now) + self._ttl / 2
