"""The customers context over gRPC (`mercato.customers.v1.CustomersService`): request -> command or
query -> response. Authentication and error mapping are the platform server's; typed errors propagate.

Whom a call acts for: the proto requests carry a `mercato.common.v1.Principal` (`principal`, or
`actor` for SetStaffPermissions), but that field is plain request data any caller can fill in. The
servicer never reads it. It acts for the principal the platform interceptor verified from the signed
`x-mercato-principal` metadata (`platform.grpc.auth.current_principal`), and refuses with
UNAUTHENTICATED when there is none. So no caller can act as another user by editing the body.
"""

from __future__ import annotations

from typing import Any, Protocol

from mercato._gen.mercato.common.v1 import principal_pb2
from mercato._gen.mercato.customers.v1 import (
    customers_pb2,
    customers_service_pb2,
    customers_service_pb2_grpc,
)
from mercato.customers.domain import commands
from mercato.customers.domain.addresses import AddressFields
from mercato.customers.service_layer.queries import AccountView, AddressView, CustomersQueries
from mercato.customers.service_layer.sessions import TokenPair
from mercato.platform.auth import Permission, Principal, Role, require_principal
from mercato.platform.errors import ClientError
from mercato.platform.grpc.auth import current_principal
from mercato.platform.grpc.convert import (
    parse_uuid,
    permission_value,
    principal_message,
    role_value,
    to_timestamp,
)
from mercato.platform.grpc.server import ServiceRegistration

SERVICE_NAME = "mercato.customers.v1.CustomersService"


class CustomersService(Protocol):
    """What the servicer uses of `bootstrap.CustomersService` (entrypoints sit below bootstrap)."""

    queries: CustomersQueries

    async def handle(self, cmd: Any) -> Any: ...

    async def authenticate(self, access_token: str) -> Principal: ...


def account_message(view: AccountView) -> customers_pb2.Account:
    return customers_pb2.Account(
        id=str(view.id),
        email=view.email,
        role=role_value(view.role),
        permissions=sorted(permission_value(p) for p in view.permissions),
        is_active=view.is_active,
        created_at=to_timestamp(view.created_at),
    )


def address_message(view: AddressView) -> customers_pb2.Address:
    return customers_pb2.Address(
        id=str(view.id),
        first_name=view.first_name,
        last_name=view.last_name,
        line1=view.line1,
        line2=view.line2,
        city=view.city,
        postal_code=view.postal_code,
        country=view.country,
        phone=view.phone,
        created_at=to_timestamp(view.created_at),
        updated_at=to_timestamp(view.updated_at),
    )


def tokens_message(pair: TokenPair) -> customers_pb2.TokenPair:
    return customers_pb2.TokenPair(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        expires_in=pair.expires_in,
        token_type=pair.token_type,
    )


def address_fields(message: customers_pb2.AddressFields) -> AddressFields:
    return AddressFields(
        first_name=message.first_name,
        last_name=message.last_name,
        line1=message.line1,
        city=message.city,
        country=message.country,
        line2=message.line2,
        postal_code=message.postal_code,
        phone=message.phone,
    )


def _enum_name(value: int, enum: Any, prefix: str) -> str:
    try:
        return str(enum.Name(value)).removeprefix(prefix)
    except ValueError:
        return "UNSPECIFIED"


def _role(value: int) -> Role:
    name = _enum_name(value, principal_pb2.Role, "ROLE_")
    if name not in Role.__members__:
        raise ClientError("role is not a known role", code="INVALID", field="role")
    return Role[name]


def _permissions(values: Any) -> list[Permission]:
    names = [_enum_name(v, principal_pb2.Permission, "PERMISSION_") for v in values]
    if any(n not in Permission.__members__ for n in names):
        raise ClientError("permissions holds an unknown permission", code="INVALID", field="permissions")
    return [Permission[n] for n in names]


def _acting() -> Principal:
    # The verified principal of the signed metadata; the request's own `principal` field is ignored.
    return require_principal(current_principal.get())


