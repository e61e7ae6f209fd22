"""Customers in the GraphQL API: `me`, sign-up, tokens, the address book and staff permissions.

Resolvers call `info.context.clients.customers` (a `CustomersClient`) and read the caller from
`info.context.principal` (a `Principal`, or None when no valid access token came with the request).
Every refusal is a payload error with the mutation's own enum, anonymous callers included.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from enum import Enum
from typing import TypeVar

import strawberry

from mercato.cart import MergeCartOnLogin
from mercato.customers import (
    AddAddress,
    CreateToken,
    DeleteAddress,
    RefreshToken,
    RegisterAccount,
    RevokeToken,
    SetStaffPermissions,
    UpdateAddress,
)
from mercato.customers.domain.errors import (
    AccountRegisterErrorCode,
    AddressCreateErrorCode,
    AddressDeleteErrorCode,
    AddressUpdateErrorCode,
    StaffPermissionsSetErrorCode,
    TokenCreateErrorCode,
    TokenRefreshErrorCode,
    TokenRevokeErrorCode,
)
from mercato.customers.service_layer.sessions import TokenPair
from mercato.gateway.graphql.core.auth import request_client_ip
from mercato.gateway.graphql.core.errors import payload_errors
from mercato.gateway.graphql.core.ids import parse_id
from mercato.gateway.graphql.customers.security import AccountSecurityMutations
from mercato.gateway.graphql.customers.types import (
    Account,
    AccountRegisterInput,
    Address,
    AddressInput,
    MyAccount,
    TokenCreateInput,
)
from mercato.platform.auth import Permission, Role
from mercato.platform.errors import ClientError, recode

# The domain's enums become GraphQL enums as they are: one source of truth for the codes.
for _codes in (
    AccountRegisterErrorCode,
    TokenCreateErrorCode,
    TokenRefreshErrorCode,
    TokenRevokeErrorCode,
    AddressCreateErrorCode,
    AddressUpdateErrorCode,
    AddressDeleteErrorCode,
    StaffPermissionsSetErrorCode,
):
    strawberry.enum(_codes)

E = TypeVar("E")

_SIGN_IN_FIRST = "sign in first: this needs an access token"


@strawberry.type
class AccountRegisterError:
    field: str | None
    code: AccountRegisterErrorCode
    message: str


@strawberry.type
class TokenCreateError:
    field: str | None
    code: TokenCreateErrorCode
    message: str


@strawberry.type
class TokenRefreshError:
    field: str | None
    code: TokenRefreshErrorCode
    message: str


@strawberry.type
class TokenRevokeError:
    field: str | None
    code: TokenRevokeErrorCode
    message: str


@strawberry.type
class AddressCreateError:
    field: str | None
    code: AddressCreateErrorCode
    message: str


@strawberry.type
class AddressUpdateError:
    field: str | None
    code: AddressUpdateErrorCode
    message: str


@strawberry.type
class AddressDeleteError:
    field: str | None
    code: AddressDeleteErrorCode
    message: str


@strawberry.type
class StaffPermissionsSetError:
    field: str | None
    code: StaffPermissionsSetErrorCode
    message: str


@strawberry.type
class AccountRegisterPayload:
    account: Account | None = None
    errors: list[AccountRegisterError] = strawberry.field(default_factory=list)


@strawberry.type(description="A new pair: send `accessToken` as `Authorization: Bearer <token>`.")
class TokenCreatePayload:
    access_token: str | None = None
    refresh_token: str | None = None
    expires_in: int | None = strawberry.field(default=None, description="Access token lifetime, seconds.")
    errors: list[TokenCreateError] = strawberry.field(default_factory=list)


@strawberry.type(description="The presented refresh token is spent: keep the new one.")
class TokenRefreshPayload:
    access_token: str | None = None
    refresh_token: str | None = None
    expires_in: int | None = None
    errors: list[TokenRefreshError] = strawberry.field(default_factory=list)


@strawberry.type
class TokenRevokePayload:
    revoked: bool = False
    errors: list[TokenRevokeError] = strawberry.field(default_factory=list)


@strawberry.type
class AddressCreatePayload:
    address: Address | None = None
    errors: list[AddressCreateError] = strawberry.field(default_factory=list)


@strawberry.type
class AddressUpdatePayload:
    address: Address | None = None
    errors: list[AddressUpdateError] = strawberry.field(default_factory=list)


@strawberry.type
class AddressDeletePayload:
    deleted_id: strawberry.ID | None = None
    errors: list[AddressDeleteError] = strawberry.field(default_factory=list)


@strawberry.type
class StaffPermissionsSetPayload:
    account: Account | None = None
    errors: list[StaffPermissionsSetError] = strawberry.field(default_factory=list)


def _refused(exc: ClientError, codes: type[Enum], error_type: Callable[..., E]) -> list[E]:
    # Errors raised before the command ran (ids) carry generic codes: re-code them too.
    return payload_errors(recode(exc, codes), error_type)


def _anonymous(codes: type[Enum], error_type: Callable[..., E]) -> list[E]:
    return [error_type(field=None, code=codes["UNAUTHENTICATED"], message=_SIGN_IN_FIRST)]


def _client_ip(info: strawberry.Info) -> str | None:
    """The caller's address, for per-IP throttling (`X-Forwarded-For` only from trusted proxies)."""
    return request_client_ip(info.context)


