import datetime

from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from mercato._gen.mercato.common.v1 import money_pb2 as _money_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class OrderStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORDER_STATUS_UNSPECIFIED: _ClassVar[OrderStatus]
    ORDER_STATUS_PENDING: _ClassVar[OrderStatus]
    ORDER_STATUS_STOCK_RESERVED: _ClassVar[OrderStatus]
    ORDER_STATUS_PAYMENT_AUTHORIZED: _ClassVar[OrderStatus]
    ORDER_STATUS_PAYMENT_CAPTURED: _ClassVar[OrderStatus]
    ORDER_STATUS_COMPENSATING: _ClassVar[OrderStatus]
    ORDER_STATUS_CONFIRMED: _ClassVar[OrderStatus]
    ORDER_STATUS_REJECTED: _ClassVar[OrderStatus]
    ORDER_STATUS_CANCELLING: _ClassVar[OrderStatus]
    ORDER_STATUS_CANCELLED: _ClassVar[OrderStatus]
    ORDER_STATUS_FULFILLED: _ClassVar[OrderStatus]
    ORDER_STATUS_PARTIALLY_REFUNDED: _ClassVar[OrderStatus]
    ORDER_STATUS_REFUNDED: _ClassVar[OrderStatus]

class RejectReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REJECT_REASON_UNSPECIFIED: _ClassVar[RejectReason]
    REJECT_REASON_OUT_OF_STOCK: _ClassVar[RejectReason]
    REJECT_REASON_PAYMENT_DECLINED: _ClassVar[RejectReason]
    REJECT_REASON_INSUFFICIENT_FUNDS: _ClassVar[RejectReason]
    REJECT_REASON_PAYMENT_ERROR: _ClassVar[RejectReason]
    REJECT_REASON_TIMEOUT: _ClassVar[RejectReason]
ORDER_STATUS_UNSPECIFIED: OrderStatus
ORDER_STATUS_PENDING: OrderStatus
ORDER_STATUS_STOCK_RESERVED: OrderStatus
ORDER_STATUS_PAYMENT_AUTHORIZED: OrderStatus
ORDER_STATUS_PAYMENT_CAPTURED: OrderStatus
ORDER_STATUS_COMPENSATING: OrderStatus
ORDER_STATUS_CONFIRMED: OrderStatus
ORDER_STATUS_REJECTED: OrderStatus
ORDER_STATUS_CANCELLING: OrderStatus
ORDER_STATUS_CANCELLED: OrderStatus
ORDER_STATUS_FULFILLED: OrderStatus
ORDER_STATUS_PARTIALLY_REFUNDED: OrderStatus
ORDER_STATUS_REFUNDED: OrderStatus
REJECT_REASON_UNSPECIFIED: RejectReason
REJECT_REASON_OUT_OF_STOCK: RejectReason
REJECT_REASON_PAYMENT_DECLINED: RejectReason
REJECT_REASON_INSUFFICIENT_FUNDS: RejectReason
REJECT_REASON_PAYMENT_ERROR: RejectReason
REJECT_REASON_TIMEOUT: RejectReason

class OrderLine(_message.Message):
    __slots__ = ("sku", "quantity", "unit_price")
    SKU_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    UNIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    sku: str
    quantity: int
    unit_price: _money_pb2.Money
    def __init__(self, sku: _Optional[str] = ..., quantity: _Optional[int] = ..., unit_price: _Optional[_Union[_money_pb2.Money, _Mapping]] = ...) -> None: ...

class StatusChange(_message.Message):
    __slots__ = ("status", "reason", "at", "actor", "note")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    status: OrderStatus
    reason: RejectReason
    at: _timestamp_pb2.Timestamp
    actor: str
    note: str
    def __init__(self, status: _Optional[_Union[OrderStatus, str]] = ..., reason: _Optional[_Union[RejectReason, str]] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., actor: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class Order(_message.Message):
    __slots__ = ("id", "customer_id", "status", "reason", "lines", "total", "shipping_address", "created_at", "history", "refunded", "tracking_number")
    ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    SHIPPING_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    REFUNDED_FIELD_NUMBER: _ClassVar[int]
    TRACKING_NUMBER_FIELD_NUMBER: _ClassVar[int]
    id: str
    customer_id: str
    status: OrderStatus
    reason: RejectReason
    lines: _containers.RepeatedCompositeFieldContainer[OrderLine]
    total: _money_pb2.Money
    shipping_address: _struct_pb2.Struct
    created_at: _timestamp_pb2.Timestamp
    history: _containers.RepeatedCompositeFieldContainer[StatusChange]
    refunded: _money_pb2.Money
    tracking_number: str
    def __init__(self, id: _Optional[str] = ..., customer_id: _Optional[str] = ..., status: _Optional[_Union[OrderStatus, str]] = ..., reason: _Optional[_Union[RejectReason, str]] = ..., lines: _Optional[_Iterable[_Union[OrderLine, _Mapping]]] = ..., total: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., shipping_address: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., history: _Optional[_Iterable[_Union[StatusChange, _Mapping]]] = ..., refunded: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., tracking_number: _Optional[str] = ...) -> None: ...
