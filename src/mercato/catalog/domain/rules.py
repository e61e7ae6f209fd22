"""Business-rule violations of the catalog, raised by the model and mapped per mutation."""

from __future__ import annotations

from mercato.platform.errors import Conflict


class CurrencyMismatch(Conflict):
    def __init__(self, message: str) -> None:
        super().__init__(message, code="CURRENCY_MISMATCH", field="price")


class DuplicateSku(Conflict):
    def __init__(self, message: str) -> None:
        super().__init__(message, code="DUPLICATE_SKU", field="sku")


class DuplicateSlug(Conflict):
    def __init__(self, message: str) -> None:
        super().__init__(message, code="DUPLICATE_SLUG", field="slug")
