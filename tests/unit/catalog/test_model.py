from __future__ import annotations

import uuid

import pytest

from mercato.catalog.domain import events
from mercato.catalog.domain.model import Product, Variant
from mercato.catalog.domain.rules import CurrencyMismatch, DuplicateSku
from mercato.platform.errors import InputRejected, Problem
from mercato.platform.types import Money


def make_product(**overrides: object) -> Product:
    fields: dict[str, object] = {
        "slug": "trail-jacket",
        "name": "Trail Jacket",
        "description": "Warm.",
        "category_id": None,
        "attributes": {"material": ["Nylon"]},
        "media": [],
        "published": True,
        "variants": [
            Variant(id=uuid.uuid4(), sku="TJ-M", attributes={"size": "M"}, price=Money(9900, "USD"))
        ],
    }
    fields.update(overrides)
    return Product.create(**fields)  # type: ignore[arg-type]


def test_a_new_product_raises_product_created_with_its_skus() -> None:
    product = make_product()
    assert [type(e) for e in product.events] == [events.ProductCreated]
    assert product.events[0].payload() == {"slug": "trail-jacket", "skus": ["TJ-M"]}


def test_every_invalid_field_is_reported_at_once() -> None:
    with pytest.raises(InputRejected) as caught:
        make_product(slug="Not A Slug", name="", media=["x" * 3000])
    assert [(e.field, e.code) for e in caught.value.errors] == [
        ("slug", Problem.INVALID),
        ("name", Problem.REQUIRED),
        ("media", Problem.INVALID),
    ]


def test_negative_prices_are_out_of_range() -> None:
    with pytest.raises(InputRejected) as caught:
        make_product(variants=[Variant(id=uuid.uuid4(), sku="A", attributes={}, price=Money(-1, "USD"))])
    assert [(e.field, e.code) for e in caught.value.errors] == [("variants.0.price", Problem.OUT_OF_RANGE)]


def test_variants_of_a_product_share_one_currency() -> None:
    product = make_product()
    with pytest.raises(CurrencyMismatch):
        product.add_variant(sku="TJ-L", attributes={"size": "L"}, price=Money(9900, "EUR"))
    assert product.skus == ["TJ-M"]


def test_a_sku_appears_once_per_product() -> None:
    product = make_product()
    with pytest.raises(DuplicateSku):
        product.add_variant(sku="TJ-M", attributes={}, price=Money(1, "USD"))


def test_changing_a_price_raises_price_changed_with_old_and_new_amounts() -> None:
    product = make_product()
    product.events.clear()
    variant = product.variants[0]
    product.update_variant(variant, price=Money(7900, "USD"))
    assert len(product.events) == 1
    event = product.events[0]
    assert isinstance(event, events.VariantPriceChanged)
    assert (event.old_amount, event.new_amount, event.sku) == (9900, 7900, "TJ-M")


def test_publishing_raises_updated_and_published() -> None:
    product = make_product(published=False)
    product.events.clear()
    product.update({"published": True, "name": "Trail Jacket"})  # unchanged name is not a change
    assert [type(e) for e in product.events] == [events.ProductUpdated, events.ProductPublished]
    assert product.events[0].payload() == {"changed": ["published"]}


def test_an_update_that_changes_nothing_raises_nothing() -> None:
    product = make_product()
    product.events.clear()
    product.update({"name": "Trail Jacket", "slug": "trail-jacket"})
    assert product.events == []
