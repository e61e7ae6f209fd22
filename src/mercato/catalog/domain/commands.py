"""Catalog use cases, as data. Entrypoints build one and hand it to `CatalogService.handle`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from mercato.platform.types import Money


@dataclass(frozen=True)
class CreateCategory:
    slug: str
    name: str
    parent_id: uuid.UUID | None = None
    position: int = 0


@dataclass(frozen=True)
class NewVariant:
    sku: str
    price: Money
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CreateProduct:
    slug: str
    name: str
    description: str = ""
    category_id: uuid.UUID | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    media: list[str] = field(default_factory=list)
    published: bool = False
    variants: list[NewVariant] = field(default_factory=list)


@dataclass(frozen=True)
class UpdateProduct:
    product_id: uuid.UUID
    changes: dict[str, Any]  # only the fields to change: slug, name, description, category_id, ...


@dataclass(frozen=True)
class DeleteProduct:
    product_id: uuid.UUID


@dataclass(frozen=True)
class CreateVariant:
    product_id: uuid.UUID
    sku: str
    price: Money
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class UpdateVariant:
    variant_id: uuid.UUID
    price: Money | None = None
    attributes: dict[str, Any] | None = None


# What `CatalogService.handle` and `CatalogClient.execute` run; each answers the new or changed id.
CatalogCommand = (
    CreateCategory | CreateProduct | UpdateProduct | DeleteProduct | CreateVariant | UpdateVariant
)
