"""The catalog over gRPC (`mercato.catalog.v1.CatalogService`): request -> command or query -> response.

Only translation lives here; authentication and error mapping are the platform server's
(`mercato.platform.grpc.server`), so a servicer method simply lets typed errors propagate.
"""

from __future__ import annotations

import uuid
from typing import Any, Protocol

from mercato._gen.mercato.catalog.v1 import catalog_pb2, catalog_service_pb2, catalog_service_pb2_grpc
from mercato.catalog.domain import commands
from mercato.catalog.service_layer.listing import ListingRequest, ProductFilter, ProductSort
from mercato.catalog.service_layer.queries import CatalogQueries
from mercato.catalog.service_layer.views import CategoryView, ProductView, VariantView
from mercato.platform.grpc.convert import (
    from_struct,
    opt_uuid,
    parse_money,
    parse_uuid,
    to_struct,
    to_timestamp,
)
from mercato.platform.grpc.server import ServiceRegistration


class CatalogService(Protocol):
    """What the servicer uses of `bootstrap.CatalogService` (entrypoints sit below bootstrap)."""

    queries: CatalogQueries

    async def handle(self, command: Any) -> Any: ...


SERVICE_NAME = "mercato.catalog.v1.CatalogService"


def variant_message(view: VariantView) -> catalog_pb2.Variant:
    return catalog_pb2.Variant(
        id=str(view.id),
        product_id=str(view.product_id),
        sku=view.sku,
        attributes=to_struct(view.attributes),
        price_amount=view.price_amount,
        currency=view.currency,
    )


def product_message(view: ProductView) -> catalog_pb2.Product:
    return catalog_pb2.Product(
        id=str(view.id),
        slug=view.slug,
        name=view.name,
        description=view.description,
        category_id=str(view.category_id) if view.category_id else None,
        attributes=to_struct(view.attributes),
        media=view.media,
        published=view.published,
        min_price_amount=view.min_price_amount,
        currency=view.currency,
        created_at=to_timestamp(view.created_at),
        updated_at=to_timestamp(view.updated_at),
        variants=[variant_message(v) for v in view.variants],
    )


def category_message(view: CategoryView) -> catalog_pb2.Category:
    return catalog_pb2.Category(
        id=str(view.id),
        slug=view.slug,
        name=view.name,
        parent_id=str(view.parent_id) if view.parent_id else None,
        position=view.position,
    )


def _uuids(values: Any, field: str) -> list[uuid.UUID]:
    return [parse_uuid(v, field) for v in values]


def listing_request(message: catalog_service_pb2.ListProductsRequest) -> ListingRequest:
    f = message.filter
    sort_name = catalog_pb2.ProductSort.Name(message.sort).removeprefix("PRODUCT_SORT_")
    return ListingRequest(
        first=message.first,
        after=message.after if message.HasField("after") else None,
        filter=ProductFilter(
            category_id=parse_uuid(f.category_id, "filter.categoryId") if f.HasField("category_id") else None,
            search=f.search if f.HasField("search") else None,
            price_min=f.price_min if f.HasField("price_min") else None,
            price_max=f.price_max if f.HasField("price_max") else None,
            in_stock=f.in_stock if f.HasField("in_stock") else None,
            attributes=tuple((a.name, tuple(a.values)) for a in f.attributes),
        ),
        sort=ProductSort[sort_name] if sort_name in ProductSort.__members__ else ProductSort.NAME,
        descending=message.descending,
    )


def _changes(struct: Any) -> dict[str, Any]:
    changes = from_struct(struct)
    if "category_id" in changes:
        raw = changes["category_id"]
        changes["category_id"] = parse_uuid(raw, "categoryId") if isinstance(raw, str) and raw else None
    return changes


