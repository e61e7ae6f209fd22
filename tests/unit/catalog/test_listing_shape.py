"""`listing_sql.ListingShape`: requests that differ only in values share one statement, compiled once;
the values go as named parameters, and every parameter of each shape's statement has its value."""

from __future__ import annotations

import itertools
import uuid

from sqlalchemy.dialects.postgresql import asyncpg

from mercato.catalog.adapters.tables import products
from mercato.catalog.service_layer import listing_sql
from mercato.catalog.service_layer.listing import Cursor, ListingRequest, ProductFilter, ProductSort
from mercato.catalog.service_layer.listing_sql import ListingShape, listing_parameters, listing_statement
from mercato.platform.sql import CompiledSql


def test_requests_differing_in_values_only_have_one_shape() -> None:
    # Given two requests with the same filters present, with other values, and one with a filter more
    one = ListingRequest(
        first=10, filter=ProductFilter(search="jacket", price_min=100, attributes=(("size", ("M",)),))
    )
    two = ListingRequest(
        first=30, filter=ProductFilter(search="tee", price_min=9, attributes=(("colour", ("red", "blue")),))
    )
    more = ListingRequest(first=10, filter=ProductFilter(search="jacket", price_min=100, price_max=200))

    # When their shapes are taken, Then the first two share theirs, and a priceMin of 0 is none
    assert ListingShape.of(one, None) == ListingShape.of(two, None)
    assert ListingShape.of(more, None) != ListingShape.of(one, None)
    assert ListingShape.of(ListingRequest(filter=ProductFilter(price_min=0)), None) == ListingShape.of(
        ListingRequest(), None
    )
    # ...and the values are parameters
    assert listing_parameters(two, None) == {
        "limit": 31,
        "window": max(listing_sql.WINDOW_MIN, listing_sql.WINDOW_PER_ROW * 31),
        "category_id": None,
        "search": "tee",
        "price_low": 9,
        "price_high": None,
        "attribute_0": "colour",
        "attribute_values_0": ["red", "blue"],
    }


def test_every_parameter_of_every_shape_has_its_value() -> None:
    # Given a request of each shape (sorts, directions, cursor, every combination of filters)
    dialect = asyncpg.dialect()
    for sort, descending, after, category, search, low, high, in_stock, attributes in itertools.product(
        ProductSort, (False, True), (False, True), (False, True), (False, True), (False, True),
        (False, True), (None, True, False), (0, 2),
    ):  # fmt: skip
        request = ListingRequest(
            sort=sort,
            descending=descending,
            filter=ProductFilter(
                category_id=uuid.uuid4() if category else None,
                search="word" if search else None,
                price_min=500 if low else None,
                price_max=900 if high else None,
                in_stock=in_stock,
                attributes=tuple((f"a{i}", ("x",)) for i in range(attributes)),
            ),
        )
        value = {ProductSort.NAME: "Name", ProductSort.PRICE: 1, ProductSort.CREATED_AT: None}[sort]
        cursor = Cursor(sort, descending, value, uuid.uuid4()) if after else None
        shape = ListingShape.of(request, cursor)

        # When its statement is compiled once
        statement = CompiledSql(listing_statement(shape, (products.c.id,)))
        statement.compile(dialect)

        # Then each of its parameters is one the request gives a value for
        assert set(statement.names) <= set(listing_parameters(request, cursor)), shape
