"""The in-process GraphQL benchmark (bench/graphql_exec.py): its listing mix, its in-memory catalog,
and a smoke run whose executors must agree on every response (nothing is timed)."""

from __future__ import annotations

import re

import pytest
from bench import graphql_exec
from bench.storefront_data import MemoryCatalog, listing_mix

from mercato.catalog.service_layer.listing import ListingRequest, ProductFilter, ProductSort


def test_the_mix_is_52_different_listings_of_12_to_36_products() -> None:
    mix = listing_mix()

    firsts = [int(m.group(1)) for q in mix if (m := re.search(r"first: (\d+)", q))]
    assert len(set(mix)) == 52
    assert len(firsts) == 52
    assert min(firsts) >= 12 and max(firsts) <= 36
    assert all("quantityAvailable" in q for q in listing_mix(stock=True))
    assert not any("quantityAvailable" in q for q in mix)


def test_the_memory_catalog_filters_sorts_and_pages_like_the_listing() -> None:
    catalog = MemoryCatalog(products=80)
    request = ListingRequest(
        first=5, filter=ProductFilter(price_min=3_000, price_max=9_000), sort=ProductSort.PRICE
    )

    page = catalog.page(request)
    prices = [p.min_price_amount for p in page.items]

    assert len(page.items) == 5
    assert prices == sorted(prices)
    assert all(p.published for p in page.items)
    assert all(any(3_000 <= v.price_amount <= 9_000 for v in p.variants) for p in page.items)


def test_a_smoke_run_measures_every_executor_on_the_same_responses(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = graphql_exec.main(["--seconds", "0.2", "--slice", "0.1", "--executors", "gateway,reference"])

    out = capsys.readouterr().out
    assert code == 0
    assert "identical responses from every executor" in out
    assert re.search(r"^gateway +\d+ ", out, re.MULTILINE)
    assert re.search(r"^reference +\d+ ", out, re.MULTILINE)
