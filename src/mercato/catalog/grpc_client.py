"""`CatalogClient` over gRPC: the same Protocol, views and typed errors as `InProcessCatalogClient`."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from mercato._gen.mercato.catalog.v1 import catalog_pb2, catalog_service_pb2, catalog_service_pb2_grpc
from mercato.catalog.domain import commands, rules
from mercato.catalog.domain.errors import (
    CategoryCreateErrorCode,
    ProductCreateErrorCode,
    ProductDeleteErrorCode,
    ProductListErrorCode,
    ProductUpdateErrorCode,
    VariantCreateErrorCode,
    VariantUpdateErrorCode,
)
from mercato.catalog.service_layer.listing import ListingRequest
from mercato.catalog.service_layer.views import CategoryView, ProductPage, ProductView, SkuPrice, VariantView
from mercato.platform.errors import MercatoError
from mercato.platform.grpc.client import CallPolicy, ServiceCaller
from mercato.platform.grpc.convert import (
    from_struct,
    from_timestamp,
    money_message,
    opt_str,
    opt_uuid,
    to_struct,
)

TARGET = "catalog"
# Domain classes the catalog raises, so the client re-raises the very class (DuplicateSlug, ...).
KNOWN_ERRORS: tuple[type[MercatoError], ...] = (
    rules.CurrencyMismatch,
    rules.DuplicateSku,
    rules.DuplicateSlug,
)


def variant_view(message: catalog_pb2.Variant) -> VariantView:
    return VariantView(
        id=uuid.UUID(message.id),
        product_id=uuid.UUID(message.product_id),
        sku=message.sku,
        attributes=from_struct(message.attributes),
        price_amount=message.price_amount,
        currency=message.currency,
    )


def product_view(message: catalog_pb2.Product) -> ProductView:
    return ProductView(
        id=uuid.UUID(message.id),
        slug=message.slug,
        name=message.name,
        description=message.description,
        category_id=opt_uuid(message.category_id) if message.HasField("category_id") else None,
        attributes=from_struct(message.attributes),
        media=list(message.media),
        published=message.published,
        min_price_amount=message.min_price_amount,
        currency=message.currency if message.HasField("currency") else None,
        created_at=from_timestamp(message.created_at),
        updated_at=from_timestamp(message.updated_at),
        variants=tuple(variant_view(v) for v in message.variants),
    )


def category_view(message: catalog_pb2.Category) -> CategoryView:
    return CategoryView(
        id=uuid.UUID(message.id),
        slug=message.slug,
        name=message.name,
        parent_id=opt_uuid(message.parent_id) if message.HasField("parent_id") else None,
        position=message.position,
    )


def listing_message(
    request: ListingRequest, *, availability: bool = False
) -> catalog_service_pb2.ListProductsRequest:
    f = request.filter
    return catalog_service_pb2.ListProductsRequest(
        first=request.first,
        after=request.after,
        filter=catalog_pb2.ProductFilter(
            category_id=opt_str(f.category_id),
            search=f.search,
            price_min=f.price_min,
            price_max=f.price_max,
            in_stock=f.in_stock,
            attributes=[catalog_pb2.AttributeFilter(name=n, values=list(vs)) for n, vs in f.attributes],
        ),
        sort=catalog_pb2.ProductSort.Value(f"PRODUCT_SORT_{request.sort.name}"),
        descending=request.descending,
        include_availability=availability,
    )


def _changes(changes: dict[str, Any]) -> dict[str, Any]:
    out = dict(changes)
    if "category_id" in out:
        out["category_id"] = opt_str(out["category_id"])
    return out


class GrpcCatalogClient:
    """`CatalogClient` calling a catalog service through `channel` (see `platform.grpc.client`)."""

    def __init__(
        self, channel: Any, *, service: str, secret: str | None, policy: CallPolicy | None = None
    ) -> None:
        # The generated stub is untyped; its methods are wrapped by ServiceCaller.call, which is typed.
        self._stub = catalog_service_pb2_grpc.CatalogServiceStub(channel)  # type: ignore[no-untyped-call]
        self._caller = ServiceCaller(
            service=service, target_name=TARGET, secret=secret, policy=policy, known_errors=KNOWN_ERRORS
        )

    async def list_products(self, request: ListingRequest, *, availability: bool = False) -> ProductPage:
        reply = await self._caller.call(
            self._stub.ListProducts,
            listing_message(request, availability=availability),
            retryable=True,
            codes=ProductListErrorCode,
        )
        return ProductPage(
            items=tuple(product_view(p) for p in reply.items),
            has_next_page=reply.has_next_page,
            available=dict(reply.available) if availability else None,
            categories=tuple(category_view(c) for c in reply.categories),
        )

    async def product(
        self, *, product_id: uuid.UUID | None = None, slug: str | None = None
    ) -> ProductView | None:
        if product_id is not None:
            request = catalog_service_pb2.GetProductRequest(product_id=str(product_id))
        elif slug is not None:
            request = catalog_service_pb2.GetProductRequest(slug=slug)
        else:
            return None  # what the in-process query answers for no lookup key
        reply = await self._caller.call(self._stub.GetProduct, request, retryable=True)
        return product_view(reply.product) if reply.HasField("product") else None

    async def products_by_ids(
        self, ids: Sequence[uuid.UUID], *, include_unpublished: bool = False
    ) -> list[ProductView]:
        request = catalog_service_pb2.GetProductsByIdsRequest(
            ids=[str(i) for i in ids], include_unpublished=include_unpublished
        )
        reply = await self._caller.call(self._stub.GetProductsByIds, request, retryable=True)
        return [product_view(p) for p in reply.products]

    async def variant(self, variant_id: uuid.UUID) -> VariantView | None:
        request = catalog_service_pb2.GetVariantRequest(variant_id=str(variant_id))
        reply = await self._caller.call(self._stub.GetVariant, request, retryable=True)
        return variant_view(reply.variant) if reply.HasField("variant") else None

    async def variants_by_skus(self, skus: Sequence[str]) -> dict[str, VariantView]:
        request = catalog_service_pb2.GetVariantsBySkusRequest(skus=list(skus))
        reply = await self._caller.call(self._stub.GetVariantsBySkus, request, retryable=True)
        return {sku: variant_view(v) for sku, v in reply.variants.items()}

    async def sku_prices(self, skus: Sequence[str]) -> dict[str, SkuPrice]:
        request = catalog_service_pb2.GetSkuPricesRequest(skus=list(skus))
        reply = await self._caller.call(self._stub.GetSkuPrices, request, retryable=True)
        return {
            p.sku: SkuPrice(
                sku=p.sku,
                variant_id=uuid.UUID(p.variant_id),
                product_id=uuid.UUID(p.product_id),
                price_amount=p.price_amount,
                currency=p.currency,
                product_name=p.product_name if p.HasField("product_name") else None,
            )
            for p in reply.prices
        }

    async def categories(self) -> list[CategoryView]:
        reply = await self._caller.call(
            self._stub.ListCategories, catalog_service_pb2.ListCategoriesRequest(), retryable=True
        )
        return [category_view(c) for c in reply.categories]

    async def availability(self, skus: Sequence[str]) -> dict[str, int]:
        reply = await self._caller.call(
            self._stub.GetSkuAvailability,
            catalog_service_pb2.GetSkuAvailabilityRequest(skus=list(skus)),
            retryable=True,
        )
        return dict(reply.available)

    async def execute(self, command: commands.CatalogCommand) -> uuid.UUID:
        """Run a catalog command remotely; answers what `CatalogService.handle` answers (the new or
        changed id). Commands carry no idempotency key, so they are never retried."""
        call = self._caller.call
        stub = self._stub
        match command:
            case commands.CreateProduct():
                reply = await call(
                    stub.CreateProduct,
                    _create_product(command),
                    retryable=False,
                    codes=ProductCreateErrorCode,
                )
                return uuid.UUID(reply.product_id)
            case commands.UpdateProduct():
                request = catalog_service_pb2.UpdateProductRequest(
                    product_id=str(command.product_id), changes=to_struct(_changes(command.changes))
                )
                reply = await call(stub.UpdateProduct, request, retryable=False, codes=ProductUpdateErrorCode)
                return uuid.UUID(reply.product_id)
            case commands.DeleteProduct():
                request = catalog_service_pb2.DeleteProductRequest(product_id=str(command.product_id))
                reply = await call(stub.DeleteProduct, request, retryable=False, codes=ProductDeleteErrorCode)
                return uuid.UUID(reply.product_id)
            case commands.CreateVariant():
                request = catalog_service_pb2.CreateVariantRequest(
                    product_id=str(command.product_id),
                    sku=command.sku,
                    price=money_message(command.price),
                    attributes=to_struct(command.attributes),
                )
                reply = await call(stub.CreateVariant, request, retryable=False, codes=VariantCreateErrorCode)
                return uuid.UUID(reply.variant_id)
            case commands.UpdateVariant():
                request = catalog_service_pb2.UpdateVariantRequest(
                    variant_id=str(command.variant_id),
                    price=money_message(command.price) if command.price is not None else None,
                    attributes=to_struct(command.attributes) if command.attributes is not None else None,
                )
                reply = await call(stub.UpdateVariant, request, retryable=False, codes=VariantUpdateErrorCode)
                return uuid.UUID(reply.variant_id)
            case commands.CreateCategory():
                request = catalog_service_pb2.CreateCategoryRequest(
                    slug=command.slug,
                    name=command.name,
                    parent_id=opt_str(command.parent_id),
                    position=command.position,
                )
                reply = await call(
                    stub.CreateCategory, request, retryable=False, codes=CategoryCreateErrorCode
                )
                return uuid.UUID(reply.category_id)
        raise TypeError(f"the catalog has no RPC for {type(command).__name__}")


def _create_product(command: commands.CreateProduct) -> catalog_service_pb2.CreateProductRequest:
    variants: Iterable[catalog_pb2.NewVariant] = (
        catalog_pb2.NewVariant(sku=v.sku, price=money_message(v.price), attributes=to_struct(v.attributes))
        for v in command.variants
    )
    return catalog_service_pb2.CreateProductRequest(
        slug=command.slug,
        name=command.name,
        description=command.description,
        category_id=opt_str(command.category_id),
        attributes=to_struct(command.attributes),
        media=list(command.media),
        published=command.published,
        variants=list(variants),
    )
