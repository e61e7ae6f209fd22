from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class CategoryCreated(_message.Message):
    __slots__ = ("slug", "parent_id")
    SLUG_FIELD_NUMBER: _ClassVar[int]
    PARENT_ID_FIELD_NUMBER: _ClassVar[int]
    slug: str
    parent_id: str
    def __init__(self, slug: _Optional[str] = ..., parent_id: _Optional[str] = ...) -> None: ...

class ProductCreated(_message.Message):
    __slots__ = ("slug", "skus")
    SLUG_FIELD_NUMBER: _ClassVar[int]
    SKUS_FIELD_NUMBER: _ClassVar[int]
    slug: str
    skus: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, slug: _Optional[str] = ..., skus: _Optional[_Iterable[str]] = ...) -> None: ...

class ProductUpdated(_message.Message):
    __slots__ = ("changed",)
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    changed: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, changed: _Optional[_Iterable[str]] = ...) -> None: ...

class ProductPublished(_message.Message):
    __slots__ = ("published",)
    PUBLISHED_FIELD_NUMBER: _ClassVar[int]
    published: bool
    def __init__(self, published: _Optional[bool] = ...) -> None: ...

class ProductDeleted(_message.Message):
    __slots__ = ("skus",)
    SKUS_FIELD_NUMBER: _ClassVar[int]
    skus: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, skus: _Optional[_Iterable[str]] = ...) -> None: ...

class VariantCreated(_message.Message):
    __slots__ = ("variant_id", "sku", "price_amount", "currency")
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    PRICE_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    variant_id: str
    sku: str
    price_amount: int
    currency: str
    def __init__(self, variant_id: _Optional[str] = ..., sku: _Optional[str] = ..., price_amount: _Optional[int] = ..., currency: _Optional[str] = ...) -> None: ...

class VariantUpdated(_message.Message):
    __slots__ = ("variant_id", "sku")
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    variant_id: str
    sku: str
    def __init__(self, variant_id: _Optional[str] = ..., sku: _Optional[str] = ...) -> None: ...

class VariantPriceChanged(_message.Message):
    __slots__ = ("variant_id", "sku", "old_amount", "new_amount", "currency")
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    OLD_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    NEW_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    variant_id: str
    sku: str
    old_amount: int
    new_amount: int
    currency: str
    def __init__(self, variant_id: _Optional[str] = ..., sku: _Optional[str] = ..., old_amount: _Optional[int] = ..., new_amount: _Optional[int] = ..., currency: _Optional[str] = ...) -> None: ...