class CustomersServicer(customers_service_pb2_grpc.CustomersServiceServicer):
    def __init__(self, service: CustomersService) -> None:
        self.service = service

    async def Register(self, request: Any, context: Any) -> customers_service_pb2.RegisterResponse:
        account = await self.service.handle(
            commands.RegisterAccount(email=request.email, password=request.password)
        )
        return customers_service_pb2.RegisterResponse(account=account_message(AccountView.of(account)))

    async def CreateToken(self, request: Any, context: Any) -> customers_service_pb2.CreateTokenResponse:
        pair = await self.service.handle(
            commands.CreateToken(
                email=request.email,
                password=request.password,
                ip=request.ip if request.HasField("ip") else None,
            )
        )
        return customers_service_pb2.CreateTokenResponse(tokens=tokens_message(pair))

    async def RefreshToken(self, request: Any, context: Any) -> customers_service_pb2.RefreshTokenResponse:
        pair = await self.service.handle(commands.RefreshToken(refresh_token=request.refresh_token))
        return customers_service_pb2.RefreshTokenResponse(tokens=tokens_message(pair))

    async def RevokeToken(self, request: Any, context: Any) -> customers_service_pb2.RevokeTokenResponse:
        await self.service.handle(commands.RevokeToken(refresh_token=request.refresh_token))
        return customers_service_pb2.RevokeTokenResponse()

    async def Authenticate(self, request: Any, context: Any) -> customers_service_pb2.AuthenticateResponse:
        principal = await self.service.authenticate(request.access_token)
        return customers_service_pb2.AuthenticateResponse(principal=principal_message(principal))

    async def GetAccount(self, request: Any, context: Any) -> customers_service_pb2.GetAccountResponse:
        account = await self.service.queries.account(_acting().user_id)
        if account is None or not account.is_active:
            return customers_service_pb2.GetAccountResponse()
        return customers_service_pb2.GetAccountResponse(account=account_message(account))

    async def ListAddresses(self, request: Any, context: Any) -> customers_service_pb2.ListAddressesResponse:
        found = await self.service.queries.addresses(_acting().user_id)
        return customers_service_pb2.ListAddressesResponse(addresses=[address_message(a) for a in found])

    async def AddAddress(self, request: Any, context: Any) -> customers_service_pb2.AddAddressResponse:
        address = await self.service.handle(
            commands.AddAddress(principal=_acting(), fields=address_fields(request.fields))
        )
        return customers_service_pb2.AddAddressResponse(address=address_message(AddressView.of(address)))

    async def UpdateAddress(self, request: Any, context: Any) -> customers_service_pb2.UpdateAddressResponse:
        address = await self.service.handle(
            commands.UpdateAddress(
                principal=_acting(),
                address_id=parse_uuid(request.address_id, "id"),
                fields=address_fields(request.fields),
            )
        )
        return customers_service_pb2.UpdateAddressResponse(address=address_message(AddressView.of(address)))

    async def DeleteAddress(self, request: Any, context: Any) -> customers_service_pb2.DeleteAddressResponse:
        await self.service.handle(
            commands.DeleteAddress(principal=_acting(), address_id=parse_uuid(request.address_id, "id"))
        )
        return customers_service_pb2.DeleteAddressResponse()

    async def SetStaffPermissions(
        self, request: Any, context: Any
    ) -> customers_service_pb2.SetStaffPermissionsResponse:
        # The actor is the verified principal too (the use case re-checks it against the database).
        actor = _acting()
        account = await self.service.handle(
            commands.SetStaffPermissions.of(
                actor,
                parse_uuid(request.user_id, "user_id"),
                _role(request.role),
                _permissions(request.permissions),
            )
        )
        return customers_service_pb2.SetStaffPermissionsResponse(
            account=account_message(AccountView.of(account))
        )

    async def RevokeAllTokens(
        self, request: Any, context: Any
    ) -> customers_service_pb2.RevokeAllTokensResponse:
        await self.service.handle(commands.RevokeAllTokens(principal=_acting()))
        return customers_service_pb2.RevokeAllTokensResponse()

    async def SetAccountActive(
        self, request: Any, context: Any
    ) -> customers_service_pb2.SetAccountActiveResponse:
        actor = _acting()
        account = await self.service.handle(
            commands.SetAccountActive(
                actor=actor, user_id=parse_uuid(request.user_id, "user_id"), active=request.active
            )
        )
        return customers_service_pb2.SetAccountActiveResponse(
            account=account_message(AccountView.of(account))
        )

    async def ChangePassword(
        self, request: Any, context: Any
    ) -> customers_service_pb2.ChangePasswordResponse:
        await self.service.handle(
            commands.ChangePassword(
                principal=_acting(),
                current_password=request.current_password,
                new_password=request.new_password,
            )
        )
        return customers_service_pb2.ChangePasswordResponse()

    async def RequestPasswordReset(
        self, request: Any, context: Any
    ) -> customers_service_pb2.RequestPasswordResetResponse:
        await self.service.handle(commands.RequestPasswordReset(email=request.email))
        return customers_service_pb2.RequestPasswordResetResponse()

    async def ResetPassword(self, request: Any, context: Any) -> customers_service_pb2.ResetPasswordResponse:
        await self.service.handle(
            commands.ResetPassword(token=request.token, new_password=request.new_password)
        )
        return customers_service_pb2.ResetPasswordResponse()


def registration(service: CustomersService) -> ServiceRegistration:
    """What `platform.grpc.server.GrpcServer` needs to serve the customers context."""
    return ServiceRegistration(
        name=SERVICE_NAME,
        servicer=CustomersServicer(service),
        add_to_server=customers_service_pb2_grpc.add_CustomersServiceServicer_to_server,
    )
