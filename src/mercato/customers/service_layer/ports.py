"""The ports the use cases depend on besides storage, and the bundle of them handlers receive.

Concrete implementations (argon2, Redis) live in `adapters`; `bootstrap` wires them.
"""

from __future__ import annotations

import uuid
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
        """Reserve one sign-in attempt on the (normalized) email's and the IP's counters of failed
        attempts; False when either is over its limit for the current window. An attempt that is
        not followed by `succeeded` stays counted: it failed."""
        ...

    async def succeeded(self, email: str, ip: str | None) -> None:
        """The attempt succeeded: forget the account's failures and give the IP its place back
        (only that one: a good password must not reset an address trying many accounts)."""
        ...


class TokenVersions(Protocol):
    """Each account's current token stamp (`domain.tokens.token_stamp`), read on every authenticated
    request and therefore cached; a change is visible everywhere within the cache's TTL."""

    async def current(self, account_id: uuid.UUID) -> int | None:
        """The account's stamp; None when it does not exist."""
        ...

    async def changed(self, account_id: uuid.UUID, stamp: int) -> None:
        """The account's stamp became `stamp` (called after the commit that changed it)."""
        ...


@dataclass(frozen=True)
class Deps:
    unit_of_work: Callable[[], CustomersUnitOfWork]
    passwords: PasswordHasher
    throttle: LoginThrottle
    access_tokens: AccessTokens
    clock: Clock
    refresh_ttl: timedelta
    token_versions: TokenVersions
    reset_ttl: timedelta = timedelta(hours=1)
