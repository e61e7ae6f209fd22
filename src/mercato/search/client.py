"""How the gateway talks to search: one Protocol and its in-process implementation (the gRPC one is
`grpc_client.GrpcSearchClient`; tests/contract/test_search_clients.py holds the two to one behaviour)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from mercato.search.domain.commands import BoughtTogether, SimilarProducts
from mercato.search.service_layer.requests import SearchRequest, SearchResult

if TYPE_CHECKING:
    from mercato.search.bootstrap import SearchService

Recommended = Mapping[uuid.UUID, tuple[uuid.UUID, ...]]


class SearchClient(Protocol):
    async def search(self, request: SearchRequest) -> SearchResult: ...

    async def similar(self, product_ids: Sequence[uuid.UUID], first: int = 8) -> Recommended:
        """Up to `first` products like each of `product_ids` (an id the index lacks: none)."""
        ...

    async def bought_together(self, product_ids: Sequence[uuid.UUID], first: int = 8) -> Recommended:
        """Up to `first` products bought with each of `product_ids`, topped up with similar ones."""
        ...


class InProcessSearchClient:
    def __init__(self, service: SearchService) -> None:
        self._service = service

    async def search(self, request: SearchRequest) -> SearchResult:
        return await self._service.engine.search(request)

    async def similar(self, product_ids: Sequence[uuid.UUID], first: int = 8) -> Recommended:
        return await self._service.handle(SimilarProducts(tuple(product_ids), first))

    async def bought_together(self, product_ids: Sequence[uuid.UUID], first: int = 8) -> Recommended:
        return await self._service.handle(BoughtTogether(tuple(product_ids), first))
