"""Catalog aggregates: Category, and Product with its Variants. Pure Python, no I/O."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from mercato.catalog.domain import events
from mercato.catalog.domain.rules import CurrencyMismatch, DuplicateSku
from mercato.platform.errors import Problem
from mercato.platform.events import DomainEvent
from mercato.platform.types import MAX_MINOR_AMOUNT, Money, is_valid_currency
from mercato.platform.validation import SLUG_RE, Checks, check_json_object

SKU_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
NAME_MAX = 250
SLUG_MAX = 200
DESCRIPTION_MAX = 50_000
SKU_MAX = 64
MEDIA_MAX = 30
URL_MAX = 2_000
VARIANTS_MAX = 500


@dataclass
class Category:
    id: uuid.UUID
    slug: str
    name: str
    parent_id: uuid.UUID | None
    position: int
    events: list[DomainEvent] = field(default_factory=list, repr=False)

    @classmethod
    def create(cls, *, slug: str, name: str, parent_id: uuid.UUID | None, position: int) -> Category:
        checks = Checks()
        checks.pattern("slug", slug, SLUG_RE, "lowercase words joined by hyphens", SLUG_MAX)
        checks.text("name", name, max_length=NAME_MAX)
        checks.that(
            0 <= position <= 1_000_000, "position", Problem.OUT_OF_RANGE, "position must be 0-1000000"
        )
        checks.raise_as(Problem)
        category = cls(id=uuid.uuid4(), slug=slug, name=name.strip(), parent_id=parent_id, position=position)
        category.events.append(
            events.CategoryCreated(
                aggregate_id=str(category.id), slug=slug, parent_id=str(parent_id) if parent_id else None
            )
        )
        return category


@dataclass
class Variant:
    id: uuid.UUID
    sku: str
    attributes: dict[str, Any]
    price: Money
    position: int = 0


def check_variant(checks: Checks, prefix: str, sku: str, attributes: Any, amount: int, currency: str) -> None:
    checks.pattern(f"{prefix}sku", sku, SKU_RE, "letters, digits, '.', '_', '-' or '/'", SKU_MAX)
    check_json_object(checks, f"{prefix}attributes", attributes, max_keys=20)
    checks.that(
        is_valid_currency(currency), f"{prefix}price", Problem.INVALID, "currency must be an ISO 4217 code"
    )
    checks.that(
        0 <= amount <= MAX_MINOR_AMOUNT, f"{prefix}price", Problem.OUT_OF_RANGE, "price must not be negative"
    )


def check_product_fields(checks: Checks, fields: dict[str, Any]) -> None:
    """Checks whichever product fields are present in `fields`."""
    if "slug" in fields:
        checks.pattern("slug", fields["slug"], SLUG_RE, "lowercase words joined by hyphens", SLUG_MAX)
    if "name" in fields:
        checks.text("name", fields["name"], max_length=NAME_MAX)
    if "description" in fields:
        checks.text("description", fields["description"], max_length=DESCRIPTION_MAX, required=False)
    if "attributes" in fields:
        check_json_object(checks, "attributes", fields["attributes"])
    if "media" in fields:
        media = fields["media"]
        if not isinstance(media, list) or len(media) > MEDIA_MAX:
            checks.add("media", Problem.TOO_LONG, f"media holds at most {MEDIA_MAX} URLs")
        elif any(not isinstance(m, str) or not m or len(m) > URL_MAX or " " in m for m in media):
            checks.add(
                "media", Problem.INVALID, f"media entries must be URLs of at most {URL_MAX} characters"
            )
        else:
            checks.clean("media", media)


_MUTABLE = ("slug", "name", "description", "category_id", "attributes", "media", "published")


@dataclass
class Product:
    id: uuid.UUID
    slug: str
    name: str
    description: str
    category_id: uuid.UUID | None
    attributes: dict[str, Any]
    media: list[str]
    published: bool
    variants: list[Variant] = field(default_factory=list)
    version: int = 0
    events: list[DomainEvent] = field(default_factory=list, repr=False)

    @classmethod
    def create(cls, *, variants: list[Variant], **fields: Any) -> Product:
        checks = Checks()
        check_product_fields(checks, fields)
        for i, v in enumerate(variants):
            check_variant(checks, f"variants.{i}.", v.sku, v.attributes, v.price.amount, v.price.currency)
        checks.that(len(variants) <= VARIANTS_MAX, "variants", Problem.TOO_LONG, "too many variants")
        checks.raise_as(Problem)
        product = cls(id=uuid.uuid4(), **fields)
        for v in variants:
            product._append_variant(v)
        product.events.append(
            events.ProductCreated(aggregate_id=str(product.id), slug=product.slug, skus=product.skus)
        )
        return product

    @property
    def skus(self) -> list[str]:
        return [v.sku for v in self.variants]

    @property
    def currency(self) -> str | None:
        return self.variants[0].price.currency if self.variants else None

    def _append_variant(self, variant: Variant) -> None:
        if self.currency is not None and variant.price.currency != self.currency:
            raise CurrencyMismatch(f"every variant of a product is priced in {self.currency}")
        if variant.sku in self.skus:
            raise DuplicateSku(f"SKU {variant.sku} appears twice")
        variant.position = len(self.variants)
        self.variants.append(variant)

    def update(self, changes: dict[str, Any]) -> None:
        changes = {k: v for k, v in changes.items() if k in _MUTABLE and getattr(self, k) != v}
        checks = Checks()
        check_product_fields(checks, changes)
        checks.raise_as(Problem)
        if not changes:
            return
        for key, value in changes.items():
            setattr(self, key, value.strip() if key == "name" else value)
        self.events.append(events.ProductUpdated(aggregate_id=str(self.id), changed=sorted(changes)))
        if "published" in changes:
            self.events.append(events.ProductPublished(aggregate_id=str(self.id), published=self.published))

    def add_variant(self, *, sku: str, attributes: dict[str, Any], price: Money) -> Variant:
        checks = Checks()
        check_variant(checks, "", sku, attributes, price.amount, price.currency)
        checks.that(len(self.variants) < VARIANTS_MAX, "sku", Problem.TOO_LONG, "too many variants")
        checks.raise_as(Problem)
        variant = Variant(id=uuid.uuid4(), sku=sku, attributes=attributes, price=price)
        self._append_variant(variant)
        self.events.append(
            events.VariantCreated(
                aggregate_id=str(self.id),
                variant_id=str(variant.id),
                sku=sku,
                price_amount=price.amount,
                currency=price.currency,
            )
        )
        return variant

    def variant(self, variant_id: uuid.UUID) -> Variant | None:
        return next((v for v in self.variants if v.id == variant_id), None)

    def update_variant(
        self, variant: Variant, *, attributes: dict[str, Any] | None = None, price: Money | None = None
    ) -> None:
        checks = Checks()
        if attributes is not None:
            check_json_object(checks, "attributes", attributes, max_keys=20)
        if price is not None:
            check_variant(checks, "", variant.sku, variant.attributes, price.amount, price.currency)
        checks.raise_as(Problem)
        if price is not None and price.currency != self.currency:
            raise CurrencyMismatch(f"every variant of a product is priced in {self.currency}")
        if attributes is not None and attributes != variant.attributes:
            variant.attributes = attributes
            self.events.append(
                events.VariantUpdated(aggregate_id=str(self.id), variant_id=str(variant.id), sku=variant.sku)
            )
        if price is not None and price != variant.price:
            old, variant.price = variant.price, price
            self.events.append(
                events.VariantPriceChanged(
                    aggregate_id=str(self.id),
                    variant_id=str(variant.id),
                    sku=variant.sku,
                    old_amount=old.amount,
                    new_amount=price.amount,
                    currency=price.currency,
                )
            )

    def delete(self) -> None:
        self.events.append(events.ProductDeleted(aggregate_id=str(self.id), skus=self.skus))