class CatalogServicer(catalog_service_pb2_grpc.CatalogServiceServicer):
    def __init__(self, service: CatalogService) -> None:
        self.service = service

    async def ListProducts(self, request: Any, context: Any) -> catalog_service_pb2.ListProductsResponse:
        page = await self.service.queries.list_products(
            listing_request(request), availability=request.include_availability
        )
        return catalog_service_pb2.ListProductsResponse(
            items=[product_message(p) for p in page.items],
            has_next_page=page.has_next_page,
            available=page.available,
            categories=[category_message(c) for c in page.categories or ()],
        )

    async def GetProduct(self, request: Any, context: Any) -> catalog_service_pb2.GetProductResponse:
        lookup = request.WhichOneof("lookup")
        view = await self.service.queries.product(
            product_id=parse_uuid(request.product_id, "id") if lookup == "product_id" else None,
            slug=request.slug if lookup == "slug" else None,
        )
        return catalog_service_pb2.GetProductResponse(product=product_message(view) if view else None)

    async def GetProductsByIds(
        self, request: Any, context: Any
    ) -> catalog_service_pb2.GetProductsByIdsResponse:
        found = await self.service.queries.products_by_ids(
            _uuids(request.ids, "ids"), include_unpublished=request.include_unpublished
        )
        return catalog_service_pb2.GetProductsByIdsResponse(products=[product_message(p) for p in found])

    async def GetVariant(self, request: Any, context: Any) -> catalog_service_pb2.GetVariantResponse:
        view = await self.service.queries.variant(parse_uuid(request.variant_id, "variantId"))
        return catalog_service_pb2.GetVariantResponse(variant=variant_message(view) if view else None)

    async def GetVariantsBySkus(
        self, request: Any, context: Any
    ) -> catalog_service_pb2.GetVariantsBySkusResponse:
        found = await self.service.queries.variants_by_skus(list(request.skus))
        return catalog_service_pb2.GetVariantsBySkusResponse(
            variants={sku: variant_message(v) for sku, v in found.items()}
        )

    async def GetSkuPrices(self, request: Any, context: Any) -> catalog_service_pb2.GetSkuPricesResponse:
        found = await self.service.queries.sku_prices(list(request.skus))
        return catalog_service_pb2.GetSkuPricesResponse(
            prices=[
                catalog_service_pb2.SkuPrice(
                    sku=p.sku,
                    variant_id=str(p.variant_id),
                    product_id=str(p.product_id),
                    price_amount=p.price_amount,
                    currency=p.currency,
                    product_name=p.product_name,
                )
                for p in found.values()
            ]
        )

    async def ListCategories(self, request: Any, context: Any) -> catalog_service_pb2.ListCategoriesResponse:
        found = await self.service.queries.categories()
        return catalog_service_pb2.ListCategoriesResponse(categories=[category_message(c) for c in found])

    async def GetSkuAvailability(
        self, request: Any, context: Any
    ) -> catalog_service_pb2.GetSkuAvailabilityResponse:
        found = await self.service.queries.availability(list(request.skus))
        return catalog_service_pb2.GetSkuAvailabilityResponse(available=found)

    async def CreateProduct(self, request: Any, context: Any) -> catalog_service_pb2.CreateProductResponse:
        product_id = await self.service.handle(
            commands.CreateProduct(
                slug=request.slug,
                name=request.name,
                description=request.description,
                category_id=opt_uuid(request.category_id) if request.HasField("category_id") else None,
                attributes=from_struct(request.attributes),
                media=list(request.media),
                published=request.published,
                variants=[
                    commands.NewVariant(
                        sku=v.sku,
                        price=parse_money(v.price, f"variants.{i}.price"),
                        attributes=from_struct(v.attributes),
                    )
                    for i, v in enumerate(request.variants)
                ],
            )
        )
        return catalog_service_pb2.CreateProductResponse(product_id=str(product_id))

    async def UpdateProduct(self, request: Any, context: Any) -> catalog_service_pb2.UpdateProductResponse:
        product_id = await self.service.handle(
            commands.UpdateProduct(
                product_id=parse_uuid(request.product_id, "id"), changes=_changes(request.changes)
            )
        )
        return catalog_service_pb2.UpdateProductResponse(product_id=str(product_id))

    async def DeleteProduct(self, request: Any, context: Any) -> catalog_service_pb2.DeleteProductResponse:
        product_id = await self.service.handle(
            commands.DeleteProduct(product_id=parse_uuid(request.product_id, "id"))
        )
        return catalog_service_pb2.DeleteProductResponse(product_id=str(product_id))

    async def CreateVariant(self, request: Any, context: Any) -> catalog_service_pb2.CreateVariantResponse:
        variant_id = await self.service.handle(
            commands.CreateVariant(
                product_id=parse_uuid(request.product_id, "productId"),
                sku=request.sku,
                price=parse_money(request.price, "price"),
                attributes=from_struct(request.attributes),
            )
        )
        return catalog_service_pb2.CreateVariantResponse(variant_id=str(variant_id))

    async def UpdateVariant(self, request: Any, context: Any) -> catalog_service_pb2.UpdateVariantResponse:
        variant_id = await self.service.handle(
            commands.UpdateVariant(
                variant_id=parse_uuid(request.variant_id, "id"),
                price=parse_money(request.price, "price") if request.HasField("price") else None,
                attributes=from_struct(request.attributes) if request.HasField("attributes") else None,
            )
        )
        return catalog_service_pb2.UpdateVariantResponse(variant_id=str(variant_id))

    async def CreateCategory(self, request: Any, context: Any) -> catalog_service_pb2.CreateCategoryResponse:
        category_id = await self.service.handle(
            commands.CreateCategory(
                slug=request.slug,
                name=request.name,
                parent_id=parse_uuid(request.parent_id, "parentId")
                if request.HasField("parent_id")
                else None,
                position=request.position,
            )
        )
        return catalog_service_pb2.CreateCategoryResponse(category_id=str(category_id))


def registration(service: CatalogService) -> ServiceRegistration:
    """What `platform.grpc.server.GrpcServer` needs to serve the catalog."""
    return ServiceRegistration(
        name=SERVICE_NAME,
        servicer=CatalogServicer(service),
        add_to_server=catalog_service_pb2_grpc.add_CatalogServiceServicer_to_server,
    )
