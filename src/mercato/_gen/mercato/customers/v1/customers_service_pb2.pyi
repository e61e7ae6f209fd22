from mercato._gen.mercato.common.v1 import principal_pb2 as _principal_pb2
from mercato._gen.mercato.customers.v1 import customers_pb2 as _customers_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RegisterRequest(_message.Message):
    __slots__ = ("email", "password")
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    email: str
    password: str
    def __init__(self, email: _Optional[str] = ..., password: _Optional[str] = ...) -> None: ...

class RegisterResponse(_message.Message):
    __slots__ = ("account",)
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: _customers_pb2.Account
    def __init__(self, account: _Optional[_Union[_customers_pb2.Account, _Mapping]] = ...) -> None: ...

class CreateTokenRequest(_message.Message):
    __slots__ = ("email", "password", "ip")
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    IP_FIELD_NUMBER: _ClassVar[int]
    email: str
    password: str
    ip: str
    def __init__(self, email: _Optional[str] = ..., password: _Optional[str] = ..., ip: _Optional[str] = ...) -> None: ...

class CreateTokenResponse(_message.Message):
    __slots__ = ("tokens",)
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    tokens: _customers_pb2.TokenPair
    def __init__(self, tokens: _Optional[_Union[_customers_pb2.TokenPair, _Mapping]] = ...) -> None: ...

class RefreshTokenRequest(_message.Message):
    __slots__ = ("refresh_token",)
    REFRESH_TOKEN_FIELD_NUMBER: _ClassVar[int]
    refresh_token: str
    def __init__(self, refresh_token: _Optional[str] = ...) -> None: ...

class RefreshTokenResponse(_message.Message):
    __slots__ = ("tokens",)
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    tokens: _customers_pb2.TokenPair
    def __init__(self, tokens: _Optional[_Union[_customers_pb2.TokenPair, _Mapping]] = ...) -> None: ...

class RevokeTokenRequest(_message.Message):
    __slots__ = ("refresh_token",)
    REFRESH_TOKEN_FIELD_NUMBER: _ClassVar[int]
    refresh_token: str
    def __init__(self, refresh_token: _Optional[str] = ...) -> None: ...

class RevokeTokenResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AuthenticateRequest(_message.Message):
    __slots__ = ("access_token",)
    ACCESS_TOKEN_FIELD_NUMBER: _ClassVar[int]
    access_token: str
    def __init__(self, access_token: _Optional[str] = ...) -> None: ...

class AuthenticateResponse(_message.Message):
    __slots__ = ("principal",)
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    principal: _principal_pb2.Principal
    def __init__(self, principal: _Optional[_Union[_principal_pb2.Principal, _Mapping]] = ...) -> None: ...

class GetAccountRequest(_message.Message):
    __slots__ = ("principal",)
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    principal: _principal_pb2.Principal
    def __init__(self, principal: _Optional[_Union[_principal_pb2.Principal, _Mapping]] = ...) -> None: ...

class GetAccountResponse(_message.Message):
    __slots__ = ("account",)
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: _customers_pb2.Account
    def __init__(self, account: _Optional[_Union[_customers_pb2.Account, _Mapping]] = ...) -> None: ...

class ListAddressesRequest(_message.Message):
    __slots__ = ("principal",)
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    principal: _principal_pb2.Principal
    def __init__(self, principal: _Optional[_Union[_principal_pb2.Principal, _Mapping]] = ...) -> None: ...

class ListAddressesResponse(_message.Message):
    __slots__ = ("addresses",)
    ADDRESSES_FIELD_NUMBER: _ClassVar[int]
    addresses: _containers.RepeatedCompositeFieldContainer[_customers_pb2.Address]
    def __init__(self, addresses: _Optional[_Iterable[_Union[_customers_pb2.Address, _Mapping]]] = ...) -> None: ...

class AddAddressRequest(_message.Message):
    __slots__ = ("principal", "fields")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    principal: _principal_pb2.Principal
    fields: _customers_pb2.AddressFields
    def __init__(self, principal: _Optional[_Union[_principal_pb2.Principal, _Mapping]] = ..., fields: _Optional[_Union[_customers_pb2.AddressFields, _Mapping]] = ...) -> None: ...

