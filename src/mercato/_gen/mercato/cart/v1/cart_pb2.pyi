import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from mercato._gen.mercato.common.v1 import money_pb2 as _money_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class LineIssue(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LINE_ISSUE_UNSPECIFIED: _ClassVar[LineIssue]
    LINE_ISSUE_UNKNOWN_SKU: _ClassVar[LineIssue]
    LINE_ISSUE_NOT_PURCHASABLE: _ClassVar[LineIssue]
    LINE_ISSUE_CURRENCY_MISMATCH: _ClassVar[LineIssue]
LINE_ISSUE_UNSPECIFIED: LineIssue
LINE_ISSUE_UNKNOWN_SKU: LineIssue
LINE_ISSUE_NOT_PURCHASABLE: LineIssue
LINE_ISSUE_CURRENCY_MISMATCH: LineIssue

class Cart(_message.Message):
    __slots__ = ("id", "owner_id", "lines", "created_at", "updated_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    owner_id: str
    lines: _containers.RepeatedCompositeFieldContainer[CartLine]
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., owner_id: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[CartLine, _Mapping]]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CartLine(_message.Message):
    __slots__ = ("sku", "quantity")
    SKU_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    sku: str
    quantity: int
    def __init__(self, sku: _Optional[str] = ..., quantity: _Optional[int] = ...) -> None: ...

class CartLineView(_message.Message):
    __slots__ = ("sku", "quantity", "unit_price", "total", "variant_id", "product_id", "product_name", "issue")
    SKU_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    UNIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_NAME_FIELD_NUMBER: _ClassVar[int]
    ISSUE_FIELD_NUMBER: _ClassVar[int]
    sku: str
    quantity: int
    unit_price: _money_pb2.Money
    total: _money_pb2.Money
    variant_id: str
    product_id: str
    product_name: str
    issue: LineIssue
    def __init__(self, sku: _Optional[str] = ..., quantity: _Optional[int] = ..., unit_price: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., total: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., variant_id: _Optional[str] = ..., product_id: _Optional[str] = ..., product_name: _Optional[str] = ..., issue: _Optional[_Union[LineIssue, str]] = ...) -> None: ...

class CartView(_message.Message):
    __slots__ = ("id", "owner_id", "lines", "total", "item_count", "created_at", "updated_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    ITEM_COUNT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    owner_id: str
    lines: _containers.RepeatedCompositeFieldContainer[CartLineView]
    total: _money_pb2.Money
    item_count: int
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., owner_id: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[CartLineView, _Mapping]]] = ..., total: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., item_count: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SnapshotLine(_message.Message):
    __slots__ = ("sku", "variant_id", "product_id", "product_name", "quantity", "unit_price", "total")
    SKU_FIELD_NUMBER: _ClassVar[int]
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_NAME_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    UNIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    sku: str
    variant_id: str
    product_id: str
    product_name: str
    quantity: int
    unit_price: _money_pb2.Money
    total: _money_pb2.Money
    def __init__(self, sku: _Optional[str] = ..., variant_id: _Optional[str] = ..., product_id: _Optional[str] = ..., product_name: _Optional[str] = ..., quantity: _Optional[int] = ..., unit_price: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., total: _Optional[_Union[_money_pb2.Money, _Mapping]] = ...) -> None: ...

class CartSnapshot(_message.Message):
    __slots__ = ("cart_id", "owner_id", "lines", "total", "currency", "taken_at")
    CART_ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    TAKEN_AT_FIELD_NUMBER: _ClassVar[int]
    cart_id: str
    owner_id: str
    lines: _containers.RepeatedCompositeFieldContainer[SnapshotLine]
    total: _money_pb2.Money
    currency: str
    taken_at: _timestamp_pb2.Timestamp
    def __init__(self, cart_id: _Optional[str] = ..., owner_id: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[SnapshotLine, _Mapping]]] = ..., total: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., currency: _Optional[str] = ..., taken_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
