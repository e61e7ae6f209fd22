"""Input objects made of scalars and enums only, built without Strawberry's general conversion.

Strawberry converts every argument of every request through `convert_argument`: per field of an input
object, the name converter, the field's type resolved again, the containers unwrapped one call at a
time. For a `checkoutComplete` (an `AddressInput` of 8 strings) that was a quarter of the execution
of the request around its resolver. For an input whose fields are all scalars or enums (optional or
not), that conversion hands each value over unchanged, so the same object is built from a table made
once per type: graphql-core has already coerced and validated the values, as before.

It uses Strawberry's own extension point for inputs that build their own value
(`StrawberryObjectDefinition.from_input`); types with anything else (nested inputs, lists, `Maybe`,
`GlobalID`) keep the general path.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from strawberry.relay.types import GlobalID
from strawberry.schema.compat import is_scalar
from strawberry.types.arguments import InputContext
from strawberry.types.base import (
    StrawberryMaybe,
    StrawberryObjectDefinition,
    StrawberryOptional,
    StrawberryType,
)
from strawberry.types.enum import StrawberryEnumDefinition, has_enum_definition

FromInput = Callable[[type, Mapping[str, Any], InputContext], Any]


def build_plain_inputs(schema: Any) -> list[str]:
    """Give every plain input type of `schema` (a Strawberry schema, built) its table-driven
    `from_input`; the names of the types given one."""
    converter = schema.schema_converter
    done = []
    for name, concrete in converter.type_map.items():
        definition = concrete.definition
        if not isinstance(definition, StrawberryObjectDefinition) or not definition.is_input:
            continue
        if definition.from_input is not None:
            continue
        builder = _plain_builder(definition, converter.scalar_registry, converter.config)
        if builder is not None:
            definition.from_input = builder
            done.append(name)
    return sorted(done)


def _plain_builder(
    definition: StrawberryObjectDefinition, scalar_registry: Mapping[object, Any], config: Any
) -> FromInput | None:
    names: list[tuple[str, str]] = []  # (GraphQL name, Python name)
    for field in definition.fields:
        if not _plain(field.resolve_type(type_definition=definition), scalar_registry):
            return None
        names.append((config.name_converter.from_field(field), field.python_name))
    # As Strawberry's conversion: a field without a default is None unless given (graphql-core has
    # refused a request that omits a required one); one with a default keeps it unless given.
    required = {
        field.python_name: None
        for field in definition.fields
        if field.default_value is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
    }

    def from_input(cls: type, value: Mapping[str, Any], _context: InputContext) -> Any:
        kwargs = dict(required)
        for graphql_name, python_name in names:
            if graphql_name in value:
                kwargs[python_name] = value[graphql_name]
        return cls(**kwargs)

    return from_input


def _plain(type_: StrawberryType | type, scalar_registry: Mapping[object, Any]) -> bool:
    """A value Strawberry's conversion hands over unchanged: a scalar or an enum, optional or not."""
    if isinstance(type_, StrawberryMaybe):  # wrapped in `Some`
        return False
    if isinstance(type_, StrawberryOptional):
        type_ = type_.of_type
    if type_ is GlobalID:  # decoded from its text
        return False
    return (
        isinstance(type_, StrawberryEnumDefinition)
        or has_enum_definition(type_)
        or is_scalar(type_, scalar_registry)
    )
