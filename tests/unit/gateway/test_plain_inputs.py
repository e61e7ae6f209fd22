"""Inputs of scalars and enums built from a table (core/plain_inputs.py) against Strawberry's general
conversion: the same objects from the same coerced values, given fields, omitted ones and nulls."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import coerce_input_value
from strawberry.types.arguments import convert_argument

from mercato.gateway.graphql.schema import MercatoSchema, build_schema
from mercato.platform.config import Settings

SCHEMA = build_schema(Settings())

VALUES: list[tuple[str, dict[str, Any]]] = [
    (
        "AddressInput",
        {
            "firstName": "Ada",
            "lastName": "Lovelace",
            "line1": "1 Way",
            "line2": "Flat 2",
            "city": "London",
            "postalCode": "N1",
            "country": "GB",
            "phone": "+44 1",
        },
    ),
    (
        "AddressInput",
        {"firstName": "Ada", "lastName": "Lovelace", "line1": "1 Way", "city": "L", "country": "GB"},
    ),
    ("CartLineInput", {"sku": "SKU-1", "quantity": 3}),
    (
        "StockAdjustInput",
        {"sku": "S", "warehouseId": "w1", "reason": "COUNTED", "delta": None, "setOnHand": 4},
    ),
    ("StockAdjustInput", {"sku": "S", "warehouseId": "w1", "reason": "COUNTED"}),
    ("ProductSortInput", {}),
    ("ProductSortInput", {"field": "PRICE", "direction": "DESC"}),
    ("MoneyInput", {"amount": "1.50", "currency": "EUR"}),
]


def _built(schema: MercatoSchema, type_name: str, raw: dict[str, Any], general: bool) -> Any:
    converter = schema.schema_converter
    concrete = converter.type_map[type_name]
    definition: Any = concrete.definition
    coerced = coerce_input_value(raw, concrete.implementation)  # type: ignore[arg-type]
    own = definition.from_input
    if general:
        definition.from_input = None
    try:
        return convert_argument(coerced, definition.origin, converter.scalar_registry, converter.config)
    finally:
        definition.from_input = own


@pytest.mark.parametrize(("type_name", "raw"), VALUES)
def test_a_plain_input_is_built_as_strawberry_builds_it(type_name: str, raw: dict[str, Any]) -> None:
    fast = _built(SCHEMA, type_name, raw, general=False)
    general = _built(SCHEMA, type_name, raw, general=True)

    assert SCHEMA.schema_converter.type_map[type_name].definition.from_input is not None  # type: ignore[union-attr]
    assert type(fast) is type(general)
    assert fast == general


def test_inputs_holding_more_than_scalars_and_enums_keep_the_general_conversion() -> None:
    inputs = {
        name: concrete.definition
        for name, concrete in SCHEMA.schema_converter.type_map.items()
        if getattr(concrete.definition, "is_input", False)
    }

    general = sorted(name for name, d in inputs.items() if d.from_input is None)  # type: ignore[union-attr]

    assert general == [
        "AttributeFilterInput",  # a list of strings
        "ProductCreateInput",  # nested inputs
        "ProductFilterInput",
        "ProductUpdateInput",
        "VariantInput",
        "VariantUpdateInput",
    ]
