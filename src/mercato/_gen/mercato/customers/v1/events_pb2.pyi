from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class AccountRegistered(_message.Message):
    __slots__ = ("email", "role")
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    email: str
    role: str
    def __init__(self, email: _Optional[str] = ..., role: _Optional[str] = ...) -> None: ...

class StaffPermissionsChanged(_message.Message):
    __slots__ = ("role", "permissions", "previous_role", "previous_permissions", "changed_by")
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_ROLE_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    CHANGED_BY_FIELD_NUMBER: _ClassVar[int]
    role: str
    permissions: _containers.RepeatedScalarFieldContainer[str]
    previous_role: str
    previous_permissions: _containers.RepeatedScalarFieldContainer[str]
    changed_by: str
    def __init__(self, role: _Optional[str] = ..., permissions: _Optional[_Iterable[str]] = ..., previous_role: _Optional[str] = ..., previous_permissions: _Optional[_Iterable[str]] = ..., changed_by: _Optional[str] = ...) -> None: ...
