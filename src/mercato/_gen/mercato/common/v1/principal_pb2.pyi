from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Role(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROLE_UNSPECIFIED: _ClassVar[Role]
    ROLE_CUSTOMER: _ClassVar[Role]
    ROLE_STAFF: _ClassVar[Role]
    ROLE_ADMIN: _ClassVar[Role]

class Permission(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PERMISSION_UNSPECIFIED: _ClassVar[Permission]
    PERMISSION_CATALOG_WRITE: _ClassVar[Permission]
    PERMISSION_INVENTORY_READ: _ClassVar[Permission]
    PERMISSION_INVENTORY_WRITE: _ClassVar[Permission]
    PERMISSION_ORDERS_MANAGE: _ClassVar[Permission]
    PERMISSION_PAYMENTS_REFUND: _ClassVar[Permission]
    PERMISSION_STAFF_MANAGE: _ClassVar[Permission]
    PERMISSION_CUSTOMERS_MANAGE: _ClassVar[Permission]
ROLE_UNSPECIFIED: Role
ROLE_CUSTOMER: Role
ROLE_STAFF: Role
ROLE_ADMIN: Role
PERMISSION_UNSPECIFIED: Permission
PERMISSION_CATALOG_WRITE: Permission
PERMISSION_INVENTORY_READ: Permission
PERMISSION_INVENTORY_WRITE: Permission
PERMISSION_ORDERS_MANAGE: Permission
PERMISSION_PAYMENTS_REFUND: Permission
PERMISSION_STAFF_MANAGE: Permission
PERMISSION_CUSTOMERS_MANAGE: Permission

class Principal(_message.Message):
    __slots__ = ("user_id", "email", "role", "permissions")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    email: str
    role: Role
    permissions: _containers.RepeatedScalarFieldContainer[Permission]
    def __init__(self, user_id: _Optional[str] = ..., email: _Optional[str] = ..., role: _Optional[_Union[Role, str]] = ..., permissions: _Optional[_Iterable[_Union[Permission, str]]] = ...) -> None: ...
