"""Staff mutations of the catalog. Each builds one command, runs it, and returns a payload whose
`errors` use that mutation's own error enum."""

from __future__ import annotations

import uuid
from enum import Enum
from typing import Any

import strawberry
from strawberry.scalars import JSON

from mercato.catalog.domain import commands
from mercato.catalog.domain.errors import (
    CategoryCreateErrorCode,
    ProductCreateErrorCode,
    ProductDeleteErrorCode,
    ProductUpdateErrorCode,
    VariantCreateErrorCode,
    VariantUpdateErrorCode,
)
from mercato.gateway.graphql.catalog.types import Category, Product, Variant, products_of, sku_levels
from mercato.gateway.graphql.core.auth import staff
from mercato.gateway.graphql.core.errors import payload_errors
from mercato.gateway.graphql.core.ids import parse_id, parse_optional_id
from mercato.gateway.graphql.core.types import MoneyInput
from mercato.platform.auth import Permission
from mercato.platform.errors import ClientError, Problem, recode
from mercato.platform.types import Money, MoneyError

# The domain's enums become GraphQL enums as they are: one source of truth for the codes.
for _codes in (
    CategoryCreateErrorCode,
    ProductCreateErrorCode,
    ProductUpdateErrorCode,
    ProductDeleteErrorCode,
    VariantCreateErrorCode,
    VariantUpdateErrorCode,
):
    strawberry.enum(_codes)


@strawberry.type
class CategoryCreateError:
    field: str | None
    code: CategoryCreateErrorCode
    message: str


@strawberry.type
class ProductCreateError:
    field: str | None
    code: ProductCreateErrorCode
    message: str


@strawberry.type
class ProductUpdateError:
    field: str | None
    code: ProductUpdateErrorCode
    message: str


@strawberry.type
class ProductDeleteError:
    field: str | None
    code: ProductDeleteErrorCode
    message: str


@strawberry.type
class VariantCreateError:
    field: str | None
    code: VariantCreateErrorCode
    message: str


@strawberry.type
class VariantUpdateError:
    field: str | None
    code: VariantUpdateErrorCode
    message: str


@strawberry.type
class CategoryCreatePayload:
    category: Category | None = None
    errors: list[CategoryCreateError] = strawberry.field(default_factory=list)


@strawberry.type
class ProductCreatePayload:
    product: Product | None = None
    errors: list[ProductCreateError] = strawberry.field(default_factory=list)


@strawberry.type
class ProductUpdatePayload:
    product: Product | None = None
    errors: list[ProductUpdateError] = strawberry.field(default_factory=list)


@strawberry.type
class ProductDeletePayload:
    deleted_id: strawberry.ID | None = None
    errors: list[ProductDeleteError] = strawberry.field(default_factory=list)


@strawberry.type
class VariantCreatePayload:
    variant: Variant | None = None
    errors: list[VariantCreateError] = strawberry.field(default_factory=list)


@strawberry.type
class VariantUpdatePayload:
    variant: Variant | None = None
    errors: list[VariantUpdateError] = strawberry.field(default_factory=list)


@strawberry.input
class CategoryCreateInput:
    slug: str
    name: str
    parent_id: strawberry.ID | None = None
    position: int = 0


@strawberry.input
class VariantInput:
    sku: str
    price: MoneyInput
    attributes: JSON | None = None


@strawberry.input
class ProductCreateInput:
    slug: str
    name: str
    description: str = ""
    category_id: strawberry.ID | None = None
    attributes: JSON | None = None
    media: list[str] | None = None
    published: bool = False
    variants: list[VariantInput] | None = None


@strawberry.input(description="Only the fields given are changed.")
class ProductUpdateInput:
    slug: str | None = strawberry.UNSET
    name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    category_id: strawberry.ID | None = strawberry.UNSET
    attributes: JSON | None = strawberry.UNSET
    media: list[str] | None = strawberry.UNSET
    published: bool | None = strawberry.UNSET


@strawberry.input
class VariantUpdateInput:
    price: MoneyInput | None = None
    attributes: JSON | None = None


def _money(value: MoneyInput, field: str) -> Money:
    try:
        return Money.from_decimal_string(value.amount, value.currency)
    except MoneyError as exc:
        problem = Problem.OUT_OF_RANGE if "range" in str(exc) else Problem.INVALID
        raise ClientError(str(exc), code=problem, field=field) from None


