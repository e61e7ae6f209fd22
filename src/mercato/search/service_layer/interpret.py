"""Filters written in a query's words: "women's red jacket under $60" -> department Women, colour
Red, price at most 60.00, and "jacket" left to search for.

Deterministic and offline, and driven by the catalog's own data, never a list of the demo's words:
- departments are the top-level categories the catalog treats as audiences ("Women", "Men"; not
  "Gear" or "Sale"): service_layer/departments.py decides which;
- standalone values are those of the attributes variants differ by ("Red", "Black"), one word of
  three letters or more; any value of such an attribute after its name ("size 32", "color red");
- prices follow a comparison word ("under $60", "over 50", "between 20 and 40");
- "in stock" asks for what can be bought now.
The words a filter came from are taken out of the text searched for.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from mercato.search.domain.text import fold, words
from mercato.search.service_layer.requests import SearchFilter


@dataclass(frozen=True)
class Lexicon:
    """What the catalog's words can mean as filters (built by the engine from the index)."""

    departments: Mapping[str, uuid.UUID] = field(default_factory=dict)  # folded name -> category id
    # attribute (folded) -> folded value -> (attribute, value) as stored
    axes: Mapping[str, Mapping[str, tuple[str, str]]] = field(default_factory=dict)

    def standalone(self) -> dict[str, tuple[str, str]]:
        """Values that filter on their own: one word, three letters or more, not a number, and
        meaning one attribute only."""
        found: dict[str, list[tuple[str, str]]] = {}
        for values in self.axes.values():
            for folded, pair in values.items():
                if re.fullmatch(r"[a-z]{3,}", folded):
                    found.setdefault(folded, []).append(pair)
        return {k: v[0] for k, v in found.items() if len(v) == 1}


@dataclass(frozen=True)
class Reading:
    text: str  # the query without the words filters came from
    # The query without its price and stock phrases: what to search for when the filters read only
    # order the answer (colour and department words still describe the product; "under $60" does not).
    searched: str
    filter: SearchFilter
    sources: tuple[tuple[str, str], ...]  # (filter, the words it came from)


_NUMBER = r"\$?\s*(\d+(?:\.\d{1,2})?)"
_PRICE_PATTERNS = (
    ("between", re.compile(rf"\bbetween\s+{_NUMBER}\s+and\s+{_NUMBER}")),
    ("range", re.compile(rf"\$\s*(\d+(?:\.\d{{1,2}})?)\s*(?:-|to)\s*{_NUMBER}")),
    ("max", re.compile(rf"\b(?:under|below|less than|cheaper than|up to|at most|max(?:imum)?)\s+{_NUMBER}")),
    ("min", re.compile(rf"\b(?:over|above|more than|at least|from|min(?:imum)?)\s+{_NUMBER}")),
)
_IN_STOCK = re.compile(r"\b(?:in stock|available now|available)\b")


def _minor(amount: str, scale: int) -> int | None:
    try:
        return int(Decimal(amount) * scale)
    except InvalidOperation:
        return None


def _department(word: str, lexicon: Lexicon) -> str | None:
    """The department a word names: "women", or "womens" typed without its apostrophe."""
    if word in lexicon.departments:
        return word
    if word.endswith("s") and word[:-1] in lexicon.departments:
        return word[:-1]
    return None


def _prices(
    text: str, base: SearchFilter, minor_per_unit: int
) -> tuple[str, int | None, int | None, list[tuple[str, str]]]:
    """Price bounds written in `text` (the client's own bounds win); `text` without their words."""
    price_min, price_max = base.price_min, base.price_max
    sources: list[tuple[str, str]] = []
    for kind, pattern in _PRICE_PATTERNS:
        match = pattern.search(text)
        if match is None:
            continue
        amounts = [_minor(g, minor_per_unit) or 0 for g in match.groups()]
        # Price words are never product words, even where the client's own bound wins.
        text = text.replace(match.group(0), " ")
        if kind in ("between", "range") and price_min is None and price_max is None:
            price_min, price_max = sorted(amounts)
        elif kind == "max" and price_max is None:
            price_max = amounts[0]
        elif kind == "min" and price_min is None:
            price_min = amounts[0]
        else:
            continue
        sources.append((f"price_{kind}", match.group(0)))
    return text, price_min, price_max, sources


def _values(
    remaining: list[str], lexicon: Lexicon
) -> tuple[list[str], dict[str, list[str]], list[tuple[str, str]]]:
    """Variant values named in the words: "size 32", or a standalone "red". Returns the words left,
    the values per attribute and where each came from."""
    picked: dict[str, list[str]] = {}
    sources: list[tuple[str, str]] = []
    kept: list[str] = []
    standalone = lexicon.standalone()
    i = 0
    while i < len(remaining):
        word = remaining[i]
        named = lexicon.axes.get(word)
        if named is not None and i + 1 < len(remaining) and remaining[i + 1] in named:
            name, value = named[remaining[i + 1]]
            picked.setdefault(name, []).append(value)
            sources.append((name, f"{word} {remaining[i + 1]}"))
            i += 2
            continue
        if word in standalone:
            name, value = standalone[word]
            picked.setdefault(name, []).append(value)
            sources.append((name, word))
        else:
            kept.append(word)
        i += 1
    return kept, picked, sources


def read(query: str, lexicon: Lexicon, base: SearchFilter, *, minor_per_unit: int = 100) -> Reading:
    """Filters of `query` on top of `base` (the client's own filter wins where both set one)."""
    text, price_min, price_max, sources = _prices(fold(query), base, minor_per_unit)
    in_stock = base.in_stock
    if (stock := _IN_STOCK.search(text)) is not None and in_stock is None:
        in_stock = True
        sources.append(("in_stock", stock.group(0)))
        text = text.replace(stock.group(0), " ")

    searched = " ".join(words(text))
    kept, picked, value_sources = _values(words(text), lexicon)
    sources.extend(value_sources)
    attributes = dict(base.attributes)
    for name, values in picked.items():
        attributes.setdefault(name, tuple(dict.fromkeys(values)))

    category_id = base.category_id
    departments = {w: d for w in kept if (d := _department(w, lexicon)) is not None}
    if category_id is None and len(set(departments.values())) == 1:
        word, name = next(iter(departments.items()))
        category_id = lexicon.departments[name]
        sources.append(("department", word))
        kept = [w for w in kept if w not in departments]

    found = SearchFilter(
        category_id=category_id,
        price_min=price_min,
        price_max=price_max,
        in_stock=in_stock,
        attributes=tuple(attributes.items()),
    )
    return Reading(" ".join(kept), searched, found, tuple(sources))