class AddAddressResponse(_message.Message):
    __slots__ = ("address",)
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    address: _customers_pb2.Address
    def __init__(self, address: _Optional[_Union[_customers_pb2.Address, _Mapping]] = ...) -> None: ...

class UpdateAddressRequest(_message.Message):
    __slots__ = ("principal", "address_id", "fields")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_ID_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    principal: _principal_pb2.Principal
    address_id: str
    fields: _customers_pb2.AddressFields
    def __init__(self, principal: _Optional[_Union[_principal_pb2.Principal, _Mapping]] = ..., address_id: _Optional[str] = ..., fields: _Optional[_Union[_customers_pb2.AddressFields, _Mapping]] = ...) -> None: ...

class UpdateAddressResponse(_message.Message):
    __slots__ = ("address",)
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    address: _customers_pb2.Address
    def __init__(self, address: _Optional[_Union[_customers_pb2.Address, _Mapping]] = ...) -> None: ...

class DeleteAddressRequest(_message.Message):
    __slots__ = ("principal", "address_id")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_ID_FIELD_NUMBER: _ClassVar[int]
    principal: _principal_pb2.Principal
    address_id: str
    def __init__(self, principal: _Optional[_Union[_principal_pb2.Principal, _Mapping]] = ..., address_id: _Optional[str] = ...) -> None: ...

class DeleteAddressResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SetStaffPermissionsRequest(_message.Message):
    __slots__ = ("actor", "user_id", "role", "permissions")
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    actor: _principal_pb2.Principal
    user_id: str
    role: _principal_pb2.Role
    permissions: _containers.RepeatedScalarFieldContainer[_principal_pb2.Permission]
    def __init__(self, actor: _Optional[_Union[_principal_pb2.Principal, _Mapping]] = ..., user_id: _Optional[str] = ..., role: _Optional[_Union[_principal_pb2.Role, str]] = ..., permissions: _Optional[_Iterable[_Union[_principal_pb2.Permission, str]]] = ...) -> None: ...

class SetStaffPermissionsResponse(_message.Message):
    __slots__ = ("account",)
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: _customers_pb2.Account
    def __init__(self, account: _Optional[_Union[_customers_pb2.Account, _Mapping]] = ...) -> None: ...

class RevokeAllTokensRequest(_message.Message):
    __slots__ = ("principal",)
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    principal: _principal_pb2.Principal
    def __init__(self, principal: _Optional[_Union[_principal_pb2.Principal, _Mapping]] = ...) -> None: ...

class RevokeAllTokensResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SetAccountActiveRequest(_message.Message):
    __slots__ = ("actor", "user_id", "active")
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    actor: _principal_pb2.Principal
    user_id: str
    active: bool
    def __init__(self, actor: _Optional[_Union[_principal_pb2.Principal, _Mapping]] = ..., user_id: _Optional[str] = ..., active: _Optional[bool] = ...) -> None: ...

class SetAccountActiveResponse(_message.Message):
    __slots__ = ("account",)
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: _customers_pb2.Account
    def __init__(self, account: _Optional[_Union[_customers_pb2.Account, _Mapping]] = ...) -> None: ...

class ChangePasswordRequest(_message.Message):
    __slots__ = ("principal", "current_password", "new_password")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    CURRENT_PASSWORD_FIELD_NUMBER: _ClassVar[int]
    NEW_PASSWORD_FIELD_NUMBER: _ClassVar[int]
    principal: _principal_pb2.Principal
    current_password: str
    new_password: str
    def __init__(self, principal: _Optional[_Union[_principal_pb2.Principal, _Mapping]] = ..., current_password: _Optional[str] = ..., new_password: _Optional[str] = ...) -> None: ...

class ChangePasswordResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RequestPasswordResetRequest(_message.Message):
    __slots__ = ("email",)
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    email: str
    def __init__(self, email: _Optional[str] = ...) -> None: ...

class RequestPasswordResetResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ResetPasswordRequest(_message.Message):
    __slots__ = ("token", "new_password")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    NEW_PASSWORD_FIELD_NUMBER: _ClassVar[int]
    token: str
    new_password: str
    def __init__(self, token: _Optional[str] = ..., new_password: _Optional[str] = ...) -> None: ...

class ResetPasswordResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
