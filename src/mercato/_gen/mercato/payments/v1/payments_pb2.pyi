import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from mercato._gen.mercato.common.v1 import money_pb2 as _money_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class IntentStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INTENT_STATUS_UNSPECIFIED: _ClassVar[IntentStatus]
    INTENT_STATUS_REQUIRES_AUTHORIZATION: _ClassVar[IntentStatus]
    INTENT_STATUS_AUTHORIZED: _ClassVar[IntentStatus]
    INTENT_STATUS_CAPTURED: _ClassVar[IntentStatus]
    INTENT_STATUS_PARTIALLY_REFUNDED: _ClassVar[IntentStatus]
    INTENT_STATUS_REFUNDED: _ClassVar[IntentStatus]
    INTENT_STATUS_VOIDED: _ClassVar[IntentStatus]
    INTENT_STATUS_FAILED: _ClassVar[IntentStatus]
INTENT_STATUS_UNSPECIFIED: IntentStatus
INTENT_STATUS_REQUIRES_AUTHORIZATION: IntentStatus
INTENT_STATUS_AUTHORIZED: IntentStatus
INTENT_STATUS_CAPTURED: IntentStatus
INTENT_STATUS_PARTIALLY_REFUNDED: IntentStatus
INTENT_STATUS_REFUNDED: IntentStatus
INTENT_STATUS_VOIDED: IntentStatus
INTENT_STATUS_FAILED: IntentStatus

class PaymentIntent(_message.Message):
    __slots__ = ("id", "order_reference", "amount", "status", "provider", "provider_reference", "captured_amount", "refunded_amount", "created_at", "updated_at", "version", "failure_code")
    ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    CAPTURED_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    REFUNDED_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    FAILURE_CODE_FIELD_NUMBER: _ClassVar[int]
    id: str
    order_reference: str
    amount: _money_pb2.Money
    status: IntentStatus
    provider: str
    provider_reference: str
    captured_amount: _money_pb2.Money
    refunded_amount: _money_pb2.Money
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    version: int
    failure_code: str
    def __init__(self, id: _Optional[str] = ..., order_reference: _Optional[str] = ..., amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., status: _Optional[_Union[IntentStatus, str]] = ..., provider: _Optional[str] = ..., provider_reference: _Optional[str] = ..., captured_amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., refunded_amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., version: _Optional[int] = ..., failure_code: _Optional[str] = ...) -> None: ...

class Reconciliation(_message.Message):
    __slots__ = ("order_reference", "currency", "authorized", "captured", "refunded", "voided")
    ORDER_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    AUTHORIZED_FIELD_NUMBER: _ClassVar[int]
    CAPTURED_FIELD_NUMBER: _ClassVar[int]
    REFUNDED_FIELD_NUMBER: _ClassVar[int]
    VOIDED_FIELD_NUMBER: _ClassVar[int]
    order_reference: str
    currency: str
    authorized: int
    captured: int
    refunded: int
    voided: int
    def __init__(self, order_reference: _Optional[str] = ..., currency: _Optional[str] = ..., authorized: _Optional[int] = ..., captured: _Optional[int] = ..., refunded: _Optional[int] = ..., voided: _Optional[int] = ...) -> None: ...
