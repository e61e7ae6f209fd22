"""Error codes of the catalog's mutations: one enum per mutation, shared with GraphQL and gRPC."""

from __future__ import annotations

from enum import Enum


class CategoryCreateErrorCode(Enum):
    REQUIRED = "REQUIRED"
    INVALID = "INVALID"
    TOO_LONG = "TOO_LONG"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    DUPLICATE_SLUG = "DUPLICATE_SLUG"
    PARENT_NOT_FOUND = "PARENT_NOT_FOUND"


class ProductCreateErrorCode(Enum):
    REQUIRED = "REQUIRED"
    INVALID = "INVALID"
    TOO_LONG = "TOO_LONG"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    DUPLICATE_SLUG = "DUPLICATE_SLUG"
    DUPLICATE_SKU = "DUPLICATE_SKU"
    CATEGORY_NOT_FOUND = "CATEGORY_NOT_FOUND"
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"


class ProductUpdateErrorCode(Enum):
    REQUIRED = "REQUIRED"
    INVALID = "INVALID"
    TOO_LONG = "TOO_LONG"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    NOT_FOUND = "NOT_FOUND"
    DUPLICATE_SLUG = "DUPLICATE_SLUG"
    CATEGORY_NOT_FOUND = "CATEGORY_NOT_FOUND"


class ProductDeleteErrorCode(Enum):
    NOT_FOUND = "NOT_FOUND"
    INVALID = "INVALID"


class VariantCreateErrorCode(Enum):
    REQUIRED = "REQUIRED"
    INVALID = "INVALID"
    TOO_LONG = "TOO_LONG"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    PRODUCT_NOT_FOUND = "PRODUCT_NOT_FOUND"
    DUPLICATE_SKU = "DUPLICATE_SKU"
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"


class VariantUpdateErrorCode(Enum):
    REQUIRED = "REQUIRED"
    INVALID = "INVALID"
    TOO_LONG = "TOO_LONG"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    NOT_FOUND = "NOT_FOUND"
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"


class ProductListErrorCode(Enum):
    """Errors of the `products` listing query (bad cursor, page size, filter)."""

    INVALID_CURSOR = "INVALID_CURSOR"
    INVALID_PAGE_SIZE = "INVALID_PAGE_SIZE"
    INVALID = "INVALID"
    TOO_LONG = "TOO_LONG"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    REQUIRED = "REQUIRED"
