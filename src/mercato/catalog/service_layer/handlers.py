"""Catalog use cases. Each takes a command and the context's `CatalogDeps` (`handler(cmd, deps)`,
listed in `dispatch.COMMAND_HANDLERS`), and commits or raises a typed error. The availability read
model is not a use case: the consumer stages levels on its unit of work (`CatalogUnitOfWork.stage_level`)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from enum import Enum
from typing import TypeVar

from sqlalchemy.exc import IntegrityError

from mercato.catalog.domain import commands
from mercato.catalog.domain.errors import (
    CategoryCreateErrorCode,
    ProductCreateErrorCode,
    ProductDeleteErrorCode,
    ProductUpdateErrorCode,
    VariantCreateErrorCode,
    VariantUpdateErrorCode,
)
from mercato.catalog.domain.model import Category, Product, Variant
from mercato.catalog.domain.rules import DuplicateSku, DuplicateSlug
from mercato.catalog.service_layer.unit_of_work import CatalogDeps, CatalogUnitOfWork
from mercato.platform.db import violated_constraint
from mercato.platform.errors import ClientError, NotFound, recode
from mercato.platform.types import new_id

T = TypeVar("T")


async def _guarded(codes: type[Enum], action: Callable[[], Awaitable[T]]) -> T:
    """Run a use case; re-code its client errors into `codes`; turn unique violations into conflicts."""
    try:
        return await action()
    except IntegrityError as exc:
        constraint = violated_constraint(exc) or ""
        if "sku" in constraint:
            raise recode(DuplicateSku("a variant with this SKU already exists"), codes) from None
        if "slug" in constraint:
            raise recode(DuplicateSlug("this slug is already taken"), codes) from None
        raise
    except ClientError as exc:
        raise recode(exc, codes) from None


async def create_category(cmd: commands.CreateCategory, deps: CatalogDeps) -> uuid.UUID:
    async def run() -> uuid.UUID:
        async with deps.uow() as uow:
            parent_path = "/"
            if cmd.parent_id is not None:
                found = await uow.categories.path_of(cmd.parent_id)
                if found is None:
                    raise NotFound("parent category not found", code="PARENT_NOT_FOUND", field="parentId")
                parent_path = found
            category = Category.create(
                slug=cmd.slug, name=cmd.name, parent_id=cmd.parent_id, position=cmd.position
            )
            await uow.categories.add(category, parent_path)
            uow.new_categories.append(category)
            await uow.commit()
            return category.id

    return await _guarded(CategoryCreateErrorCode, run)


async def _check_category(uow: CatalogUnitOfWork, category_id: uuid.UUID | None) -> None:
    if category_id is not None and not await uow.categories.exists(category_id):
        raise NotFound("category not found", code="CATEGORY_NOT_FOUND", field="categoryId")


async def create_product(cmd: commands.CreateProduct, deps: CatalogDeps) -> uuid.UUID:
    async def run() -> uuid.UUID:
        async with deps.uow() as uow:
            await _check_category(uow, cmd.category_id)
            product = Product.create(
                slug=cmd.slug,
                name=cmd.name,
                description=cmd.description,
                category_id=cmd.category_id,
                attributes=cmd.attributes,
                media=cmd.media,
                published=cmd.published,
                variants=[
                    Variant(id=new_id(), sku=v.sku, attributes=v.attributes, price=v.price)
                    for v in cmd.variants
                ],
            )
            await uow.products.add(product)
            await uow.commit()
            return product.id

    return await _guarded(ProductCreateErrorCode, run)


async def update_product(cmd: commands.UpdateProduct, deps: CatalogDeps) -> uuid.UUID:
    async def run() -> uuid.UUID:
        async with deps.uow() as uow:
            product = await uow.products.get(cmd.product_id)
            if product is None:
                raise NotFound("product not found", code="NOT_FOUND", field="id")
            if "category_id" in cmd.changes:
                await _check_category(uow, cmd.changes["category_id"])
            product.update(cmd.changes)
            if product.events:
                await uow.products.save(product)
            await uow.commit()
            return product.id

    return await _guarded(ProductUpdateErrorCode, run)


async def delete_product(cmd: commands.DeleteProduct, deps: CatalogDeps) -> uuid.UUID:
    async def run() -> uuid.UUID:
        async with deps.uow() as uow:
            product = await uow.products.get(cmd.product_id)
            if product is None:
                raise NotFound("product not found", code="NOT_FOUND", field="id")
            product.delete()
            await uow.products.remove(product)
            await uow.commit()
            return product.id

    return await _guarded(ProductDeleteErrorCode, run)


async def create_variant(cmd: commands.CreateVariant, deps: CatalogDeps) -> uuid.UUID:
    async def run() -> uuid.UUID:
        async with deps.uow() as uow:
            product = await uow.products.get(cmd.product_id)
            if product is None:
                raise NotFound("product not found", code="PRODUCT_NOT_FOUND", field="productId")
            variant = product.add_variant(sku=cmd.sku, attributes=cmd.attributes, price=cmd.price)
            await uow.products.save(product)
            await uow.commit()
            return variant.id

    return await _guarded(VariantCreateErrorCode, run)


async def update_variant(cmd: commands.UpdateVariant, deps: CatalogDeps) -> uuid.UUID:
    async def run() -> uuid.UUID:
        async with deps.uow() as uow:
            product = await uow.products.get_by_variant(cmd.variant_id)
            variant = product.variant(cmd.variant_id) if product is not None else None
            if product is None or variant is None:
                raise NotFound("variant not found", code="NOT_FOUND", field="id")
            product.update_variant(variant, attributes=cmd.attributes, price=cmd.price)
            if product.events:
                await uow.products.save(product)
            await uow.commit()
            return variant.id

    return await _guarded(VariantUpdateErrorCode, run)
