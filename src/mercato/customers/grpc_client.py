"""`CustomersClient` over gRPC: the same Protocol, return types and typed errors as in process.

The principal a method is given travels as the signed `x-mercato-principal` metadata (the servicer
acts only for that one); it is also copied into the request's `principal` field, which the servicer
ignores. Retries (see `platform.grpc.client`) only where repeating is harmless: the reads (`me`,
`addresses`, `authenticate`) and `revoke` (revoking twice is fine). Every other call runs once:
a repeated `refresh` would look like a token reuse and revoke the whole sign-in.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from enum import Enum
from typing import Any

from mercato._gen.mercato.common.v1 import principal_pb2
from mercato._gen.mercato.customers.v1 import customers_pb2, customers_service_pb2, customers_service_pb2_grpc
from mercato.customers.domain import commands, rules
from mercato.customers.domain.addresses import AddressFields
from mercato.customers.domain.errors import (
    AccountRegisterErrorCode,
    AccountSetActiveErrorCode,
    AddressCreateErrorCode,
    AddressDeleteErrorCode,
    AddressUpdateErrorCode,
    PasswordChangeErrorCode,
    PasswordResetErrorCode,
    PasswordResetRequestErrorCode,
    StaffPermissionsSetErrorCode,
    TokenCreateErrorCode,
    TokenRefreshErrorCode,
    TokenRevokeAllErrorCode,
    TokenRevokeErrorCode,
)
from mercato.customers.service_layer.queries import AccountView, AddressView, account_view
from mercato.customers.service_layer.sessions import TokenPair
from mercato.platform.auth import Permission, Principal, Role
from mercato.platform.errors import MercatoError
from mercato.platform.grpc.auth import current_principal
from mercato.platform.grpc.client import CallPolicy, ServiceCaller
from mercato.platform.grpc.convert import from_timestamp, permission_value, principal_message, role_value

TARGET = "customers"
# Domain classes the customers context raises, so the client re-raises the very class.
KNOWN_ERRORS: tuple[type[MercatoError], ...] = (
    rules.EmailTaken,
    rules.InvalidCredentials,
    rules.TooManyAttempts,
    rules.InvalidToken,
    rules.TokenReused,
    rules.AccountGone,
    rules.AccountNotFound,
    rules.AddressNotFound,
    rules.AddressLimitReached,
    rules.NotAllowed,
    rules.CannotDemoteSelf,
    rules.InvalidResetToken,
    rules.WrongPassword,
    rules.CannotDisableSelf,
)


def _role(value: int) -> Role:
    return Role[principal_pb2.Role.Name(value).removeprefix("ROLE_")]


def _permissions(values: Iterable[int]) -> frozenset[Permission]:
    return frozenset(Permission[principal_pb2.Permission.Name(v).removeprefix("PERMISSION_")] for v in values)


def principal_of(message: principal_pb2.Principal) -> Principal:
    return Principal(
        user_id=uuid.UUID(message.user_id),
        email=message.email,
        role=_role(message.role),
        permissions=_permissions(message.permissions),
    )


def account_of(message: customers_pb2.Account) -> AccountView:
    return account_view(
        uuid.UUID(message.id),
        message.email,
        _role(message.role),
        _permissions(message.permissions),
        message.is_active,
        from_timestamp(message.created_at),
    )


def address_of(message: customers_pb2.Address) -> AddressView:
    return AddressView(
        id=uuid.UUID(message.id),
        first_name=message.first_name,
        last_name=message.last_name,
        line1=message.line1,
        line2=message.line2,
        city=message.city,
        postal_code=message.postal_code,
        country=message.country,
        phone=message.phone,
        created_at=from_timestamp(message.created_at),
        updated_at=from_timestamp(message.updated_at),
    )


def tokens_of(message: customers_pb2.TokenPair) -> TokenPair:
    return TokenPair(
        access_token=message.access_token,
        refresh_token=message.refresh_token,
        expires_in=message.expires_in,
        token_type=message.token_type,
    )


def fields_message(fields: AddressFields) -> customers_pb2.AddressFields:
    return customers_pb2.AddressFields(
        first_name=fields.first_name,
        last_name=fields.last_name,
        line1=fields.line1,
        city=fields.city,
        country=fields.country,
        line2=fields.line2,
        postal_code=fields.postal_code,
        phone=fields.phone,
    )


@contextmanager
def acting_as(principal: Principal) -> Iterator[None]:
    """Sign `principal` into the outgoing metadata of the calls made inside (and only those)."""
    token = current_principal.set(principal)
    try:
        yield
    finally:
        current_principal.reset(token)


class GrpcCustomersClient:
    """`CustomersClient` calling a customers service through `channel`."""

    def __init__(
        self, channel: Any, *, service: str, secret: str | None, policy: CallPolicy | None = None
    ) -> None:
        # The generated stub is untyped; its methods are wrapped by ServiceCaller.call, which is typed.
        self._stub = customers_service_pb2_grpc.CustomersServiceStub(channel)  # type: ignore[no-untyped-call]
        self._caller = ServiceCaller(
            service=service, target_name=TARGET, secret=secret, policy=policy, known_errors=KNOWN_ERRORS
        )

    async def _as(
        self,
        principal: Principal,
        method: Callable[..., Awaitable[Any]],
        request: Any,
        *,
        retryable: bool,
        codes: type[Enum] | None = None,
    ) -> Any:
        with acting_as(principal):
            return await self._caller.call(method, request, retryable=retryable, codes=codes)

    async def register(self, cmd: commands.RegisterAccount) -> AccountView:
        request = customers_service_pb2.RegisterRequest(email=cmd.email, password=cmd.password)
        reply = await self._caller.call(
            self._stub.Register, request, retryable=False, codes=AccountRegisterErrorCode
        )
        return account_of(reply.account)

    async def create_token(self, cmd: commands.CreateToken) -> TokenPair:
        request = customers_service_pb2.CreateTokenRequest(email=cmd.email, password=cmd.password, ip=cmd.ip)
        reply = await self._caller.call(
            self._stub.CreateToken, request, retryable=False, codes=TokenCreateErrorCode
        )
        return tokens_of(reply.tokens)

    async def refresh(self, cmd: commands.RefreshToken) -> TokenPair:
        request = customers_service_pb2.RefreshTokenRequest(refresh_token=cmd.refresh_token)
        reply = await self._caller.call(
            self._stub.RefreshToken, request, retryable=False, codes=TokenRefreshErrorCode
        )
        return tokens_of(reply.tokens)

    async def revoke(self, cmd: commands.RevokeToken) -> None:
        request = customers_service_pb2.RevokeTokenRequest(refresh_token=cmd.refresh_token)
        await self._caller.call(self._stub.RevokeToken, request, retryable=True, codes=TokenRevokeErrorCode)

    async def revoke_all(self, cmd: commands.RevokeAllTokens) -> None:
        # Retried: signing out everywhere twice is the same as once.
        principal = cmd.principal
        request = customers_service_pb2.RevokeAllTokensRequest(principal=principal_message(principal))
        await self._as(
            principal, self._stub.RevokeAllTokens, request, retryable=True, codes=TokenRevokeAllErrorCode
        )

    async def set_account_active(self, cmd: commands.SetAccountActive) -> AccountView:
        request = customers_service_pb2.SetAccountActiveRequest(
            actor=principal_message(cmd.actor), user_id=str(cmd.user_id), active=cmd.active
        )
        reply = await self._as(
            cmd.actor, self._stub.SetAccountActive, request, retryable=True, codes=AccountSetActiveErrorCode
        )
        return account_of(reply.account)

    async def change_password(self, cmd: commands.ChangePassword) -> None:
        # Not retried: a repeat after a lost reply would check the old password against the new hash.
        request = customers_service_pb2.ChangePasswordRequest(
            principal=principal_message(cmd.principal),
            current_password=cmd.current_password,
            new_password=cmd.new_password,
        )
        await self._as(
            cmd.principal, self._stub.ChangePassword, request, retryable=False, codes=PasswordChangeErrorCode
        )

    async def request_password_reset(self, cmd: commands.RequestPasswordReset) -> None:
        # Not retried: each call mails a token.
        request = customers_service_pb2.RequestPasswordResetRequest(email=cmd.email)
        await self._caller.call(
            self._stub.RequestPasswordReset, request, retryable=False, codes=PasswordResetRequestErrorCode
        )

    async def reset_password(self, cmd: commands.ResetPassword) -> None:
        # Not retried: the token is spent by the first call.
        request = customers_service_pb2.ResetPasswordRequest(token=cmd.token, new_password=cmd.new_password)
        await self._caller.call(
            self._stub.ResetPassword, request, retryable=False, codes=PasswordResetErrorCode
        )

    async def me(self, principal: Principal) -> AccountView | None:
        request = customers_service_pb2.GetAccountRequest(principal=principal_message(principal))
        reply = await self._as(principal, self._stub.GetAccount, request, retryable=True)
        return account_of(reply.account) if reply.HasField("account") else None

    async def addresses(self, principal: Principal) -> list[AddressView]:
        request = customers_service_pb2.ListAddressesRequest(principal=principal_message(principal))
        reply = await self._as(principal, self._stub.ListAddresses, request, retryable=True)
        return [address_of(a) for a in reply.addresses]

    async def add_address(self, cmd: commands.AddAddress) -> AddressView:
        request = customers_service_pb2.AddAddressRequest(
            principal=principal_message(cmd.principal), fields=fields_message(cmd.fields)
        )
        reply = await self._as(
            cmd.principal, self._stub.AddAddress, request, retryable=False, codes=AddressCreateErrorCode
        )
        return address_of(reply.address)

    async def update_address(self, cmd: commands.UpdateAddress) -> AddressView:
        request = customers_service_pb2.UpdateAddressRequest(
            principal=principal_message(cmd.principal),
            address_id=str(cmd.address_id),
            fields=fields_message(cmd.fields),
        )
        reply = await self._as(
            cmd.principal, self._stub.UpdateAddress, request, retryable=False, codes=AddressUpdateErrorCode
        )
        return address_of(reply.address)

    async def delete_address(self, cmd: commands.DeleteAddress) -> None:
        # Not retried: a repeat after a lost reply would answer NOT_FOUND for a delete that succeeded.
        request = customers_service_pb2.DeleteAddressRequest(
            principal=principal_message(cmd.principal), address_id=str(cmd.address_id)
        )
        await self._as(
            cmd.principal, self._stub.DeleteAddress, request, retryable=False, codes=AddressDeleteErrorCode
        )

    async def set_staff_permissions(self, cmd: commands.SetStaffPermissions) -> AccountView:
        request = customers_service_pb2.SetStaffPermissionsRequest(
            actor=principal_message(cmd.actor),
            user_id=str(cmd.user_id),
            role=role_value(cmd.role),
            permissions=sorted(permission_value(p) for p in cmd.permissions),
        )
        reply = await self._as(
            cmd.actor,
            self._stub.SetStaffPermissions,
            request,
            retryable=False,
            codes=StaffPermissionsSetErrorCode,
        )
        return account_of(reply.account)

    async def authenticate(self, access_token: str) -> Principal:
        request = customers_service_pb2.AuthenticateRequest(access_token=access_token)
        reply = await self._caller.call(self._stub.Authenticate, request, retryable=True)
        return principal_of(reply.principal)
