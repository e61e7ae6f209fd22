"""A search request and its result survive the wire unchanged: the servicer rebuilds the very request
the gateway made (so the cursor it made is accepted), and the gateway the very result."""

from __future__ import annotations

import uuid

from mercato._gen.mercato.search.v1 import search_service_pb2
from mercato.search import (
    Correction,
    Facets,
    Hit,
    Interpretation,
    PriceRange,
    SearchFilter,
    SearchMode,
    SearchRequest,
    SearchResult,
)
from mercato.search.entrypoints.grpc_server import search_request, search_response
from mercato.search.grpc_client import request_message, search_result

FILTER = SearchFilter(
    category_id=uuid.uuid4(), price_min=0, price_max=None, in_stock=False, attributes=(("size", ("S", "M")),)
)


def test_a_request_comes_back_equal_and_with_the_same_cursor_binding() -> None:
    sent = SearchRequest(
        query="red tee", first=7, filter=FILTER, mode=SearchMode.LEXICAL, interpret=False, facets=True
    )
    paged = SearchRequest(
        query="red tee", first=7, after=SearchRequest("red tee", filter=FILTER).cursor(6), filter=FILTER
    )

    for request in (sent, paged, SearchRequest(query="")):
        wire = search_service_pb2.SearchRequest.FromString(request_message(request).SerializeToString())
        received = search_request(wire)
        assert received == request
        assert received.fingerprint() == request.fingerprint()
    assert search_request(request_message(paged)).offset() == 7


def test_a_request_without_a_mode_is_hybrid() -> None:
    assert search_request(search_service_pb2.SearchRequest(query="tee", first=1)).mode is SearchMode.HYBRID


def test_a_result_comes_back_equal_with_or_without_facets() -> None:
    with_facets = SearchResult(
        hits=(Hit(uuid.uuid4(), 0.123456789), Hit(uuid.uuid4(), 0.0)),
        offset=3,
        has_next_page=True,
        interpretation=Interpretation(
            text="tee",
            corrections=(Correction("tea", "tee"),),
            unknown=("zzq",),
            filter=FILTER,
            sources=(("price_max", "under $20"),),
        ),
        semantic=False,
        facets=Facets(
            categories=((uuid.uuid4(), 2),),
            prices=(PriceRange(0, 2500, 1), PriceRange(20000, None, 1)),
            attributes=(("size", (("M", 2), ("S", 1))),),
            in_stock=1,
            counted=2,
        ),
    )
    without = SearchResult(
        hits=(), offset=0, has_next_page=False, interpretation=Interpretation(""), semantic=True
    )

    for result in (with_facets, without):
        wire = search_service_pb2.SearchResponse.FromString(search_response(result).SerializeToString())
        assert search_result(wire) == result
