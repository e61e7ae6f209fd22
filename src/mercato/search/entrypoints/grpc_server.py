"""Search over gRPC (`mercato.search.v1.SearchService`): request -> `SearchRequest` -> the engine's
answer -> response.

Only translation lives here; authentication and error mapping are the platform server's
(`mercato.platform.grpc.server`): a malformed request raises the engine's own `ClientError`, which
arrives at the caller as the same class with the same field.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, Protocol

from mercato._gen.mercato.search.v1 import search_pb2, search_service_pb2, search_service_pb2_grpc
from mercato.platform.grpc.convert import parse_uuid
from mercato.platform.grpc.server import ServiceRegistration
from mercato.search.domain.commands import BoughtTogether, SimilarProducts
from mercato.search.entrypoints.wire import filter_message, search_filter, search_mode
from mercato.search.service_layer.engine import SearchEngine
from mercato.search.service_layer.facets import Facets
from mercato.search.service_layer.requests import Interpretation, SearchRequest, SearchResult

SERVICE_NAME = "mercato.search.v1.SearchService"


class SearchService(Protocol):
    """What the servicer uses of `bootstrap.SearchService` (entrypoints sit below bootstrap)."""

    engine: SearchEngine

    async def handle(
        self, cmd: SimilarProducts | BoughtTogether
    ) -> dict[uuid.UUID, tuple[uuid.UUID, ...]]: ...


def search_request(message: search_service_pb2.SearchRequest) -> SearchRequest:
    return SearchRequest(
        query=message.query,
        first=message.first,
        after=message.after if message.HasField("after") else None,
        filter=search_filter(message.filter),
        mode=search_mode(message.mode),
        interpret=message.interpret,
        facets=message.facets,
    )


def interpretation_message(reading: Interpretation) -> search_pb2.Interpretation:
    return search_pb2.Interpretation(
        text=reading.text,
        corrections=[search_pb2.Correction(typed=c.typed, searched=c.searched) for c in reading.corrections],
        unknown=list(reading.unknown),
        filter=filter_message(reading.filter),
        sources=[search_pb2.FilterSource(kind=kind, words=words) for kind, words in reading.sources],
    )


def facets_message(facets: Facets) -> search_pb2.Facets:
    return search_pb2.Facets(
        categories=[search_pb2.CategoryCount(category_id=str(c), count=n) for c, n in facets.categories],
        prices=[
            search_pb2.PriceRange(min_amount=r.min_amount, max_amount=r.max_amount, count=r.count)
            for r in facets.prices
        ],
        attributes=[
            search_pb2.AttributeFacet(
                name=name, values=[search_pb2.ValueCount(value=v, count=n) for v, n in values]
            )
            for name, values in facets.attributes
        ],
        in_stock=facets.in_stock,
        counted=facets.counted,
    )


def search_response(result: SearchResult) -> search_service_pb2.SearchResponse:
    return search_service_pb2.SearchResponse(
        hits=[search_pb2.Hit(product_id=str(h.product_id), score=h.score) for h in result.hits],
        offset=result.offset,
        has_next_page=result.has_next_page,
        interpretation=interpretation_message(result.interpretation),
        semantic=result.semantic,
        facets=facets_message(result.facets) if result.facets is not None else None,
    )


def product_ids(values: Sequence[str]) -> tuple[uuid.UUID, ...]:
    return tuple(parse_uuid(v, "productIds") for v in values)


def recommendations(found: dict[uuid.UUID, tuple[uuid.UUID, ...]]) -> list[search_pb2.Recommendations]:
    return [
        search_pb2.Recommendations(product_id=str(source), recommended_ids=[str(r) for r in recommended])
        for source, recommended in found.items()
    ]


class SearchServicer(search_service_pb2_grpc.SearchServiceServicer):
    def __init__(self, service: SearchService) -> None:
        self.service = service

    async def Search(self, request: Any, context: Any) -> search_service_pb2.SearchResponse:
        return search_response(await self.service.engine.search(search_request(request)))

    async def Similar(self, request: Any, context: Any) -> search_service_pb2.SimilarResponse:
        found = await self.service.handle(SimilarProducts(product_ids(request.product_ids), request.first))
        return search_service_pb2.SimilarResponse(recommendations=recommendations(found))

    async def BoughtTogether(self, request: Any, context: Any) -> search_service_pb2.BoughtTogetherResponse:
        found = await self.service.handle(BoughtTogether(product_ids(request.product_ids), request.first))
        return search_service_pb2.BoughtTogetherResponse(recommendations=recommendations(found))


def registration(service: SearchService) -> ServiceRegistration:
    """What `platform.grpc.server.GrpcServer` needs to serve search."""
    return ServiceRegistration(
        name=SERVICE_NAME,
        servicer=SearchServicer(service),
        add_to_server=search_service_pb2_grpc.add_SearchServiceServicer_to_server,
    )
