"""The scenarios' GraphQL requests and a check that a response is a correct, error-free page."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from bench.storefront_data import listing_mix

LISTING = "listing"
LISTING_AVAILABILITY = "listing-availability"
LISTING_MIX = "listing-mix"  # the server's response cache off
LISTING_MIX_CACHED = "listing-mix-cached"  # on, every query warm
LISTING_MIX_AVAILABILITY = "listing-mix-availability"  # the mix with availability, cache off

_VARIANT_FIELDS = {
    LISTING: "sku price { amount currency }",
    LISTING_AVAILABILITY: "sku price { amount currency } quantityAvailable",
}
QUERIES: dict[str, bytes] = {
    name: orjson.dumps(
        {"query": f"{{ products(first: 20) {{ edges {{ node {{ name slug variants {{ {fields} }} }} }} }} }}"}
    )
    for name, fields in _VARIANT_FIELDS.items()
}
# Issue 9's storefront mix: 52 different `products(first: 12-36)` queries over sorts, price ranges and
# searches, the documents bench/graphql_exec.py executes in process, here sent over HTTP.
MIX: list[bytes] = [orjson.dumps({"query": query}) for query in listing_mix()]
MIX_AVAILABILITY: list[bytes] = [orjson.dumps({"query": query}) for query in listing_mix(stock=True)]
BODIES: dict[str, list[bytes]] = {
    LISTING: [QUERIES[LISTING]],
    LISTING_AVAILABILITY: [QUERIES[LISTING_AVAILABILITY]],
    LISTING_MIX: MIX,
    LISTING_MIX_CACHED: MIX,
    LISTING_MIX_AVAILABILITY: MIX_AVAILABILITY,
}
_FIRST = re.compile(rb"products\(first: (\d+)")


class BadResponse(RuntimeError):
    pass


def _check_page(payload: Any, scenario: str, first: int = 20) -> None:
    if not isinstance(payload, dict):
        raise BadResponse(f"{scenario}: the body is not a JSON object")
    if payload.get("errors"):
        raise BadResponse(f"{scenario}: GraphQL errors: {orjson.dumps(payload['errors']).decode()[:800]}")
    edges = (((payload.get("data") or {}).get("products")) or {}).get("edges")
    if not isinstance(edges, list) or not edges:
        raise BadResponse(f"{scenario}: no products in the page: {orjson.dumps(payload).decode()[:300]}")
    if len(edges) > first:
        raise BadResponse(f"{scenario}: {len(edges)} products in a page of first: {first}")
    for edge in edges:
        variants = edge["node"]["variants"]
        if not variants:
            raise BadResponse(f"{scenario}: product {edge['node']['slug']} came without variants")
        if scenario == LISTING_AVAILABILITY and any(
            not isinstance(v.get("quantityAvailable"), int) for v in variants
        ):
            raise BadResponse(f"{scenario}: a variant has no integer quantityAvailable")


@dataclass(frozen=True)
class Checked:
    body: bytes
    cache: str  # the server's x-mercato-cache header: "hit", "miss", or "absent" (query executed)


def check_response(base_url: str, request: bytes, scenario: str) -> Checked:
    """POST `request`; raise BadResponse unless it is 200 with a non-empty page and no errors."""
    response = httpx.post(
        base_url + "/graphql",
        content=request,
        headers={"content-type": "application/json"},
        timeout=10,
    )
    if response.status_code != 200:
        raise BadResponse(f"{scenario}: HTTP {response.status_code}: {response.text[:800]}")
    try:
        payload = response.json()
    except ValueError as exc:
        raise BadResponse(f"{scenario}: the body is not JSON: {response.text[:300]}") from exc
    first = _FIRST.search(request)
    _check_page(payload, scenario if scenario != "ceiling" else LISTING, int(first[1]) if first else 20)
    return Checked(response.content, response.headers.get("x-mercato-cache", "absent"))


def check_all(base_url: str, requests: Sequence[bytes], scenario: str) -> Checked:
    """Check every request in turn (with the cache on, this pass is what fills it). The cache column
    is the one header when all agree, else each header's count (e.g. "hit 50/52, miss 2/52")."""
    checked = [check_response(base_url, request, scenario) for request in requests]
    counts = Counter(c.cache for c in checked)
    cache = (
        checked[0].cache
        if len(counts) == 1
        else ", ".join(f"{header} {n}/{len(checked)}" for header, n in counts.most_common())
    )
    return Checked(checked[0].body, cache)
