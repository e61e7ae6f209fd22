"""How the gateway and other contexts call the customers context: the `CustomersClient` Protocol, and
its in-process form.

Errors arrive as `platform.errors` classes with the codes of `domain.errors` (e.g. `ClientError`
with `TokenCreateErrorCode.INVALID_CREDENTIALS`); `authenticate` raises `platform.auth.Unauthenticated`.
Nothing returned carries a password hash or a token hash.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from mercato.customers.domain import commands
from mercato.customers.service_layer.queries import AccountView, AddressView
from mercato.customers.service_layer.sessions import TokenPair
from mercato.platform.auth import Principal

if TYPE_CHECKING:
    from mercato.customers.bootstrap import CustomersService


class CustomersClient(Protocol):
    # Mutations take their command (`domain.commands`); the reads take plain arguments.
    async def register(self, cmd: commands.RegisterAccount) -> AccountView: ...

    async def create_token(self, cmd: commands.CreateToken) -> TokenPair: ...

    async def refresh(self, cmd: commands.RefreshToken) -> TokenPair: ...

    async def revoke(self, cmd: commands.RevokeToken) -> None: ...

    async def revoke_all(self, cmd: commands.RevokeAllTokens) -> None:
        """Sign out everywhere: every refresh token, and every access token issued so far."""
        ...

    async def set_account_active(self, cmd: commands.SetAccountActive) -> AccountView:
        """Disable (or enable again) an account; needs `customers:manage`."""
        ...

    async def change_password(self, cmd: commands.ChangePassword) -> None:
        """Ends every sign-in of the account (sign in again with the new password)."""
        ...

    async def request_password_reset(self, cmd: commands.RequestPasswordReset) -> None:
        """Always answers None, whether or not the email has an account."""
        ...

    async def reset_password(self, cmd: commands.ResetPassword) -> None: ...

    async def me(self, principal: Principal) -> AccountView | None:
        """The principal's account; None if it no longer exists or was disabled."""
        ...

    async def addresses(self, principal: Principal) -> list[AddressView]: ...

    async def add_address(self, cmd: commands.AddAddress) -> AddressView: ...

    async def update_address(self, cmd: commands.UpdateAddress) -> AddressView: ...

    async def delete_address(self, cmd: commands.DeleteAddress) -> None: ...

    async def set_staff_permissions(self, cmd: commands.SetStaffPermissions) -> AccountView: ...

    async def authenticate(self, access_token: str) -> Principal:
        """The principal of a valid access token; `Unauthenticated` otherwise."""
        ...


class InProcessCustomersClient:
    """`CustomersClient` calling a `CustomersService` in the same process."""

    def __init__(self, service: CustomersService) -> None:
        self.service = service

    async def register(self, cmd: commands.RegisterAccount) -> AccountView:
        return AccountView.of(await self.service.handle(cmd))

    async def create_token(self, cmd: commands.CreateToken) -> TokenPair:
        return await self.service.handle(cmd)

    async def refresh(self, cmd: commands.RefreshToken) -> TokenPair:
        return await self.service.handle(cmd)

    async def revoke(self, cmd: commands.RevokeToken) -> None:
        await self.service.handle(cmd)

    async def revoke_all(self, cmd: commands.RevokeAllTokens) -> None:
        await self.service.handle(cmd)

    async def set_account_active(self, cmd: commands.SetAccountActive) -> AccountView:
        return AccountView.of(await self.service.handle(cmd))

    async def change_password(self, cmd: commands.ChangePassword) -> None:
        await self.service.handle(cmd)

    async def request_password_reset(self, cmd: commands.RequestPasswordReset) -> None:
        await self.service.handle(cmd)

    async def reset_password(self, cmd: commands.ResetPassword) -> None:
        await self.service.handle(cmd)

    async def me(self, principal: Principal) -> AccountView | None:
        account = await self.service.queries.account(principal.user_id)
        return account if account is not None and account.is_active else None

    async def addresses(self, principal: Principal) -> list[AddressView]:
        return await self.service.queries.addresses(principal.user_id)

    async def add_address(self, cmd: commands.AddAddress) -> AddressView:
        return AddressView.of(await self.service.handle(cmd))

    async def update_address(self, cmd: commands.UpdateAddress) -> AddressView:
        return AddressView.of(await self.service.handle(cmd))

    async def delete_address(self, cmd: commands.DeleteAddress) -> None:
        await self.service.handle(cmd)

    async def set_staff_permissions(self, cmd: commands.SetStaffPermissions) -> AccountView:
        return AccountView.of(await self.service.handle(cmd))

    async def authenticate(self, access_token: str) -> Principal:
        return await self.service.authenticate(access_token)
