"""What a search asks for (query, filters, page) and what it answers (ranked product ids)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import uuid
from dataclasses import dataclass, field
from enum import Enum

import orjson

from mercato.platform.errors import ClientError
from mercato.search.service_layer.facets import Facets

QUERY_MAX = 200
PAGE_MAX = 100
# Deepest position a client may page to: relevance past it is noise, and each page re-ranks.
DEPTH_MAX = 1_000


class SearchMode(Enum):
    LEXICAL = "LEXICAL"
    SEMANTIC = "SEMANTIC"
    HYBRID = "HYBRID"


@dataclass(frozen=True)
class SearchFilter:
    category_id: uuid.UUID | None = None
    price_min: int | None = None  # minor units, on any variant's price
    price_max: int | None = None
    in_stock: bool | None = None
    attributes: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class SearchRequest:
    query: str
    first: int = 20
    after: str | None = None
    filter: SearchFilter = field(default_factory=SearchFilter)
    mode: SearchMode = SearchMode.HYBRID
    # Read filters (price, colour, department...) out of the query's words.
    interpret: bool = True
    # Count facets over the results (service_layer/facets.py): one more statement.
    facets: bool = False

    def fingerprint(self) -> str:
        """What a cursor is bound to: the same query, filters and mode."""
        raw = repr((self.query, self.filter, self.mode, self.interpret)).encode()
        return hashlib.blake2b(raw, digest_size=8).hexdigest()

    def offset(self) -> int:
        """The position the page starts at, from the `after` cursor."""
        if self.after is None:
            return 0
        invalid = ClientError("the cursor is malformed or belongs to another search", field="after")
        if len(self.after) > 200:
            raise invalid
        try:
            raw = orjson.loads(base64.urlsafe_b64decode(self.after + "=" * (-len(self.after) % 4)))
            kind, fingerprint, position = raw
        except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError):
            raise invalid from None
        if kind != "s1" or fingerprint != self.fingerprint() or not isinstance(position, int):
            raise invalid
        if not 0 < position <= DEPTH_MAX:
            raise invalid
        return position

    def cursor(self, position: int) -> str:
        """The cursor of the result at `position` (0-based): the next page starts after it."""
        raw = orjson.dumps(["s1", self.fingerprint(), position + 1])
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@dataclass(frozen=True)
class Correction:
    typed: str
    searched: str


@dataclass(frozen=True)
class Interpretation:
    """How the query was read: what a storefront shows ("showing results for ...") and lets undo."""

    text: str  # the words searched for, after filters were taken out and typos corrected
    corrections: tuple[Correction, ...] = ()
    unknown: tuple[str, ...] = ()  # words that matched nothing
    filter: SearchFilter = field(default_factory=SearchFilter)  # read from the words
    # Which words each filter came from, e.g. ("price_max", "under $60").
    sources: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Hit:
    product_id: uuid.UUID
    score: float


@dataclass(frozen=True)
class SearchResult:
    hits: tuple[Hit, ...]
    offset: int
    has_next_page: bool
    interpretation: Interpretation
    semantic: bool  # whether embeddings took part
    facets: Facets | None = None
