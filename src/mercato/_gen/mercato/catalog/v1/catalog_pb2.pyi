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

class ProductSort(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PRODUCT_SORT_UNSPECIFIED: _ClassVar[ProductSort]
    PRODUCT_SORT_NAME: _ClassVar[ProductSort]
    PRODUCT_SORT_PRICE: _ClassVar[ProductSort]
    PRODUCT_SORT_CREATED_AT: _ClassVar[ProductSort]
PRODUCT_SORT_UNSPECIFIED: ProductSort
PRODUCT_SORT_NAME: ProductSort
PRODUCT_SORT_PRICE: ProductSort
PRODUCT_SORT_CREATED_AT: ProductSort

class Product(_message.Message):
    __slots__ = ("id", "slug", "name", "description", "category_id", "attributes", "media", "published", "min_price_amount", "currency", "created_at", "updated_at", "variants")
    ID_FIELD_NUMBER: _ClassVar[int]
    SLUG_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_ID_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    MEDIA_FIELD_NUMBER: _ClassVar[int]
    PUBLISHED_FIELD_NUMBER: _ClassVar[int]
    MIN_PRICE_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    VARIANTS_FIELD_NUMBER: _ClassVar[int]
    id: str
    slug: str
    name: str
    description: str
    category_id: str
    attributes: _struct_pb2.Struct
    media: _containers.RepeatedScalarFieldContainer[str]
    published: bool
    min_price_amount: int
    currency: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    variants: _containers.RepeatedCompositeFieldContainer[Variant]
    def __init__(self, id: _Optional[str] = ..., slug: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., category_id: _Optional[str] = ..., attributes: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., media: _Optional[_Iterable[str]] = ..., published: _Optional[bool] = ..., min_price_amount: _Optional[int] = ..., currency: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., variants: _Optional[_Iterable[_Union[Variant, _Mapping]]] = ...) -> None: ...

class Variant(_message.Message):
    __slots__ = ("id", "product_id", "sku", "attributes", "price_amount", "currency")
    ID_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    PRICE_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    id: str
    product_id: str
    sku: str
    attributes: _struct_pb2.Struct
    price_amount: int
    currency: str
    def __init__(self, id: _Optional[str] = ..., product_id: _Optional[str] = ..., sku: _Optional[str] = ..., attributes: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., price_amount: _Optional[int] = ..., currency: _Optional[str] = ...) -> None: ...

class Category(_message.Message):
    __slots__ = ("id", "slug", "name", "parent_id", "position")
    ID_FIELD_NUMBER: _ClassVar[int]
    SLUG_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PARENT_ID_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    id: str
    slug: str
    name: str
    parent_id: str
    position: int
    def __init__(self, id: _Optional[str] = ..., slug: _Optional[str] = ..., name: _Optional[str] = ..., parent_id: _Optional[str] = ..., position: _Optional[int] = ...) -> None: ...

class ProductFilter(_message.Message):
    __slots__ = ("category_id", "search", "price_min", "price_max", "in_stock", "attributes")
    CATEGORY_ID_FIELD_NUMBER: _ClassVar[int]
    SEARCH_FIELD_NUMBER: _ClassVar[int]
    PRICE_MIN_FIELD_NUMBER: _ClassVar[int]
    PRICE_MAX_FIELD_NUMBER: _ClassVar[int]
    IN_STOCK_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    category_id: str
    search: str
    price_min: int
    price_max: int
    in_stock: bool
    attributes: _containers.RepeatedCompositeFieldContainer[AttributeFilter]
    def __init__(self, category_id: _Optional[str] = ..., search: _Optional[str] = ..., price_min: _Optional[int] = ..., price_max: _Optional[int] = ..., in_stock: _Optional[bool] = ..., attributes: _Optional[_Iterable[_Union[AttributeFilter, _Mapping]]] = ...) -> None: ...

class AttributeFilter(_message.Message):
    __slots__ = ("name", "values")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    name: str
    values: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., values: _Optional[_Iterable[str]] = ...) -> None: ...

class NewVariant(_message.Message):
    __slots__ = ("sku", "price", "attributes")
    SKU_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    sku: str
    price: _money_pb2.Money
    attributes: _struct_pb2.Struct
    def __init__(self, sku: _Optional[str] = ..., price: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., attributes: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...
