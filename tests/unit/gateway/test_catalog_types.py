"""`Variant.of` makes a page's variants without their `__init__`: the same objects as the class makes."""

from __future__ import annotations

import dataclasses
import uuid

from mercato.catalog.service_layer.views import VariantView
from mercato.gateway.graphql.catalog.types import Variant
from mercato.gateway.graphql.core.types import Money


def test_a_variant_made_from_its_view_is_the_one_the_class_makes() -> None:
    # Given a variant's view and the units available of its SKU (and of none for another)
    view = VariantView(uuid.uuid4(), uuid.uuid4(), "SKU-1", {"size": "M"}, 1999, "USD")
    bare = dataclasses.replace(view, sku="SKU-2")
    levels = {"SKU-1": 3}

    # When GraphQL variants are made from them
    stocked, empty = Variant.of(view, levels), Variant.of(bare, levels)

    # Then each equals the one the class makes, field by field, and every field is set
    assert stocked == Variant(
        id=str(view.id),  # type: ignore[arg-type]
        sku="SKU-1",
        attributes={"size": "M"},
        price=Money(amount="19.99", currency="USD"),
        quantity_available=3,
        in_stock=True,
    )
    assert (empty.sku, empty.quantity_available, empty.in_stock) == ("SKU-2", 0, False)
    assert set(vars(stocked)) == {f.name for f in dataclasses.fields(Variant)}
