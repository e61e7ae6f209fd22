from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime

import pytest

from mercato.catalog.domain.errors import ProductListErrorCode
from mercato.catalog.service_layer.listing import Cursor, ListingRequest, ProductFilter, ProductSort
from mercato.platform.errors import InputRejected


@pytest.mark.parametrize(
    ("sort", "value"),
    [
        (ProductSort.NAME, "Aurora"),
        (ProductSort.PRICE, 1999),
        (ProductSort.CREATED_AT, datetime(2026, 1, 2, tzinfo=UTC)),
    ],
)
def test_cursors_round_trip(sort: ProductSort, value: object) -> None:
    cursor = Cursor(sort, True, value, uuid.uuid4())
    assert Cursor.decode(cursor.encode(), sort, True) == cursor


def codes(request: ListingRequest) -> list[tuple[str | None, ProductListErrorCode]]:
    with pytest.raises(InputRejected) as caught:
        request.validate()
    return [(e.field, e.code) for e in caught.value.errors]  # type: ignore[misc]


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not-base64!!",
        base64.urlsafe_b64encode(b"[1,2]").decode(),
        base64.urlsafe_b64encode(b"{}").decode(),
        "A" * 5000,
    ],
)
def test_malformed_cursors_are_refused(token: str) -> None:
    assert codes(ListingRequest(after=token)) == [("after", ProductListErrorCode.INVALID_CURSOR)]


def test_a_cursor_of_another_sort_order_is_refused() -> None:
    token = Cursor(ProductSort.PRICE, False, 100, uuid.uuid4()).encode()
    assert codes(ListingRequest(after=token, sort=ProductSort.NAME)) == [
        ("after", ProductListErrorCode.INVALID_CURSOR)
    ]


@pytest.mark.parametrize("first", [0, -1, 101, 10**9])
def test_page_size_is_capped_at_100(first: int) -> None:
    assert codes(ListingRequest(first=first)) == [("first", ProductListErrorCode.INVALID_PAGE_SIZE)]


def test_bad_filters_are_reported_together() -> None:
    request = ListingRequest(filter=ProductFilter(search="x" * 201, price_min=500, price_max=100))
    assert codes(request) == [
        ("filter.search", ProductListErrorCode.TOO_LONG),
        ("filter.priceMax", ProductListErrorCode.OUT_OF_RANGE),
    ]
