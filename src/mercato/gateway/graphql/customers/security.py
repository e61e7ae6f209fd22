"""Taking access away and giving it back, in the GraphQL API: sign out everywhere, disabling by staff,
password change and reset. `CustomersMutations` inherits these fields.

Every refusal is a payload error with the mutation's own enum, anonymous callers included.
"""

from __future__ import annotations

from typing import TypeVar

import strawberry

from mercato.customers import (
    ChangePassword,
    RequestPasswordReset,
    ResetPassword,
    RevokeAllTokens,
    SetAccountActive,
)
from mercato.customers.domain.errors import (
    AccountSetActiveErrorCode,
    PasswordChangeErrorCode,
    PasswordResetErrorCode,
    PasswordResetRequestErrorCode,
    TokenRevokeAllErrorCode,
)
from mercato.gateway.graphql.core.auth import request_client_ip
from mercato.gateway.graphql.core.errors import payload_errors
from mercato.gateway.graphql.core.ids import parse_id
from mercato.gateway.graphql.customers.types import Account
from mercato.platform.errors import ClientError, recode

for _codes in (
    TokenRevokeAllErrorCode,
    AccountSetActiveErrorCode,
    PasswordChangeErrorCode,
    PasswordResetRequestErrorCode,
    PasswordResetErrorCode,
):
    strawberry.enum(_codes)

E = TypeVar("E")

_SIGN_IN_FIRST = "sign in first: this needs an access token"


@strawberry.type
class TokenRevokeAllError:
    field: str | None
    code: TokenRevokeAllErrorCode
    message: str


@strawberry.type
class AccountSetActiveError:
    field: str | None
    code: AccountSetActiveErrorCode
    message: str


@strawberry.type
class PasswordChangeError:
    field: str | None
    code: PasswordChangeErrorCode
    message: str


@strawberry.type
class PasswordResetRequestError:
    field: str | None
    code: PasswordResetRequestErrorCode
    message: str


@strawberry.type
class PasswordResetError:
    field: str | None
    code: PasswordResetErrorCode
    message: str


@strawberry.type
class TokenRevokeAllPayload:
    revoked: bool = False
    errors: list[TokenRevokeAllError] = strawberry.field(default_factory=list)


@strawberry.type
class AccountSetActivePayload:
    account: Account | None = None
    errors: list[AccountSetActiveError] = strawberry.field(default_factory=list)


@strawberry.type
class PasswordChangePayload:
    changed: bool = False
    errors: list[PasswordChangeError] = strawberry.field(default_factory=list)


@strawberry.type
class PasswordResetRequestPayload:
    requested: bool = strawberry.field(
        default=False, description="Always true for a well-formed request, whether the email has an account."
    )
    errors: list[PasswordResetRequestError] = strawberry.field(default_factory=list)


@strawberry.type
class PasswordResetPayload:
    reset: bool = False
    errors: list[PasswordResetError] = strawberry.field(default_factory=list)


@strawberry.input
class PasswordChangeInput:
    current_password: str
    new_password: str


@strawberry.input
class PasswordResetInput:
    token: str = strawberry.field(description="From the reset email (`password_reset_requested` event).")
    new_password: str


def _renamed(errors: list[E]) -> list[E]:
    # The use cases check the new password as `password`; the API calls it `newPassword`.
    for error in errors:
        if getattr(error, "field", None) == "password":
            error.field = "newPassword"  # type: ignore[attr-defined]
    return errors


@strawberry.type
class AccountSecurityMutations:
    @strawberry.mutation(
        description="Sign out everywhere: every refresh token of the account, and every access token "
        "issued so far (refused within seconds)."
    )
    async def token_revoke_all(self, info: strawberry.Info) -> TokenRevokeAllPayload:
        principal = info.context.principal
        if principal is None:
            return TokenRevokeAllPayload(
                errors=[
                    TokenRevokeAllError(
                        field=None, code=TokenRevokeAllErrorCode.UNAUTHENTICATED, message=_SIGN_IN_FIRST
                    )
                ]
            )
        try:
            await info.context.clients.customers.revoke_all(RevokeAllTokens(principal))
        except ClientError as exc:
            return TokenRevokeAllPayload(
                errors=payload_errors(recode(exc, TokenRevokeAllErrorCode), TokenRevokeAllError)
            )
        return TokenRevokeAllPayload(revoked=True)

    @strawberry.mutation(
        description="Staff with customers:manage: disable an account (its sign-ins end, it cannot sign in) "
        "or enable it again."
    )
    async def account_set_active(
        self, info: strawberry.Info, user_id: strawberry.ID, active: bool
    ) -> AccountSetActivePayload:
        principal = info.context.principal
        if principal is None:
            return AccountSetActivePayload(
                errors=[
                    AccountSetActiveError(
                        field=None, code=AccountSetActiveErrorCode.UNAUTHENTICATED, message=_SIGN_IN_FIRST
                    )
                ]
            )
        try:
            view = await info.context.clients.customers.set_account_active(
                SetAccountActive(principal, parse_id(user_id, "userId"), active)
            )
        except ClientError as exc:
            return AccountSetActivePayload(
                errors=payload_errors(recode(exc, AccountSetActiveErrorCode), AccountSetActiveError)
            )
        return AccountSetActivePayload(account=Account.of(view))

    @strawberry.mutation(
        description="Change your password (the current one is required). Every sign-in ends: sign in again."
    )
    async def password_change(
        self, info: strawberry.Info, input: PasswordChangeInput
    ) -> PasswordChangePayload:
        principal = info.context.principal
        if principal is None:
            return PasswordChangePayload(
                errors=[
                    PasswordChangeError(
                        field=None, code=PasswordChangeErrorCode.UNAUTHENTICATED, message=_SIGN_IN_FIRST
                    )
                ]
            )
        try:
            await info.context.clients.customers.change_password(
                ChangePassword(principal, input.current_password, input.new_password)
            )
        except ClientError as exc:
            coded = recode(exc, PasswordChangeErrorCode)
            return PasswordChangePayload(errors=_renamed(payload_errors(coded, PasswordChangeError)))
        return PasswordChangePayload(changed=True)

    @strawberry.mutation(
        description="Ask for a password reset email. Answers the same whether or not the email has an "
        "account."
    )
    async def password_reset_request(self, info: strawberry.Info, email: str) -> PasswordResetRequestPayload:
        try:
            limits = getattr(info.context, "rate_limits", None)
            if limits is not None:
                await limits.password_reset_request(email, request_client_ip(info.context))
            await info.context.clients.customers.request_password_reset(RequestPasswordReset(email))
        except ClientError as exc:
            return PasswordResetRequestPayload(
                errors=payload_errors(recode(exc, PasswordResetRequestErrorCode), PasswordResetRequestError)
            )
        return PasswordResetRequestPayload(requested=True)

    @strawberry.mutation(description="Set a new password with the token of a reset email (works once).")
    async def password_reset(self, info: strawberry.Info, input: PasswordResetInput) -> PasswordResetPayload:
        try:
            await info.context.clients.customers.reset_password(
                ResetPassword(input.token, input.new_password)
            )
        except ClientError as exc:
            coded = recode(exc, PasswordResetErrorCode)
            return PasswordResetPayload(errors=_renamed(payload_errors(coded, PasswordResetError)))
        return PasswordResetPayload(reset=True)
