"""A tiny GraphQL client for end-to-end tests: posts operations to the ASGI app like a storefront would."""

from __future__ import annotations

from typing import Any

import httpx


class GraphQLClient:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def raw(self, query: str, variables: dict[str, Any] | None = None) -> httpx.Response:
        return await self.http.post("/graphql", json={"query": query, "variables": variables or {}})

    async def execute(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The whole response body; fails on any non-200 status."""
        response = await self.raw(query, variables)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """`data` of a response that must have no top-level errors."""
        body = await self.execute(query, variables)
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data

    async def mutate(self, query: str, variables: dict[str, Any], payload: str) -> dict[str, Any]:
        """The named mutation payload, which must report no errors."""
        result: dict[str, Any] = (await self.data(query, variables))[payload]
        assert result["errors"] == [], result["errors"]
        return result
