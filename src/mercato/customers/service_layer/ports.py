"""The ports the use cases depend on besides storage, and the bundle of them handlers receive.

Concrete implementations (argon2, Redis) live in `adapters`; `bootstrap` wires them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from mercato.customers.service_layer.access_tokens import AccessTokens
from mercato.customers.service_layer.unit_of_work import Clock, CustomersUnitOfWork


class PasswordHasher(Protocol):
    """Slow, salted password hashing. Async because the work runs off the event loop."""

    async def hash(self, password: str) -> str: ...

    async def verify(self, password_hash: str, password: str) -> bool:
        """Whether `password` matches; False (never an exception) for a malformed hash."""
        ...

    def needs_rehash(self, password_hash: str) -> bool:
        """Whether the hash was made with other parameters than the current ones."""
        ...

    async def burn(self, password: str) -> None:
        """Spend the time of one `verify`, for sign-ins of unknown emails: an unknown email must
        not answer faster than a wrong password, or response times would tell which emails exist."""
        ...


class LoginThrottle(Protocol):
    async def attempt(self, email: str, ip: str | None) -> bool:
        """Count one sign-in attempt for the (normalized) email and the IP; False when either is
        over its limit for the current window."""
        ...

    async def succeeded(self, email: str) -> None:
        """Forget the account's failed attempts (not the IP's: one good password must not reset
        the counter of an address trying many accounts)."""
        ...


@dataclass(frozen=True)
class Deps:
    unit_of_work: Callable[[], CustomersUnitOfWork]
    passwords: PasswordHasher
    throttle: LoginThrottle
    access_tokens: AccessTokens
    clock: Clock
    refresh_ttl: timedelta
