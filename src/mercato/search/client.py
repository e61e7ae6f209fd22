"""How the gateway talks to search: one Protocol and its in-process implementation (the gRPC one is
`grpc_client.GrpcSearchClient`; tests/contract/test_search_clients.py holds the two to one behaviour)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from mercato.search.service_layer.requests import SearchRequest, SearchResult

if TYPE_CHECKING:
    from mercato.search.bootstrap import SearchService


class SearchClient(Protocol):
    async def search(self, request: SearchRequest) -> SearchResult: ...


class InProcessSearchClient:
    def __init__(self, service: SearchService) -> None:
        self._service = service

    async def search(self, request: SearchRequest) -> SearchResult:
        return await self._service.engine.search(request)
