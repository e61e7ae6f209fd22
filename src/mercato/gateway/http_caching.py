"""HTTP caching headers of the gateway's responses: what shared caches (a CDN) and browsers may keep.

Only an anonymous catalog response the response cache would store is public: a strong `ETag` (a hash
of its bytes), `Cache-Control: public, max-age, stale-while-revalidate`, `Vary: Authorization` (a
signed-in request never gets the anonymous copy), and its purge keys (`Surrogate-Key`, see
`platform.cdn`). Lists that depend on stock (`availability` among their keys) get the short
availability max-age. Everything else leaves with `Cache-Control: no-store`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from mercato.platform import cdn
from mercato.platform.config import Settings

NO_STORE = (b"cache-control", b"no-store")
SURROGATE_KEY = b"surrogate-key"


@dataclass(frozen=True)
class CachedResponse:
    """A stored response: its validator, its purge keys and its bytes (one Redis value)."""

    etag: bytes
    keys: bytes
    body: bytes

    @classmethod
    def of(cls, body: bytes, keys: bytes) -> CachedResponse:
        shown = set(keys.decode("ascii", "replace").split()) | {cdn.CATALOG}
        etag = b'"' + hashlib.blake2b(body, digest_size=16).hexdigest().encode() + b'"'
        return cls(etag, " ".join(sorted(shown)).encode(), body)

    def encode(self) -> bytes:
        return b"\n".join((self.etag, self.keys, self.body))

    @classmethod
    def decode(cls, raw: bytes) -> CachedResponse:
        etag, keys, body = raw.split(b"\n", 2)
        return cls(etag, keys, body)


class HttpCachePolicy:
    def __init__(self, settings: Settings) -> None:
        swr = settings.http_cache_stale_while_revalidate_seconds
        self._public = _cache_control(settings.http_cache_max_age_seconds, swr)
        self._short = _cache_control(settings.http_cache_availability_max_age_seconds, swr)

    def headers(self, response: CachedResponse) -> list[tuple[bytes, bytes]]:
        short = cdn.AVAILABILITY.encode() in response.keys.split()
        return [
            (b"etag", response.etag),
            (b"cache-control", self._short if short else self._public),
            (b"vary", b"Authorization"),
            (SURROGATE_KEY, response.keys),
        ]


def _cache_control(max_age: int, stale_while_revalidate: int) -> bytes:
    return f"public, max-age={max_age}, stale-while-revalidate={stale_while_revalidate}".encode()


def matches(if_none_match: bytes | None, etag: bytes) -> bool:
    """RFC 9110 §13.1.2: `*`, or any listed tag equal to ours by weak comparison."""
    if if_none_match is None:
        return False
    if if_none_match.strip() == b"*":
        return True
    return any(tag.strip().removeprefix(b"W/") == etag for tag in if_none_match.split(b","))


def private(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """`headers` of a response no shared cache may keep: `no-store`, and no purge keys."""
    kept = [(k, v) for k, v in headers if k.lower() not in (b"cache-control", SURROGATE_KEY)]
    return [*kept, NO_STORE]
