"""Storefront listing parameters: filter, sort order and opaque keyset cursors."""

from __future__ import annotations

import base64
import binascii
import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

import orjson

from mercato.catalog.domain.errors import ProductListErrorCode
from mercato.catalog.service_layer.views import ProductView
from mercato.platform.errors import ClientError, Problem
from mercato.platform.types import MAX_MINOR_AMOUNT
from mercato.platform.validation import Checks

PAGE_MAX = 100
SEARCH_MAX = 200
ATTRIBUTE_FILTERS_MAX = 20


class ProductSort(Enum):
    NAME = "NAME"
    PRICE = "PRICE"
    CREATED_AT = "CREATED_AT"


@dataclass(frozen=True)
class ProductFilter:
    category_id: uuid.UUID | None = None
    search: str | None = None
    price_min: int | None = None  # minor units
    price_max: int | None = None
    in_stock: bool | None = None
    attributes: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class ListingRequest:
    first: int = 20
    after: str | None = None
    filter: ProductFilter = field(default_factory=ProductFilter)
    sort: ProductSort = ProductSort.NAME
    descending: bool = False

    def validate(self) -> Cursor | None:
        """Checks the request; returns the decoded `after` cursor."""
        checks = Checks()
        if not 1 <= self.first <= PAGE_MAX:
            checks.add("first", ProductListErrorCode.INVALID_PAGE_SIZE, f"first must be 1-{PAGE_MAX}")
        f = self.filter
        if f.search is not None:
            checks.text("filter.search", f.search, max_length=SEARCH_MAX, required=False)
        for name, value in (("filter.priceMin", f.price_min), ("filter.priceMax", f.price_max)):
            if value is not None and not 0 <= value <= MAX_MINOR_AMOUNT:
                checks.add(name, Problem.OUT_OF_RANGE, f"{name} must not be negative")
        if f.price_min is not None and f.price_max is not None and f.price_min > f.price_max:
            checks.add("filter.priceMax", Problem.OUT_OF_RANGE, "priceMax must not be below priceMin")
        if len(f.attributes) > ATTRIBUTE_FILTERS_MAX:
            checks.add(
                "filter.attributes", Problem.TOO_LONG, f"at most {ATTRIBUTE_FILTERS_MAX} attribute filters"
            )
        for name, values in f.attributes:
            checks.that(
                0 < len(name) <= 64,
                "filter.attributes",
                Problem.INVALID,
                "attribute names are 1-64 characters",
            )
            checks.that(
                0 < len(values) <= 50 and all(len(v) <= 200 for v in values),
                "filter.attributes",
                Problem.INVALID,
                "attribute filters take 1-50 values of at most 200 characters",
            )
        cursor: Cursor | None = None
        if self.after is not None:
            try:
                cursor = Cursor.decode(self.after, self.sort, self.descending)
            except ClientError as exc:
                checks.add("after", ProductListErrorCode.INVALID_CURSOR, exc.message)
        checks.raise_as(ProductListErrorCode)
        return cursor

    def cache_key(self) -> str:
        return hashlib.blake2b(repr(self).encode(), digest_size=16).hexdigest()


@dataclass(frozen=True)
class Cursor:
    """Position after one product in one sort order: (sort value, product id)."""

    sort: ProductSort
    descending: bool
    value: Any
    product_id: uuid.UUID

    @classmethod
    def after_product(cls, product: ProductView, sort: ProductSort, descending: bool) -> Cursor:
        value: Any
        if sort is ProductSort.NAME:
            value = product.name
        elif sort is ProductSort.PRICE:
            value = product.min_price_amount
        else:
            value = product.created_at
        return cls(sort, descending, value, product.id)

    def encode(self) -> str:
        value = self.value.isoformat() if isinstance(self.value, datetime) else self.value
        raw = orjson.dumps([1, self.sort.value, self.descending, value, str(self.product_id)])
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str, sort: ProductSort, descending: bool) -> Cursor:
        invalid = ClientError("the cursor is malformed or belongs to another sort order", field="after")
        if len(token) > 1_000:
            raise invalid
        try:
            raw = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            version, sort_name, desc, value, product_id = raw
            if version != 1 or sort_name != sort.value or desc is not descending:
                raise invalid
            if sort is ProductSort.NAME and not isinstance(value, str):
                raise invalid
            if sort is ProductSort.PRICE and (not isinstance(value, int) or isinstance(value, bool)):
                raise invalid
            if sort is ProductSort.CREATED_AT:
                value = datetime.fromisoformat(value)
                if value.tzinfo is None:
                    raise invalid
            return cls(sort, descending, value, uuid.UUID(product_id))
        except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError):
            raise invalid from None
