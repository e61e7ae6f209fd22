"""`views.by_position`: the listing's fast constructor makes the same frozen views as the classes."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime

import pytest

from mercato.catalog.service_layer.views import ProductView, VariantView, by_position


def test_a_view_made_by_position_is_the_one_the_class_makes_and_stays_frozen() -> None:
    # Given the values of a variant and of its product, in the order of their fields
    product_id = uuid.uuid4()
    variant = (uuid.uuid4(), product_id, "SKU-1", {"size": "M"}, 1999, "USD")
    now = datetime(2026, 12, 7, tzinfo=UTC)

    # When views are made from them by position
    made = by_position(VariantView)(*variant)
    product = by_position(ProductView)(
        product_id, "tee", "Tee", "A tee", None, {}, [], True, 1999, "USD", now, now, (made,)
    )

    # Then they equal the ones the classes make, field by field
    assert made == VariantView(*variant)
    assert dataclasses.astuple(made) == variant
    assert product == ProductView(
        product_id, "tee", "Tee", "A tee", None, {}, [], True, 1999, "USD", now, now, (VariantView(*variant),)
    )
    # ...and are as frozen
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.sku = "OTHER"  # type: ignore[misc]


def test_a_view_made_by_position_ignores_the_trailing_values_it_is_told_of() -> None:
    # Given a variant row with the SKU's units available after the variant's columns
    variant = (uuid.uuid4(), uuid.uuid4(), "SKU-2", {}, 500, "EUR")

    # When a view is made from the whole row, told of one trailing value
    made = by_position(VariantView, trailing=1)(*variant, 7)

    # Then it is the variant's view, and a row of another length is refused
    assert made == VariantView(*variant)
    with pytest.raises(TypeError):
        by_position(VariantView, trailing=1)(*variant)


def test_a_view_made_by_position_parses_the_fields_given_as_json_text() -> None:
    # Given a variant row whose attributes come as the text of a jsonb column
    variant_id, product_id = uuid.uuid4(), uuid.uuid4()

    # When a view is made from it, told that `attributes` is JSON text
    made = by_position(VariantView, json=("attributes",))(
        variant_id, product_id, "SKU-3", '{"size": "L", "tags": ["a", 1]}', 250, "USD"
    )

    # Then the attributes are the parsed value, the other fields as given
    assert made == VariantView(variant_id, product_id, "SKU-3", {"size": "L", "tags": ["a", 1]}, 250, "USD")


def test_by_position_refuses_a_json_field_the_view_does_not_have() -> None:
    with pytest.raises(ValueError, match="not fields of VariantView"):
        by_position(VariantView, json=("colour",))
