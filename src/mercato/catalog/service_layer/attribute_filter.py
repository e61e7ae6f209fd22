"""The SQL of one attribute filter of the listing (`filter.attributes`): products having a value of
`name` among `values`, on the product or on one of its variants.

A variant matches when its `attributes ->> name` is one of the values (the value's text: a string as
it is, any other JSON value as PostgreSQL prints it). That test alone cannot use an index, and inside
the filter's OR it made PostgreSQL scan every variant; so the variant side also asks for containment,
`attributes @> {name: value}`, which the GIN index `variants_attributes_idx` (jsonb_path_ops) serves.
The containment forms are chosen so that every variant passing the text test passes one of them (a
superset), and the text test is kept beside them, so the results are exactly those of the text test.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from sqlalchemy import Text, literal, or_
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.sql import ColumnElement, cast, exists

from mercato.catalog.adapters.tables import products, variants

# JSON that Python reads but PostgreSQL refuses (so no stored value prints as it): a NUL or a lone
# surrogate escape.
_REFUSED_ESCAPE = re.compile(r"\\u(0000|[dD][89abAB][0-9a-fA-F]{2})")


def _refuse_constant(name: str) -> object:
    raise ValueError(name)  # NaN, Infinity: not JSON to PostgreSQL


def containing(name: str, value: str) -> list[str]:
    """JSON documents `{name: v}` such that any attributes whose `->> name` is `value` contain one."""
    documents = [json.dumps({name: value})]  # the value as a JSON string
    try:
        parsed = json.loads(value, parse_constant=_refuse_constant)
    except ValueError:
        return documents  # only a string prints as text that is not JSON
    if not isinstance(parsed, str) and not _REFUSED_ESCAPE.search(value):
        # A number, boolean, null, array or object prints as its JSON text: the value, read by
        # PostgreSQL itself (exact numerics), is the one it would contain.
        documents.append("{" + json.dumps(name) + ": " + value + "}")
    return documents


def attribute_condition(name: str, values: Sequence[str]) -> ColumnElement[bool]:
    on_product = products.c.attributes[name].op("?|")(literal(list(values), ARRAY(Text)))
    documents = list(dict.fromkeys(d for value in values for d in containing(name, value)))
    on_variant = exists().where(
        variants.c.product_id == products.c.id,
        or_(*(variants.c.attributes.op("@>")(cast(literal(d, Text), JSONB)) for d in documents)),
        variants.c.attributes[name].astext.in_(list(values)),
    )
    return or_(on_product, on_variant)