async def _merge_cart(info: strawberry.Info, cart_id: str, access_token: str) -> None:
    """Fold the anonymous cart into the customer's; a cart that expired or is not reachable is ignored,
    since signing in must not fail because of it."""
    try:
        anonymous_cart = uuid.UUID(cart_id)
    except ValueError:
        return
    principal = await info.context.clients.customers.authenticate(access_token)
    with contextlib.suppress(ClientError):
        await info.context.clients.cart.merge_on_login(MergeCartOnLogin(anonymous_cart, principal))


@strawberry.type
class CustomersQueries:
    @strawberry.field(description="The signed-in account; null when anonymous.")
    async def me(self, info: strawberry.Info) -> MyAccount | None:
        principal = info.context.principal
        if principal is None:
            return None
        view = await info.context.clients.customers.me(principal)
        return MyAccount.of(view, principal) if view is not None else None


@strawberry.type
class CustomersMutations(AccountSecurityMutations):
    @strawberry.mutation(description="Sign up as a customer.")
    async def account_register(
        self, info: strawberry.Info, input: AccountRegisterInput
    ) -> AccountRegisterPayload:
        try:
            view = await info.context.clients.customers.register(RegisterAccount(input.email, input.password))
        except ClientError as exc:
            return AccountRegisterPayload(
                errors=_refused(exc, AccountRegisterErrorCode, AccountRegisterError)
            )
        return AccountRegisterPayload(account=Account.of(view))

    @strawberry.mutation(description="Sign in with an email and a password.")
    async def token_create(self, info: strawberry.Info, input: TokenCreateInput) -> TokenCreatePayload:
        try:
            pair: TokenPair = await info.context.clients.customers.create_token(
                CreateToken(input.email, input.password, _client_ip(info))
            )
        except ClientError as exc:
            return TokenCreatePayload(errors=_refused(exc, TokenCreateErrorCode, TokenCreateError))
        if input.cart_id is not None:
            await _merge_cart(info, input.cart_id, pair.access_token)
        return TokenCreatePayload(
            access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in
        )

    @strawberry.mutation(description="Exchange a refresh token for a new pair; each one works once.")
    async def token_refresh(self, info: strawberry.Info, refresh_token: str) -> TokenRefreshPayload:
        try:
            pair: TokenPair = await info.context.clients.customers.refresh(RefreshToken(refresh_token))
        except ClientError as exc:
            return TokenRefreshPayload(errors=_refused(exc, TokenRefreshErrorCode, TokenRefreshError))
        return TokenRefreshPayload(
            access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in
        )

    @strawberry.mutation(description="Sign out: revoke a refresh token and every token of its sign-in.")
    async def token_revoke(self, info: strawberry.Info, refresh_token: str) -> TokenRevokePayload:
        try:
            await info.context.clients.customers.revoke(RevokeToken(refresh_token))
        except ClientError as exc:
            return TokenRevokePayload(errors=_refused(exc, TokenRevokeErrorCode, TokenRevokeError))
        return TokenRevokePayload(revoked=True)

    @strawberry.mutation
    async def address_create(self, info: strawberry.Info, input: AddressInput) -> AddressCreatePayload:
        principal = info.context.principal
        if principal is None:
            return AddressCreatePayload(errors=_anonymous(AddressCreateErrorCode, AddressCreateError))
        try:
            view = await info.context.clients.customers.add_address(AddAddress(principal, input.to_fields()))
        except ClientError as exc:
            return AddressCreatePayload(errors=_refused(exc, AddressCreateErrorCode, AddressCreateError))
        return AddressCreatePayload(address=Address.of(view))

    @strawberry.mutation(description="Replace every field of one of your addresses.")
    async def address_update(
        self, info: strawberry.Info, id: strawberry.ID, input: AddressInput
    ) -> AddressUpdatePayload:
        principal = info.context.principal
        if principal is None:
            return AddressUpdatePayload(errors=_anonymous(AddressUpdateErrorCode, AddressUpdateError))
        try:
            view = await info.context.clients.customers.update_address(
                UpdateAddress(principal, parse_id(id, "id"), input.to_fields())
            )
        except ClientError as exc:
            return AddressUpdatePayload(errors=_refused(exc, AddressUpdateErrorCode, AddressUpdateError))
        return AddressUpdatePayload(address=Address.of(view))

    @strawberry.mutation
    async def address_delete(self, info: strawberry.Info, id: strawberry.ID) -> AddressDeletePayload:
        principal = info.context.principal
        if principal is None:
            return AddressDeletePayload(errors=_anonymous(AddressDeleteErrorCode, AddressDeleteError))
        try:
            address_id = parse_id(id, "id")
            await info.context.clients.customers.delete_address(DeleteAddress(principal, address_id))
        except ClientError as exc:
            return AddressDeletePayload(errors=_refused(exc, AddressDeleteErrorCode, AddressDeleteError))
        return AddressDeletePayload(deleted_id=strawberry.ID(str(address_id)))

    @strawberry.mutation(description="Staff managers: set an account's role and permissions.")
    async def staff_permissions_set(
        self,
        info: strawberry.Info,
        user_id: strawberry.ID,
        role: Role,
        permissions: list[Permission],
    ) -> StaffPermissionsSetPayload:
        codes, error_type = StaffPermissionsSetErrorCode, StaffPermissionsSetError
        principal = info.context.principal
        if principal is None:
            return StaffPermissionsSetPayload(errors=_anonymous(codes, error_type))
        try:
            view = await info.context.clients.customers.set_staff_permissions(
                SetStaffPermissions.of(principal, parse_id(user_id, "userId"), role, permissions)
            )
        except ClientError as exc:
            return StaffPermissionsSetPayload(errors=_refused(exc, codes, error_type))
        return StaffPermissionsSetPayload(account=Account.of(view))
