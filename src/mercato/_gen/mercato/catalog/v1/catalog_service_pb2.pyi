from google.protobuf import struct_pb2 as _struct_pb2
from mercato._gen.mercato.catalog.v1 import catalog_pb2 as _catalog_pb2
from mercato._gen.mercato.common.v1 import money_pb2 as _money_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ListProductsRequest(_message.Message):
    __slots__ = ("first", "after", "filter", "sort", "descending", "include_availability")
    FIRST_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    SORT_FIELD_NUMBER: _ClassVar[int]
    DESCENDING_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_AVAILABILITY_FIELD_NUMBER: _ClassVar[int]
    first: int
    after: str
    filter: _catalog_pb2.ProductFilter
    sort: _catalog_pb2.ProductSort
    descending: bool
    include_availability: bool
    def __init__(self, first: _Optional[int] = ..., after: _Optional[str] = ..., filter: _Optional[_Union[_catalog_pb2.ProductFilter, _Mapping]] = ..., sort: _Optional[_Union[_catalog_pb2.ProductSort, str]] = ..., descending: _Optional[bool] = ..., include_availability: _Optional[bool] = ...) -> None: ...

class ListProductsResponse(_message.Message):
    __slots__ = ("items", "has_next_page", "available", "categories")
    class AvailableEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    HAS_NEXT_PAGE_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[_catalog_pb2.Product]
    has_next_page: bool
    available: _containers.ScalarMap[str, int]
    categories: _containers.RepeatedCompositeFieldContainer[_catalog_pb2.Category]
    def __init__(self, items: _Optional[_Iterable[_Union[_catalog_pb2.Product, _Mapping]]] = ..., has_next_page: _Optional[bool] = ..., available: _Optional[_Mapping[str, int]] = ..., categories: _Optional[_Iterable[_Union[_catalog_pb2.Category, _Mapping]]] = ...) -> None: ...

class GetProductRequest(_message.Message):
    __slots__ = ("product_id", "slug")
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    SLUG_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    slug: str
    def __init__(self, product_id: _Optional[str] = ..., slug: _Optional[str] = ...) -> None: ...

class GetProductResponse(_message.Message):
    __slots__ = ("product",)
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    product: _catalog_pb2.Product
    def __init__(self, product: _Optional[_Union[_catalog_pb2.Product, _Mapping]] = ...) -> None: ...

class GetProductsByIdsRequest(_message.Message):
    __slots__ = ("ids", "include_unpublished")
    IDS_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_UNPUBLISHED_FIELD_NUMBER: _ClassVar[int]
    ids: _containers.RepeatedScalarFieldContainer[str]
    include_unpublished: bool
    def __init__(self, ids: _Optional[_Iterable[str]] = ..., include_unpublished: _Optional[bool] = ...) -> None: ...

class GetProductsByIdsResponse(_message.Message):
    __slots__ = ("products",)
    PRODUCTS_FIELD_NUMBER: _ClassVar[int]
    products: _containers.RepeatedCompositeFieldContainer[_catalog_pb2.Product]
    def __init__(self, products: _Optional[_Iterable[_Union[_catalog_pb2.Product, _Mapping]]] = ...) -> None: ...

class GetVariantRequest(_message.Message):
    __slots__ = ("variant_id",)
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    variant_id: str
    def __init__(self, variant_id: _Optional[str] = ...) -> None: ...

class GetVariantResponse(_message.Message):
    __slots__ = ("variant",)
    VARIANT_FIELD_NUMBER: _ClassVar[int]
    variant: _catalog_pb2.Variant
    def __init__(self, variant: _Optional[_Union[_catalog_pb2.Variant, _Mapping]] = ...) -> None: ...

class GetVariantsBySkusRequest(_message.Message):
    __slots__ = ("skus",)
    SKUS_FIELD_NUMBER: _ClassVar[int]
    skus: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, skus: _Optional[_Iterable[str]] = ...) -> None: ...

class GetVariantsBySkusResponse(_message.Message):
    __slots__ = ("variants",)
    class VariantsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _catalog_pb2.Variant
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_catalog_pb2.Variant, _Mapping]] = ...) -> None: ...
    VARIANTS_FIELD_NUMBER: _ClassVar[int]
    variants: _containers.MessageMap[str, _catalog_pb2.Variant]
    def __init__(self, variants: _Optional[_Mapping[str, _catalog_pb2.Variant]] = ...) -> None: ...

class GetSkuPricesRequest(_message.Message):
    __slots__ = ("skus",)
    SKUS_FIELD_NUMBER: _ClassVar[int]
    skus: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, skus: _Optional[_Iterable[str]] = ...) -> None: ...

class GetSkuPricesResponse(_message.Message):
    __slots__ = ("prices",)
    PRICES_FIELD_NUMBER: _ClassVar[int]
    prices: _containers.RepeatedCompositeFieldContainer[SkuPrice]
    def __init__(self, prices: _Optional[_Iterable[_Union[SkuPrice, _Mapping]]] = ...) -> None: ...

