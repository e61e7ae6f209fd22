"""What search needs from the catalog: current products and the category tree.

The slice of the catalog's `CatalogClient` Protocol search uses, restated so search imports no
catalog module (contexts stay independent); any `CatalogClient` satisfies it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol


class VariantInfo(Protocol):
    @property
    def sku(self) -> str: ...
    @property
    def attributes(self) -> Mapping[str, Any]: ...
    @property
    def price_amount(self) -> int: ...


class ProductInfo(Protocol):
    @property
    def id(self) -> uuid.UUID: ...
    @property
    def slug(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def category_id(self) -> uuid.UUID | None: ...
    @property
    def attributes(self) -> Mapping[str, Any]: ...
    @property
    def published(self) -> bool: ...
    @property
    def updated_at(self) -> datetime: ...
    @property
    def variants(self) -> Sequence[VariantInfo]: ...


class CategoryInfo(Protocol):
    @property
    def id(self) -> uuid.UUID: ...
    @property
    def name(self) -> str: ...
    @property
    def parent_id(self) -> uuid.UUID | None: ...


class ProductPageInfo(Protocol):
    @property
    def items(self) -> Sequence[ProductInfo]: ...
    @property
    def has_next_page(self) -> bool: ...


class CatalogPort(Protocol):
    async def products_by_ids(
        self, ids: Sequence[uuid.UUID], *, include_unpublished: bool = False
    ) -> Sequence[ProductInfo]: ...

    async def categories(self) -> Sequence[CategoryInfo]: ...


class Embedder(Protocol):
    """Text to unit-length vectors (adapters/embedder.py); the same model for documents and queries."""

    model_id: str

    async def embed(self, texts: Sequence[str]) -> list[list[float]]: ...
