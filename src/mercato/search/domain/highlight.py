"""Highlights: a product's text with the words a search matched marked, safe to insert as HTML.

Matching follows the index's own words (`text.words`): a word of the text is marked when it is a
searched term, or starts with one of three letters or more ("jacket" marks "Jackets", the prefix
"hood" marks "Hoodie"). The searched terms are those after typo correction, so "jakcet" marks
"Jacket". Everything else is HTML-escaped: a product's text never becomes markup (quotes are left
as they are: the result is element content, never an attribute value).

Cost is bounded whatever the text's length: at most `SCAN_CHARS` characters are read, and a snippet
is a window of about `SNIPPET_CHARS` around the first match.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

from mercato.search.domain.text import words

MARK = ("<mark>", "</mark>")
SNIPPET_CHARS = 160
SCAN_CHARS = 4_000
PREFIX_MIN = 3
ELLIPSIS = "\u2026"

_TOKEN = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)?")


def _matches(token: str, terms: frozenset[str]) -> bool:
    return any(
        w in terms or any(len(t) >= PREFIX_MIN and w.startswith(t) for t in terms) for w in words(token)
    )


def highlight(text: str, terms: Iterable[str], *, snippet: bool = False) -> str:
    """`text` escaped, with the words matching `terms` wrapped in `<mark>`. `snippet`: only a window
    of about SNIPPET_CHARS around the first match (the start when none), ellipses where cut."""
    wanted = frozenset(t for t in terms if t)
    scanned = text[:SCAN_CHARS]
    spans = [m.span() for m in _TOKEN.finditer(scanned) if wanted and _matches(m.group(), wanted)]
    start, end = 0, len(text)
    if snippet and len(text) > SNIPPET_CHARS:
        start, end = _window(scanned, spans[0][0] if spans else 0)
    parts: list[str] = [ELLIPSIS] if start > 0 else []
    at = start
    for s, e in spans:
        if s < start or e > end:
            continue
        parts += [html.escape(text[at:s], quote=False), MARK[0], html.escape(text[s:e], quote=False), MARK[1]]
        at = e
    parts.append(html.escape(text[at:end], quote=False))
    if end < len(text):
        parts.append(ELLIPSIS)
    return "".join(parts)


def _window(text: str, first_match: int) -> tuple[int, int]:
    """About SNIPPET_CHARS of `text` with the first match a quarter in, cut at spaces."""
    start = max(0, first_match - SNIPPET_CHARS // 4)
    if start > 0:
        space = text.find(" ", start, first_match)
        start = space + 1 if space != -1 else start
    end = min(len(text), start + SNIPPET_CHARS)
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > first_match else end
    return start, end