def _attributes(value: Any, field: str = "attributes") -> dict[str, Any]:
    """A JSON object ({} for none). Anything else is refused here, as the use case refuses it: over
    gRPC it must first become a protobuf Struct, which only an object can (a list raised)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ClientError(f"{field} must be an object", code=Problem.INVALID, field=field)
    return value


async def _staff_product(info: strawberry.Info, product_id: uuid.UUID) -> Product | None:
    found = await info.context.clients.catalog.products_by_ids([product_id], include_unpublished=True)
    return (await products_of(info, found))[0] if found else None


def _refused(exc: ClientError, codes: type[Enum]) -> ClientError:
    # Errors raised before the command ran (ids, money) carry generic codes.
    return recode(exc, codes)


@strawberry.type
class CatalogMutations:
    @strawberry.mutation
    async def category_create(
        self, info: strawberry.Info, input: CategoryCreateInput
    ) -> CategoryCreatePayload:
        staff(info, Permission.CATALOG_WRITE)
        client = info.context.clients.catalog
        try:
            parent_id = parse_optional_id(input.parent_id, "parentId")
            category_id = await client.execute(
                commands.CreateCategory(
                    slug=input.slug, name=input.name, parent_id=parent_id, position=input.position
                )
            )
        except ClientError as exc:
            return CategoryCreatePayload(
                errors=payload_errors(_refused(exc, CategoryCreateErrorCode), CategoryCreateError)
            )
        return CategoryCreatePayload(
            category=Category(
                id=strawberry.ID(str(category_id)),
                slug=input.slug,
                name=input.name.strip(),
                position=input.position,
                parent_id=input.parent_id,
            )
        )

    @strawberry.mutation
    async def product_create(self, info: strawberry.Info, input: ProductCreateInput) -> ProductCreatePayload:
        staff(info, Permission.CATALOG_WRITE)
        try:
            command = commands.CreateProduct(
                slug=input.slug,
                name=input.name,
                description=input.description,
                category_id=parse_optional_id(input.category_id, "categoryId"),
                attributes=_attributes(input.attributes),
                media=input.media or [],
                published=input.published,
                variants=[
                    commands.NewVariant(
                        sku=v.sku,
                        price=_money(v.price, f"variants.{i}.price"),
                        attributes=_attributes(v.attributes, f"variants.{i}.attributes"),
                    )
                    for i, v in enumerate(input.variants or [])
                ],
            )
            product_id = await info.context.clients.catalog.execute(command)
        except ClientError as exc:
            return ProductCreatePayload(
                errors=payload_errors(_refused(exc, ProductCreateErrorCode), ProductCreateError)
            )
        return ProductCreatePayload(product=await _staff_product(info, product_id))

    @strawberry.mutation
    async def product_update(
        self,
        info: strawberry.Info,
        id: strawberry.ID,
        input: ProductUpdateInput,
    ) -> ProductUpdatePayload:
        staff(info, Permission.CATALOG_WRITE)
        try:
            product_id = parse_id(id, "id")
            changes: dict[str, Any] = {}
            for name in ("slug", "name", "description", "attributes", "media", "published"):
                value = getattr(input, name)
                if value is not strawberry.UNSET:
                    if value is None and name != "description":
                        raise ClientError(f"{name} cannot be null", code=Problem.REQUIRED, field=name)
                    changes[name] = value if value is not None else ""
            if "attributes" in changes:
                _attributes(changes["attributes"])
            if input.category_id is not strawberry.UNSET:
                changes["category_id"] = parse_optional_id(input.category_id, "categoryId")
            await info.context.clients.catalog.execute(
                commands.UpdateProduct(product_id=product_id, changes=changes)
            )
        except ClientError as exc:
            return ProductUpdatePayload(
                errors=payload_errors(_refused(exc, ProductUpdateErrorCode), ProductUpdateError)
            )
        return ProductUpdatePayload(product=await _staff_product(info, product_id))

    @strawberry.mutation
    async def product_delete(self, info: strawberry.Info, id: strawberry.ID) -> ProductDeletePayload:
        staff(info, Permission.CATALOG_WRITE)
        try:
            product_id = parse_id(id, "id")
            await info.context.clients.catalog.execute(commands.DeleteProduct(product_id=product_id))
        except ClientError as exc:
            return ProductDeletePayload(
                errors=payload_errors(_refused(exc, ProductDeleteErrorCode), ProductDeleteError)
            )
        return ProductDeletePayload(deleted_id=strawberry.ID(str(product_id)))

    @strawberry.mutation
    async def variant_create(
        self,
        info: strawberry.Info,
        product_id: strawberry.ID,
        input: VariantInput,
    ) -> VariantCreatePayload:
        staff(info, Permission.CATALOG_WRITE)
        try:
            pid = parse_id(product_id, "productId")
            variant_id = await info.context.clients.catalog.execute(
                commands.CreateVariant(
                    product_id=pid,
                    sku=input.sku,
                    price=_money(input.price, "price"),
                    attributes=_attributes(input.attributes),
                )
            )
        except ClientError as exc:
            return VariantCreatePayload(
                errors=payload_errors(_refused(exc, VariantCreateErrorCode), VariantCreateError)
            )
        product = await _staff_product(info, pid)
        variant = next((v for v in product.variants if v.id == str(variant_id)), None) if product else None
        return VariantCreatePayload(variant=variant)

    @strawberry.mutation
    async def variant_update(
        self,
        info: strawberry.Info,
        id: strawberry.ID,
        input: VariantUpdateInput,
    ) -> VariantUpdatePayload:
        staff(info, Permission.CATALOG_WRITE)
        try:
            variant_id = parse_id(id, "id")
            await info.context.clients.catalog.execute(
                commands.UpdateVariant(
                    variant_id=variant_id,
                    price=_money(input.price, "price") if input.price is not None else None,
                    attributes=_attributes(input.attributes) if input.attributes is not None else None,
                )
            )
        except ClientError as exc:
            return VariantUpdatePayload(
                errors=payload_errors(_refused(exc, VariantUpdateErrorCode), VariantUpdateError)
            )
        return VariantUpdatePayload(variant=await _variant_by_id(info, variant_id))


async def _variant_by_id(info: strawberry.Info, variant_id: uuid.UUID) -> Variant | None:
    view = await info.context.clients.catalog.variant(variant_id)
    if view is None:
        return None
    return Variant.of(view, await sku_levels(info, [view.sku]))
