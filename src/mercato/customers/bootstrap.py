"""Wires the customers context together: the service facade that entrypoints and in-process clients
use. The only module that knows the concrete store, hasher and throttle, and the wall clock (read
here, at the edge).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, overload

from redis.asyncio import Redis

from mercato.customers.adapters import tables
from mercato.customers.adapters.passwords import Argon2Passwords
from mercato.customers.adapters.repository import CustomersRepository
from mercato.customers.adapters.throttle import RedisLoginThrottle
from mercato.customers.adapters.token_versions import RedisTokenVersions
from mercato.customers.domain import commands
from mercato.customers.domain.addresses import Address
from mercato.customers.domain.model import Account
from mercato.customers.domain.tokens import token_stamp
from mercato.customers.service_layer.access_tokens import AccessTokens
from mercato.customers.service_layer.handlers import COMMAND_HANDLERS
from mercato.customers.service_layer.ports import Deps, LoginThrottle, PasswordHasher
from mercato.customers.service_layer.queries import AccountView, CustomersQueries
from mercato.customers.service_layer.sessions import TokenPair
from mercato.customers.service_layer.unit_of_work import Clock, CustomersUnitOfWork
from mercato.platform.auth import Principal, Unauthenticated
from mercato.platform.clock import utc_now
from mercato.platform.config import Settings
from mercato.platform.db import Database
from mercato.platform.outbox import Outbox


def customers_outbox(namespace: str) -> Outbox:
    return Outbox(tables.outbox, namespace)


class CustomersService:
    def __init__(
        self,
        db: Database,
        redis: Redis,
        settings: Settings,
        outbox: Outbox,
        on_commit: Callable[[], None] | None = None,
        *,
        clock: Clock = utc_now,
        passwords: PasswordHasher | None = None,
        throttle: LoginThrottle | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.outbox = outbox
        self.on_commit = on_commit
        self.clock = clock
        self.queries = CustomersQueries(db)
        self.access_tokens = AccessTokens(settings)
        self.token_versions = RedisTokenVersions(
            redis,
            settings.namespace,
            self.queries.token_stamp,
            clock,
            local_ttl=settings.token_version_cache_seconds,
        )
        self.deps = Deps(
            unit_of_work=self.unit_of_work,
            passwords=passwords or Argon2Passwords(),
            throttle=throttle
            or RedisLoginThrottle(
                redis,
                settings.namespace,
                per_account=settings.login_attempts_per_account,
                per_ip=settings.login_attempts_per_ip,
                window_seconds=settings.login_throttle_window_seconds,
            ),
            access_tokens=self.access_tokens,
            clock=clock,
            refresh_ttl=timedelta(seconds=settings.refresh_token_ttl_seconds),
            token_versions=self.token_versions,
            reset_ttl=timedelta(seconds=settings.password_reset_ttl_seconds),
        )

    def unit_of_work(self) -> CustomersUnitOfWork:
        return CustomersUnitOfWork(
            self.db, self.outbox, self.on_commit, store=CustomersRepository, clock=self.clock
        )

    @overload
    async def handle(self, cmd: commands.RegisterAccount) -> Account: ...
    @overload
    async def handle(self, cmd: commands.CreateAdmin) -> Account: ...
    @overload
    async def handle(self, cmd: commands.CreateToken) -> TokenPair: ...
    @overload
    async def handle(self, cmd: commands.RefreshToken) -> TokenPair: ...
    @overload
    async def handle(self, cmd: commands.RevokeToken) -> None: ...
    @overload
    async def handle(self, cmd: commands.SetStaffPermissions) -> Account: ...
    @overload
    async def handle(self, cmd: commands.AddAddress) -> Address: ...
    @overload
    async def handle(self, cmd: commands.UpdateAddress) -> Address: ...
    @overload
    async def handle(self, cmd: commands.DeleteAddress) -> None: ...

    @overload
    async def handle(self, cmd: commands.RevokeAllTokens) -> None: ...

    @overload
    async def handle(self, cmd: commands.SetAccountActive) -> Account: ...

    @overload
    async def handle(self, cmd: commands.ChangePassword) -> None: ...

    @overload
    async def handle(self, cmd: commands.RequestPasswordReset) -> None: ...

    @overload
    async def handle(self, cmd: commands.ResetPassword) -> None: ...

    async def handle(self, cmd: Any) -> Any:
        """Run one command (one transaction, plus password hashing and throttling around it)."""
        handler = COMMAND_HANDLERS.get(type(cmd))
        if handler is None:
            raise TypeError(f"customers has no handler for {type(cmd).__name__}")
        return await handler(cmd, self.deps)

    async def authenticate(self, access_token: str) -> Principal:
        """The principal of an access token, checked with this service's clock and against the
        account's current token version; `Unauthenticated` otherwise. Called on every request: the
        version comes from a cache (usually this process's memory, see adapters.token_versions)."""
        principal, version = self.access_tokens.verify(access_token, self.clock())
        if await self.token_versions.current(principal.user_id) != token_stamp(version, True):
            # Signed out everywhere, access changed, disabled, or a new password since it was issued.
            raise Unauthenticated("access token revoked; refresh it or sign in again")
        return principal


def build_customers(
    db: Database,
    redis: Redis,
    settings: Settings,
    on_commit: Callable[[], None] | None = None,
    *,
    clock: Clock = utc_now,
) -> CustomersService:
    return CustomersService(db, redis, settings, customers_outbox(settings.namespace), on_commit, clock=clock)


async def create_admin(service: CustomersService, email: str, password: str) -> AccountView:
    """Create an admin account (what `mercato admin create` runs). Raises `InputRejected` or
    `Conflict` with `AdminCreateErrorCode` codes (e.g. EMAIL_TAKEN)."""
    return AccountView.of(await service.handle(commands.CreateAdmin(email=email, password=password)))
