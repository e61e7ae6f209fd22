"""How other contexts and the gateway talk to the catalog: one Protocol, an in-process implementation
(`grpc_client.GrpcCatalogClient` is the other)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from mercato.catalog.domain.commands import CatalogCommand
from mercato.catalog.service_layer.listing import ListingRequest
from mercato.catalog.service_layer.queries import GENERATION_KEY
from mercato.catalog.service_layer.views import CategoryView, ProductPage, ProductView, SkuPrice, VariantView

if TYPE_CHECKING:
    from mercato.catalog.bootstrap import CatalogService

# The cache key (under the namespace's cache prefix) the catalog bumps on every change: whatever caches
# catalog data elsewhere (the gateway's response cache) keys it under this generation.
CATALOG_GENERATION_KEY = GENERATION_KEY


class CatalogClient(Protocol):
    async def list_products(self, request: ListingRequest, *, availability: bool = False) -> ProductPage:
        """A page of published products; with `availability`, the units available of every SKU on
        it too (`ProductPage.available`), in the same call."""
        ...

    async def product(
        self, *, product_id: uuid.UUID | None = None, slug: str | None = None
    ) -> ProductView | None: ...

    async def products_by_ids(
        self, ids: Sequence[uuid.UUID], *, include_unpublished: bool = False
    ) -> list[ProductView]: ...

    async def variant(self, variant_id: uuid.UUID) -> VariantView | None: ...

    async def variants_by_skus(self, skus: Sequence[str]) -> dict[str, VariantView]: ...

    # Price and product name of each existing SKU, in one call (what the cart prices lines with).
    async def sku_prices(self, skus: Sequence[str]) -> dict[str, SkuPrice]: ...

    async def categories(self) -> list[CategoryView]: ...

    async def availability(self, skus: Sequence[str]) -> dict[str, int]:
        """Units available of each SKU (0 when unknown) from the catalog's read model of the
        inventory's levels: eventually consistent, for display; checkout reserves at the inventory."""
        ...

    async def execute(self, command: CatalogCommand) -> uuid.UUID:
        """Run a catalog command (see `mercato.catalog.domain.commands`): the new or changed id."""
        ...


class InProcessCatalogClient:
    def __init__(self, service: CatalogService) -> None:
        self._service = service

    async def list_products(self, request: ListingRequest, *, availability: bool = False) -> ProductPage:
        return await self._service.queries.list_products(request, availability=availability)

    async def product(
        self, *, product_id: uuid.UUID | None = None, slug: str | None = None
    ) -> ProductView | None:
        return await self._service.queries.product(product_id=product_id, slug=slug)

    async def products_by_ids(
        self, ids: Sequence[uuid.UUID], *, include_unpublished: bool = False
    ) -> list[ProductView]:
        found: list[ProductView] = await self._service.queries.products_by_ids(
            ids, include_unpublished=include_unpublished
        )
        return found

    async def variant(self, variant_id: uuid.UUID) -> VariantView | None:
        return await self._service.queries.variant(variant_id)

    async def variants_by_skus(self, skus: Sequence[str]) -> dict[str, VariantView]:
        return await self._service.queries.variants_by_skus(skus)

    async def sku_prices(self, skus: Sequence[str]) -> dict[str, SkuPrice]:
        return await self._service.queries.sku_prices(skus)

    async def categories(self) -> list[CategoryView]:
        return await self._service.queries.categories()

    async def availability(self, skus: Sequence[str]) -> dict[str, int]:
        return await self._service.queries.availability(skus)

    async def execute(self, command: CatalogCommand) -> uuid.UUID:
        return await self._service.handle(command)
