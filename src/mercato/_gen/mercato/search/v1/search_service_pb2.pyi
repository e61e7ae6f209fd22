from mercato._gen.mercato.search.v1 import search_pb2 as _search_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SearchRequest(_message.Message):
    __slots__ = ("query", "first", "after", "filter", "mode", "interpret", "facets")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    FIRST_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    INTERPRET_FIELD_NUMBER: _ClassVar[int]
    FACETS_FIELD_NUMBER: _ClassVar[int]
    query: str
    first: int
    after: str
    filter: _search_pb2.SearchFilter
    mode: _search_pb2.SearchMode
    interpret: bool
    facets: bool
    def __init__(self, query: _Optional[str] = ..., first: _Optional[int] = ..., after: _Optional[str] = ..., filter: _Optional[_Union[_search_pb2.SearchFilter, _Mapping]] = ..., mode: _Optional[_Union[_search_pb2.SearchMode, str]] = ..., interpret: _Optional[bool] = ..., facets: _Optional[bool] = ...) -> None: ...

class SearchResponse(_message.Message):
    __slots__ = ("hits", "offset", "has_next_page", "interpretation", "semantic", "facets")
    HITS_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    HAS_NEXT_PAGE_FIELD_NUMBER: _ClassVar[int]
    INTERPRETATION_FIELD_NUMBER: _ClassVar[int]
    SEMANTIC_FIELD_NUMBER: _ClassVar[int]
    FACETS_FIELD_NUMBER: _ClassVar[int]
    hits: _containers.RepeatedCompositeFieldContainer[_search_pb2.Hit]
    offset: int
    has_next_page: bool
    interpretation: _search_pb2.Interpretation
    semantic: bool
    facets: _search_pb2.Facets
    def __init__(self, hits: _Optional[_Iterable[_Union[_search_pb2.Hit, _Mapping]]] = ..., offset: _Optional[int] = ..., has_next_page: _Optional[bool] = ..., interpretation: _Optional[_Union[_search_pb2.Interpretation, _Mapping]] = ..., semantic: _Optional[bool] = ..., facets: _Optional[_Union[_search_pb2.Facets, _Mapping]] = ...) -> None: ...

class SimilarRequest(_message.Message):
    __slots__ = ("product_ids", "first")
    PRODUCT_IDS_FIELD_NUMBER: _ClassVar[int]
    FIRST_FIELD_NUMBER: _ClassVar[int]
    product_ids: _containers.RepeatedScalarFieldContainer[str]
    first: int
    def __init__(self, product_ids: _Optional[_Iterable[str]] = ..., first: _Optional[int] = ...) -> None: ...

class SimilarResponse(_message.Message):
    __slots__ = ("recommendations",)
    RECOMMENDATIONS_FIELD_NUMBER: _ClassVar[int]
    recommendations: _containers.RepeatedCompositeFieldContainer[_search_pb2.Recommendations]
    def __init__(self, recommendations: _Optional[_Iterable[_Union[_search_pb2.Recommendations, _Mapping]]] = ...) -> None: ...

class BoughtTogetherRequest(_message.Message):
    __slots__ = ("product_ids", "first")
    PRODUCT_IDS_FIELD_NUMBER: _ClassVar[int]
    FIRST_FIELD_NUMBER: _ClassVar[int]
    product_ids: _containers.RepeatedScalarFieldContainer[str]
    first: int
    def __init__(self, product_ids: _Optional[_Iterable[str]] = ..., first: _Optional[int] = ...) -> None: ...

class BoughtTogetherResponse(_message.Message):
    __slots__ = ("recommendations",)
    RECOMMENDATIONS_FIELD_NUMBER: _ClassVar[int]
    recommendations: _containers.RepeatedCompositeFieldContainer[_search_pb2.Recommendations]
    def __init__(self, recommendations: _Optional[_Iterable[_Union[_search_pb2.Recommendations, _Mapping]]] = ...) -> None: ...