class SkuPrice(_message.Message):
    __slots__ = ("sku", "variant_id", "product_id", "price_amount", "currency", "product_name")
    SKU_FIELD_NUMBER: _ClassVar[int]
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    PRICE_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_NAME_FIELD_NUMBER: _ClassVar[int]
    sku: str
    variant_id: str
    product_id: str
    price_amount: int
    currency: str
    product_name: str
    def __init__(self, sku: _Optional[str] = ..., variant_id: _Optional[str] = ..., product_id: _Optional[str] = ..., price_amount: _Optional[int] = ..., currency: _Optional[str] = ..., product_name: _Optional[str] = ...) -> None: ...

class GetSkuAvailabilityRequest(_message.Message):
    __slots__ = ("skus",)
    SKUS_FIELD_NUMBER: _ClassVar[int]
    skus: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, skus: _Optional[_Iterable[str]] = ...) -> None: ...

class GetSkuAvailabilityResponse(_message.Message):
    __slots__ = ("available",)
    class AvailableEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    available: _containers.ScalarMap[str, int]
    def __init__(self, available: _Optional[_Mapping[str, int]] = ...) -> None: ...

class ListCategoriesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListCategoriesResponse(_message.Message):
    __slots__ = ("categories",)
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    categories: _containers.RepeatedCompositeFieldContainer[_catalog_pb2.Category]
    def __init__(self, categories: _Optional[_Iterable[_Union[_catalog_pb2.Category, _Mapping]]] = ...) -> None: ...

class CreateProductRequest(_message.Message):
    __slots__ = ("slug", "name", "description", "category_id", "attributes", "media", "published", "variants")
    SLUG_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_ID_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    MEDIA_FIELD_NUMBER: _ClassVar[int]
    PUBLISHED_FIELD_NUMBER: _ClassVar[int]
    VARIANTS_FIELD_NUMBER: _ClassVar[int]
    slug: str
    name: str
    description: str
    category_id: str
    attributes: _struct_pb2.Struct
    media: _containers.RepeatedScalarFieldContainer[str]
    published: bool
    variants: _containers.RepeatedCompositeFieldContainer[_catalog_pb2.NewVariant]
    def __init__(self, slug: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., category_id: _Optional[str] = ..., attributes: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., media: _Optional[_Iterable[str]] = ..., published: _Optional[bool] = ..., variants: _Optional[_Iterable[_Union[_catalog_pb2.NewVariant, _Mapping]]] = ...) -> None: ...

class CreateProductResponse(_message.Message):
    __slots__ = ("product_id",)
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    def __init__(self, product_id: _Optional[str] = ...) -> None: ...

class UpdateProductRequest(_message.Message):
    __slots__ = ("product_id", "changes")
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    changes: _struct_pb2.Struct
    def __init__(self, product_id: _Optional[str] = ..., changes: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class UpdateProductResponse(_message.Message):
    __slots__ = ("product_id",)
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    def __init__(self, product_id: _Optional[str] = ...) -> None: ...

class DeleteProductRequest(_message.Message):
    __slots__ = ("product_id",)
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    def __init__(self, product_id: _Optional[str] = ...) -> None: ...

class DeleteProductResponse(_message.Message):
    __slots__ = ("product_id",)
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    def __init__(self, product_id: _Optional[str] = ...) -> None: ...

class CreateVariantRequest(_message.Message):
    __slots__ = ("product_id", "sku", "price", "attributes")
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    sku: str
    price: _money_pb2.Money
    attributes: _struct_pb2.Struct
    def __init__(self, product_id: _Optional[str] = ..., sku: _Optional[str] = ..., price: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., attributes: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class CreateVariantResponse(_message.Message):
    __slots__ = ("variant_id",)
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    variant_id: str
    def __init__(self, variant_id: _Optional[str] = ...) -> None: ...

class UpdateVariantRequest(_message.Message):
    __slots__ = ("variant_id", "price", "attributes")
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    variant_id: str
    price: _money_pb2.Money
    attributes: _struct_pb2.Struct
    def __init__(self, variant_id: _Optional[str] = ..., price: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., attributes: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class UpdateVariantResponse(_message.Message):
    __slots__ = ("variant_id",)
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    variant_id: str
    def __init__(self, variant_id: _Optional[str] = ...) -> None: ...

class CreateCategoryRequest(_message.Message):
    __slots__ = ("slug", "name", "parent_id", "position")
    SLUG_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PARENT_ID_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    slug: str
    name: str
    parent_id: str
    position: int
    def __init__(self, slug: _Optional[str] = ..., name: _Optional[str] = ..., parent_id: _Optional[str] = ..., position: _Optional[int] = ...) -> None: ...

class CreateCategoryResponse(_message.Message):
    __slots__ = ("category_id",)
    CATEGORY_ID_FIELD_NUMBER: _ClassVar[int]
    category_id: str
    def __init__(self, category_id: _Optional[str] = ...) -> None: ...
