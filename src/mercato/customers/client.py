"""How the gateway and other contexts call the customers context: the `CustomersClient` Protocol, and
its in-process form.

Errors arrive as `platform.errors` classes with the codes of `domain.errors` (e.g. `ClientError`
with `TokenCreateErrorCode.INVALID_CREDENTIALS`); `authenticate` raises `platform.auth.Unauthenticated`.
Nothing returned carries a password hash or a token hash.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

from mercato.customers.domain import commands
from mercato.customers.domain.addresses import AddressFields
from mercato.customers.service_layer.queries import AccountView, AddressView
from mercato.customers.service_layer.sessions import TokenPair
from mercato.platform.auth import Permission, Principal, Role

if TYPE_CHECKING:
    from mercato.customers.bootstrap import CustomersService


class CustomersClient(Protocol):
    async def register(self, email: str, password: str) -> AccountView: ...

    async def create_token(self, email: str, password: str, ip: str | None = None) -> TokenPair: ...

    async def refresh(self, refresh_token: str) -> TokenPair: ...

    async def revoke(self, refresh_token: str) -> None: ...

    async def revoke_all(self, principal: Principal) -> None:
        """Sign out everywhere: every refresh token, and every access token issued so far."""
        ...

    async def set_account_active(self, actor: Principal, user_id: uuid.UUID, active: bool) -> AccountView:
        """Disable (or enable again) an account; needs `customers:manage`."""
        ...

    async def change_password(self, principal: Principal, current_password: str, new_password: str) -> None:
        """Ends every sign-in of the account (sign in again with the new password)."""
        ...

    async def request_password_reset(self, email: str) -> None:
        """Always answers None, whether or not the email has an account."""
        ...

    async def reset_password(self, token: str, new_password: str) -> None: ...

    async def me(self, principal: Principal) -> AccountView | None:
        """The principal's account; None if it no longer exists or was disabled."""
        ...

    async def addresses(self, principal: Principal) -> list[AddressView]: ...

    async def add_address(self, principal: Principal, fields: AddressFields) -> AddressView: ...

    async def update_address(
        self, principal: Principal, address_id: uuid.UUID, fields: AddressFields
    ) -> AddressView: ...

    async def delete_address(self, principal: Principal, address_id: uuid.UUID) -> None: ...

    async def set_staff_permissions(
        self, actor: Principal, user_id: uuid.UUID, role: Role, permissions: Iterable[Permission]
    ) -> AccountView: ...

    async def authenticate(self, access_token: str) -> Principal:
        """The principal of a valid access token; `Unauthenticated` otherwise."""
        ...


class InProcessCustomersClient:
    """`CustomersClient` calling a `CustomersService` in the same process."""

    def __init__(self, service: CustomersService) -> None:
        self.service = service

    async def register(self, email: str, password: str) -> AccountView:
        account = await self.service.handle(commands.RegisterAccount(email=email, password=password))
        return AccountView.of(account)

    async def create_token(self, email: str, password: str, ip: str | None = None) -> TokenPair:
        return await self.service.handle(commands.CreateToken(email=email, password=password, ip=ip))

    async def refresh(self, refresh_token: str) -> TokenPair:
        return await self.service.handle(commands.RefreshToken(refresh_token=refresh_token))

    async def revoke(self, refresh_token: str) -> None:
        await self.service.handle(commands.RevokeToken(refresh_token=refresh_token))

    async def revoke_all(self, principal: Principal) -> None:
        await self.service.handle(commands.RevokeAllTokens(account_id=principal.user_id))

    async def set_account_active(self, actor: Principal, user_id: uuid.UUID, active: bool) -> AccountView:
        account = await self.service.handle(
            commands.SetAccountActive(actor=actor, user_id=user_id, active=active)
        )
        return AccountView.of(account)

    async def change_password(self, principal: Principal, current_password: str, new_password: str) -> None:
        await self.service.handle(
            commands.ChangePassword(
                account_id=principal.user_id, current_password=current_password, new_password=new_password
            )
        )

    async def request_password_reset(self, email: str) -> None:
        await self.service.handle(commands.RequestPasswordReset(email=email))

    async def reset_password(self, token: str, new_password: str) -> None:
        await self.service.handle(commands.ResetPassword(token=token, new_password=new_password))

    async def me(self, principal: Principal) -> AccountView | None:
        account = await self.service.queries.account(principal.user_id)
        return account if account is not None and account.is_active else None

    async def addresses(self, principal: Principal) -> list[AddressView]:
        return await self.service.queries.addresses(principal.user_id)

    async def add_address(self, principal: Principal, fields: AddressFields) -> AddressView:
        address = await self.service.handle(commands.AddAddress(owner_id=principal.user_id, fields=fields))
        return AddressView.of(address)

    async def update_address(
        self, principal: Principal, address_id: uuid.UUID, fields: AddressFields
    ) -> AddressView:
        address = await self.service.handle(
            commands.UpdateAddress(owner_id=principal.user_id, address_id=address_id, fields=fields)
        )
        return AddressView.of(address)

    async def delete_address(self, principal: Principal, address_id: uuid.UUID) -> None:
        await self.service.handle(commands.DeleteAddress(owner_id=principal.user_id, address_id=address_id))

    async def set_staff_permissions(
        self, actor: Principal, user_id: uuid.UUID, role: Role, permissions: Iterable[Permission]
    ) -> AccountView:
        account = await self.service.handle(
            commands.SetStaffPermissions.of(actor, user_id, role, permissions)
        )
        return AccountView.of(account)

    async def authenticate(self, access_token: str) -> Principal:
        return await self.service.authenticate(access_token)
