"""Customers context: accounts, sign-in (access and refresh tokens), throttling, address books and
staff permissions. It establishes identity; every other context only checks a `Principal`.

Other contexts use only what is exported here: its commands, results, events, error codes, the
`CustomersClient` Protocol (`mercato.customers.client`) and `verify_access_token`.
"""

from mercato.customers.client import CustomersClient
from mercato.customers.domain import events
from mercato.customers.domain.addresses import MAX_ADDRESSES, AddressFields
from mercato.customers.domain.commands import (
    AddAddress,
    ChangePassword,
    CreateAdmin,
    CreateToken,
    DeleteAddress,
    RefreshToken,
    RegisterAccount,
    RequestPasswordReset,
    ResetPassword,
    RevokeAllTokens,
    RevokeToken,
    SetAccountActive,
    SetStaffPermissions,
    UpdateAddress,
)
from mercato.customers.domain.errors import (
    AccountRegisterErrorCode,
    AccountSetActiveErrorCode,
    AddressCreateErrorCode,
    AddressDeleteErrorCode,
    AddressUpdateErrorCode,
    AdminCreateErrorCode,
    PasswordChangeErrorCode,
    PasswordResetErrorCode,
    PasswordResetRequestErrorCode,
    StaffPermissionsSetErrorCode,
    TokenCreateErrorCode,
    TokenRefreshErrorCode,
    TokenRevokeAllErrorCode,
    TokenRevokeErrorCode,
)
from mercato.customers.service_layer.access_tokens import verify_access_token
from mercato.customers.service_layer.queries import AccountView, AddressView
from mercato.customers.service_layer.sessions import TokenPair
from mercato.platform.migrations import MigrationSource, script_location

MIGRATIONS = MigrationSource(schema="customers", script_location=script_location(__file__))

__all__ = [
    "MAX_ADDRESSES",
    "MIGRATIONS",
    "AccountRegisterErrorCode",
    "AccountSetActiveErrorCode",
    "AccountView",
    "AddAddress",
    "AddressCreateErrorCode",
    "AddressDeleteErrorCode",
    "AddressFields",
    "AddressUpdateErrorCode",
    "AddressView",
    "AdminCreateErrorCode",
    "ChangePassword",
    "CreateAdmin",
    "CreateToken",
    "CustomersClient",
    "DeleteAddress",
    "PasswordChangeErrorCode",
    "PasswordResetErrorCode",
    "PasswordResetRequestErrorCode",
    "RefreshToken",
    "RegisterAccount",
    "RequestPasswordReset",
    "ResetPassword",
    "RevokeAllTokens",
    "RevokeToken",
    "SetAccountActive",
    "SetStaffPermissions",
    "StaffPermissionsSetErrorCode",
    "TokenCreateErrorCode",
    "TokenPair",
    "TokenRefreshErrorCode",
    "TokenRevokeAllErrorCode",
    "TokenRevokeErrorCode",
    "UpdateAddress",
    "events",
    "verify_access_token",
]
