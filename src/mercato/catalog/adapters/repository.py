"""Loads and saves catalog aggregates on the unit of work's connection."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from mercato.catalog.adapters.tables import categories, products, variants
from mercato.catalog.domain.model import Category, Product, Variant
from mercato.platform.types import Money

_VariantSnapshot = tuple[str, Any, int, str, int]


def _snapshot(v: Variant) -> _VariantSnapshot:
    return (v.sku, v.attributes, v.price.amount, v.price.currency, v.position)


class CategoryRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def path_of(self, category_id: uuid.UUID) -> str | None:
        return (
            await self.conn.execute(select(categories.c.path).where(categories.c.id == category_id))
        ).scalar()

    async def exists(self, category_id: uuid.UUID) -> bool:
        return await self.path_of(category_id) is not None

    async def add(self, category: Category, parent_path: str) -> None:
        await self.conn.execute(
            insert(categories).values(
                id=category.id,
                parent_id=category.parent_id,
                slug=category.slug,
                name=category.name,
                position=category.position,
                path=f"{parent_path}{category.id}/",
            )
        )


class ProductRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self._loaded: dict[uuid.UUID, dict[uuid.UUID, _VariantSnapshot]] = {}
        self.seen: list[Product] = []

    async def get(self, product_id: uuid.UUID) -> Product | None:
        """The product with its variants, row-locked until the transaction ends."""
        row = (
            await self.conn.execute(select(products).where(products.c.id == product_id).with_for_update())
        ).first()
        return await self._hydrate(row) if row is not None else None

    async def get_by_variant(self, variant_id: uuid.UUID) -> Product | None:
        row = (
            await self.conn.execute(
                select(products)
                .where(
                    products.c.id
                    == select(variants.c.product_id).where(variants.c.id == variant_id).scalar_subquery()
                )
                .with_for_update()
            )
        ).first()
        return await self._hydrate(row) if row is not None else None

    async def _hydrate(self, row: Any) -> Product:
        rows = (
            await self.conn.execute(
                select(variants).where(variants.c.product_id == row.id).order_by(variants.c.position)
            )
        ).all()
        product = Product(
            id=row.id,
            slug=row.slug,
            name=row.name,
            description=row.description,
            category_id=row.category_id,
            attributes=row.attributes,
            media=row.media,
            published=row.published,
            version=row.version,
            variants=[
                Variant(
                    id=v.id,
                    sku=v.sku,
                    attributes=v.attributes,
                    price=Money(v.price_amount, v.currency),
                    position=v.position,
                )
                for v in rows
            ],
        )
        self._loaded[product.id] = {v.id: _snapshot(v) for v in product.variants}
        self.seen.append(product)
        return product

    def _product_values(self, product: Product) -> dict[str, Any]:
        return {
            "slug": product.slug,
            "name": product.name,
            "description": product.description,
            "category_id": product.category_id,
            "attributes": product.attributes,
            "media": product.media,
            "published": product.published,
            "min_price_amount": min((v.price.amount for v in product.variants), default=0),
            "max_price_amount": max((v.price.amount for v in product.variants), default=0),
            "currency": product.currency,
        }

    async def add(self, product: Product) -> None:
        await self.conn.execute(
            insert(products).values(id=product.id, version=0, **self._product_values(product))
        )
        await self._insert_variants(product, product.variants)
        self._loaded[product.id] = {v.id: _snapshot(v) for v in product.variants}
        self.seen.append(product)

    async def _insert_variants(self, product: Product, new: list[Variant]) -> None:
        if new:
            await self.conn.execute(
                insert(variants).values(
                    [
                        {
                            "id": v.id,
                            "product_id": product.id,
                            "sku": v.sku,
                            "attributes": v.attributes,
                            "price_amount": v.price.amount,
                            "currency": v.price.currency,
                            "position": v.position,
                        }
                        for v in new
                    ]
                )
            )

    async def save(self, product: Product) -> None:
        """Write back a product loaded by `get`: its row, new variants and changed variants."""
        loaded = self._loaded[product.id]
        product.version += 1
        await self.conn.execute(
            update(products)
            .where(products.c.id == product.id)
            .values(version=product.version, updated_at=func.now(), **self._product_values(product))
        )
        await self._insert_variants(product, [v for v in product.variants if v.id not in loaded])
        for v in product.variants:
            if v.id in loaded and loaded[v.id] != _snapshot(v):
                await self.conn.execute(
                    update(variants)
                    .where(variants.c.id == v.id)
                    .values(attributes=v.attributes, price_amount=v.price.amount, currency=v.price.currency)
                )
        self._loaded[product.id] = {v.id: _snapshot(v) for v in product.variants}

    async def remove(self, product: Product) -> None:
        await self.conn.execute(delete(products).where(products.c.id == product.id))
