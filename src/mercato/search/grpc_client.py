"""`SearchClient` over gRPC: the same Protocol, results and typed errors as `InProcessSearchClient`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from mercato._gen.mercato.search.v1 import search_pb2, search_service_pb2, search_service_pb2_grpc
from mercato.platform.grpc.client import CallPolicy, ServiceCaller
from mercato.search.client import Recommended
from mercato.search.entrypoints.wire import filter_message, mode_value, search_filter
from mercato.search.service_layer.facets import Facets, PriceRange
from mercato.search.service_layer.requests import (
    Correction,
    Hit,
    Interpretation,
    SearchRequest,
    SearchResult,
)

TARGET = "search"


def request_message(request: SearchRequest) -> search_service_pb2.SearchRequest:
    return search_service_pb2.SearchRequest(
        query=request.query,
        first=request.first,
        after=request.after,
        filter=filter_message(request.filter),
        mode=mode_value(request.mode),
        interpret=request.interpret,
        facets=request.facets,
    )


def interpretation(message: search_pb2.Interpretation) -> Interpretation:
    return Interpretation(
        text=message.text,
        corrections=tuple(Correction(c.typed, c.searched) for c in message.corrections),
        unknown=tuple(message.unknown),
        filter=search_filter(message.filter, "interpretation.filter"),
        sources=tuple((s.kind, s.words) for s in message.sources),
    )


def facets(message: search_pb2.Facets) -> Facets:
    return Facets(
        categories=tuple((uuid.UUID(c.category_id), c.count) for c in message.categories),
        prices=tuple(
            PriceRange(r.min_amount, r.max_amount if r.HasField("max_amount") else None, r.count)
            for r in message.prices
        ),
        attributes=tuple((a.name, tuple((v.value, v.count) for v in a.values)) for a in message.attributes),
        in_stock=message.in_stock,
        counted=message.counted,
    )


def search_result(message: search_service_pb2.SearchResponse) -> SearchResult:
    return SearchResult(
        hits=tuple(Hit(uuid.UUID(h.product_id), h.score) for h in message.hits),
        offset=message.offset,
        has_next_page=message.has_next_page,
        interpretation=interpretation(message.interpretation),
        semantic=message.semantic,
        facets=facets(message.facets) if message.HasField("facets") else None,
    )


def recommended(messages: Sequence[search_pb2.Recommendations]) -> Recommended:
    return {uuid.UUID(m.product_id): tuple(uuid.UUID(r) for r in m.recommended_ids) for m in messages}


class GrpcSearchClient:
    """`SearchClient` calling a search service through `channel` (see `platform.grpc.client`)."""

    def __init__(
        self, channel: Any, *, service: str, secret: str | None, policy: CallPolicy | None = None
    ) -> None:
        # The generated stub is untyped; its methods are wrapped by ServiceCaller.call, which is typed.
        self._stub = search_service_pb2_grpc.SearchServiceStub(channel)  # type: ignore[no-untyped-call]
        self._caller = ServiceCaller(service=service, target_name=TARGET, secret=secret, policy=policy)

    async def search(self, request: SearchRequest) -> SearchResult:
        # A read: retried on UNAVAILABLE within the call's deadline.
        reply = await self._caller.call(self._stub.Search, request_message(request), retryable=True)
        return search_result(reply)

    async def similar(self, product_ids: Sequence[uuid.UUID], first: int = 8) -> Recommended:
        message = search_service_pb2.SimilarRequest(product_ids=[str(i) for i in product_ids], first=first)
        # Reads, like a search: retried on UNAVAILABLE within the call's deadline.
        reply = await self._caller.call(self._stub.Similar, message, retryable=True)
        return recommended(reply.recommendations)

    async def bought_together(self, product_ids: Sequence[uuid.UUID], first: int = 8) -> Recommended:
        message = search_service_pb2.BoughtTogetherRequest(
            product_ids=[str(i) for i in product_ids], first=first
        )
        reply = await self._caller.call(self._stub.BoughtTogether, message, retryable=True)
        return recommended(reply.recommendations)
