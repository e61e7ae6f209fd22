"""Purge keys for a CDN in front of the gateway, and the purger that sends them.

Every anonymous catalog response the gateway lets shared caches keep names what it shows in a
`Surrogate-Key` header (`product:<id>`, `category:<id>`, `listings`, `categories`, `availability`,
and `catalog` on all of them). The catalog's cache consumer turns each of its events into the keys it
makes stale (`catalog.entrypoints.purge_keys`) and hands them to a `Purger` after the gateway's own
cache was dropped, so an edge that refetches gets the fresh answer. A purge that fails is logged and
counted, never retried: the responses' `max-age` bounds how long the edge can be wrong.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Protocol

import httpx
from prometheus_client import Counter

from mercato.platform.business_metrics import BUSINESS

log = logging.getLogger(__name__)

# The keys, one spelling for the gateway that emits them and the consumer that purges them.
CATALOG = "catalog"  # every cacheable response: purging it empties the edge of this shop
LISTINGS = "listings"  # product lists, whose membership or order any product change can move
CATEGORIES = "categories"  # the category tree
AVAILABILITY = "availability"  # lists filtered by stock: a SKU going in or out of stock moves them
# Fastly takes at most 256 keys per batch purge; past that, one `catalog` purge is cheaper anyway.
MAX_KEYS_PER_PURGE = 256

purged_keys = Counter(
    "mercato_cdn_purged_keys_total",
    "Purge keys sent to the CDN (or that the no-op purger would have sent), by kind and outcome.",
    ["kind", "outcome"],
    registry=BUSINESS,
)


def product_key(product_id: object) -> str:
    return f"product:{product_id}"


def category_key(category_id: object) -> str:
    return f"category:{category_id}"


def key_kind(key: str) -> str:
    """`product`, `category` or the key itself: a bounded metric label."""
    return key.partition(":")[0]


def bounded_keys(keys: Iterable[str]) -> list[str]:
    """`keys` sorted without repeats, or just `catalog` when there are more than one purge takes."""
    unique = sorted(set(keys))
    return unique if len(unique) <= MAX_KEYS_PER_PURGE else [CATALOG]


class Purger(Protocol):
    async def purge(self, keys: Sequence[str]) -> None:
        """Drop every edge copy tagged with any of `keys`. Never raises."""
        ...


def _count(keys: Sequence[str], outcome: str) -> None:
    for key in keys:
        purged_keys.labels(key_kind(key), outcome).inc()


class LoggingPurger:
    """No CDN configured: names the keys in the log and the metric, purges nothing."""

    async def purge(self, keys: Sequence[str]) -> None:
        if keys:
            _count(keys, "skipped")
            log.info("cdn purge (no purge URL set): %s", " ".join(keys))


class HttpPurger:
    """POSTs the keys to `url`: space-separated in a `Surrogate-Key` header (Fastly's batch purge)
    and as `{"keys": [...]}` (a purge endpoint of one's own, Cloudflare-style tag purge behind a
    small adapter). `token`, when set, goes in `auth_header` (`Authorization` gets `Bearer <token>`)."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        auth_header: str = "Authorization",
        timeout_seconds: float = 5.0,
    ) -> None:
        self.url = url
        self._headers: dict[str, str] = {}
        if token:
            bearer = auth_header.lower() == "authorization"
            self._headers[auth_header] = f"Bearer {token}" if bearer else token
        self._timeout = timeout_seconds

    async def purge(self, keys: Sequence[str]) -> None:
        if not keys:
            return
        headers = {**self._headers, "Surrogate-Key": " ".join(keys)}
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                response = await client.post(self.url, json={"keys": list(keys)}, headers=headers)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            _count(keys, "failed")
            log.warning("cdn purge of %s failed (%s); edge copies expire by max-age", " ".join(keys), exc)
            return
        _count(keys, "purged")
        log.info("cdn purge: %s", " ".join(keys))


def build_purger(url: str | None, token: str | None = None, auth_header: str = "Authorization") -> Purger:
    return HttpPurger(url, token=token, auth_header=auth_header) if url else LoggingPurger()
