"""The scenarios' GraphQL requests and a check that a response is a correct, error-free page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import orjson

LISTING = "listing"
LISTING_AVAILABILITY = "listing-availability"

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


class BadResponse(RuntimeError):
    pass


def _check_page(payload: Any, scenario: str) -> None:
    if not isinstance(payload, dict):
        raise BadResponse(f"{scenario}: the body is not a JSON object")
    if payload.get("errors"):
        raise BadResponse(f"{scenario}: GraphQL errors: {orjson.dumps(payload['errors']).decode()[:800]}")
    edges = (((payload.get("data") or {}).get("products")) or {}).get("edges")
    if not isinstance(edges, list) or not edges:
        raise BadResponse(f"{scenario}: no products in the page: {orjson.dumps(payload).decode()[:300]}")
    if len(edges) > 20:
        raise BadResponse(f"{scenario}: {len(edges)} products in a page of first: 20")
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
    _check_page(payload, scenario if scenario != "ceiling" else LISTING)
    return Checked(response.content, response.headers.get("x-mercato-cache", "absent"))
