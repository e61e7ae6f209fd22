"""Events the catalog publishes (subjects `<ns>.catalog.v1.<name>`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from mercato.platform.events import DomainEvent


@dataclass(frozen=True, kw_only=True)
class CatalogEvent(DomainEvent):
    context: ClassVar[str] = "catalog"


@dataclass(frozen=True, kw_only=True)
class CategoryCreated(CatalogEvent):
    name: ClassVar[str] = "category_created"
    slug: str
    parent_id: str | None


@dataclass(frozen=True, kw_only=True)
class ProductCreated(CatalogEvent):
    name: ClassVar[str] = "product_created"
    slug: str
    skus: list[str]


@dataclass(frozen=True, kw_only=True)
class ProductUpdated(CatalogEvent):
    name: ClassVar[str] = "product_updated"
    changed: list[str]


@dataclass(frozen=True, kw_only=True)
class ProductPublished(CatalogEvent):
    name: ClassVar[str] = "product_published"
    published: bool


@dataclass(frozen=True, kw_only=True)
class ProductDeleted(CatalogEvent):
    name: ClassVar[str] = "product_deleted"
    skus: list[str]


@dataclass(frozen=True, kw_only=True)
class VariantCreated(CatalogEvent):
    name: ClassVar[str] = "variant_created"
    variant_id: str
    sku: str
    price_amount: int
    currency: str


@dataclass(frozen=True, kw_only=True)
class VariantUpdated(CatalogEvent):
    name: ClassVar[str] = "variant_updated"
    variant_id: str
    sku: str


@dataclass(frozen=True, kw_only=True)
class VariantPriceChanged(CatalogEvent):
    name: ClassVar[str] = "variant_price_changed"
    variant_id: str
    sku: str
    old_amount: int
    new_amount: int
    currency: str


@dataclass(frozen=True, kw_only=True)
class ProductsImported(CatalogEvent):
    """A bulk import changed these products (aggregate_id: the import's id). One event per batch of
    at most `IMPORT_EVENT_BATCH` products, instead of a product/variant event each: a 100k-product file
    would otherwise put millions of messages on the bus. A reader that needs the data (a search index)
    re-reads the products by id."""

    name: ClassVar[str] = "products_imported"
    created: list[str]  # product ids
    updated: list[str]


IMPORT_EVENT_BATCH = 500
