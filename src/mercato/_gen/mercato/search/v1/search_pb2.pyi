from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SearchMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SEARCH_MODE_UNSPECIFIED: _ClassVar[SearchMode]
    SEARCH_MODE_LEXICAL: _ClassVar[SearchMode]
    SEARCH_MODE_SEMANTIC: _ClassVar[SearchMode]
    SEARCH_MODE_HYBRID: _ClassVar[SearchMode]
SEARCH_MODE_UNSPECIFIED: SearchMode
SEARCH_MODE_LEXICAL: SearchMode
SEARCH_MODE_SEMANTIC: SearchMode
SEARCH_MODE_HYBRID: SearchMode

class AttributeFilter(_message.Message):
    __slots__ = ("name", "values")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    name: str
    values: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., values: _Optional[_Iterable[str]] = ...) -> None: ...

class SearchFilter(_message.Message):
    __slots__ = ("category_id", "price_min", "price_max", "in_stock", "attributes")
    CATEGORY_ID_FIELD_NUMBER: _ClassVar[int]
    PRICE_MIN_FIELD_NUMBER: _ClassVar[int]
    PRICE_MAX_FIELD_NUMBER: _ClassVar[int]
    IN_STOCK_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    category_id: str
    price_min: int
    price_max: int
    in_stock: bool
    attributes: _containers.RepeatedCompositeFieldContainer[AttributeFilter]
    def __init__(self, category_id: _Optional[str] = ..., price_min: _Optional[int] = ..., price_max: _Optional[int] = ..., in_stock: _Optional[bool] = ..., attributes: _Optional[_Iterable[_Union[AttributeFilter, _Mapping]]] = ...) -> None: ...

class Hit(_message.Message):
    __slots__ = ("product_id", "score")
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    score: float
    def __init__(self, product_id: _Optional[str] = ..., score: _Optional[float] = ...) -> None: ...

class Correction(_message.Message):
    __slots__ = ("typed", "searched")
    TYPED_FIELD_NUMBER: _ClassVar[int]
    SEARCHED_FIELD_NUMBER: _ClassVar[int]
    typed: str
    searched: str
    def __init__(self, typed: _Optional[str] = ..., searched: _Optional[str] = ...) -> None: ...

class FilterSource(_message.Message):
    __slots__ = ("kind", "words")
    KIND_FIELD_NUMBER: _ClassVar[int]
    WORDS_FIELD_NUMBER: _ClassVar[int]
    kind: str
    words: str
    def __init__(self, kind: _Optional[str] = ..., words: _Optional[str] = ...) -> None: ...

class Interpretation(_message.Message):
    __slots__ = ("text", "corrections", "unknown", "filter", "sources")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    CORRECTIONS_FIELD_NUMBER: _ClassVar[int]
    UNKNOWN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    text: str
    corrections: _containers.RepeatedCompositeFieldContainer[Correction]
    unknown: _containers.RepeatedScalarFieldContainer[str]
    filter: SearchFilter
    sources: _containers.RepeatedCompositeFieldContainer[FilterSource]
    def __init__(self, text: _Optional[str] = ..., corrections: _Optional[_Iterable[_Union[Correction, _Mapping]]] = ..., unknown: _Optional[_Iterable[str]] = ..., filter: _Optional[_Union[SearchFilter, _Mapping]] = ..., sources: _Optional[_Iterable[_Union[FilterSource, _Mapping]]] = ...) -> None: ...

class CategoryCount(_message.Message):
    __slots__ = ("category_id", "count")
    CATEGORY_ID_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    category_id: str
    count: int
    def __init__(self, category_id: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class PriceRange(_message.Message):
    __slots__ = ("min_amount", "max_amount", "count")
    MIN_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    MAX_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    min_amount: int
    max_amount: int
    count: int
    def __init__(self, min_amount: _Optional[int] = ..., max_amount: _Optional[int] = ..., count: _Optional[int] = ...) -> None: ...

class ValueCount(_message.Message):
    __slots__ = ("value", "count")
    VALUE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    value: str
    count: int
    def __init__(self, value: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class AttributeFacet(_message.Message):
    __slots__ = ("name", "values")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    name: str
    values: _containers.RepeatedCompositeFieldContainer[ValueCount]
    def __init__(self, name: _Optional[str] = ..., values: _Optional[_Iterable[_Union[ValueCount, _Mapping]]] = ...) -> None: ...

class Facets(_message.Message):
    __slots__ = ("categories", "prices", "attributes", "in_stock", "counted")
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    PRICES_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    IN_STOCK_FIELD_NUMBER: _ClassVar[int]
    COUNTED_FIELD_NUMBER: _ClassVar[int]
    categories: _containers.RepeatedCompositeFieldContainer[CategoryCount]
    prices: _containers.RepeatedCompositeFieldContainer[PriceRange]
    attributes: _containers.RepeatedCompositeFieldContainer[AttributeFacet]
    in_stock: int
    counted: int
    def __init__(self, categories: _Optional[_Iterable[_Union[CategoryCount, _Mapping]]] = ..., prices: _Optional[_Iterable[_Union[PriceRange, _Mapping]]] = ..., attributes: _Optional[_Iterable[_Union[AttributeFacet, _Mapping]]] = ..., in_stock: _Optional[int] = ..., counted: _Optional[int] = ...) -> None: ...

class Recommendations(_message.Message):
    __slots__ = ("product_id", "recommended_ids")
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    RECOMMENDED_IDS_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    recommended_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, product_id: _Optional[str] = ..., recommended_ids: _Optional[_Iterable[str]] = ...) -> None: ...
