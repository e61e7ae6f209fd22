"""Turning a shopper's words into index terms: exact, prefix, or corrected against the vocabulary.

The vocabulary is the catalog's own words (every word of every published document, with the number
of documents holding it), so corrections never leave the shop's language: "jakcet" becomes "jacket"
because the catalog says jacket, not because of a dictionary.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import Text

from mercato.search.domain.text import allowed_edits, edit_distance

# Per word, one statement: its own count, what it prefixes, and — only for a word that is neither
# (a CASE branch's subquery runs only when taken) — its nearest terms by trigram distance (GiST
# index), which edit distance then filters. The documents in the index: kept in one row by the
# writes (search.index_size), not counted per search.
_LOOKUP = text("""
    SELECT w.word, s.documents AS total, x.exact, p.prefixed,
        CASE WHEN x.exact IS NULL AND p.prefixed = 0 THEN
            ARRAY(SELECT v.term || ' ' || v.docs FROM search.vocabulary v WHERE v.docs > 0
                  ORDER BY v.term <-> w.word LIMIT 16)
        ELSE ARRAY[]::text[] END AS near
    FROM unnest(:words) AS w(word) CROSS JOIN search.index_size s,
        LATERAL (SELECT (SELECT v.docs FROM search.vocabulary v WHERE v.term = w.word AND v.docs > 0)
                 AS exact) AS x,
        LATERAL (SELECT coalesce(sum(v.docs), 0) AS prefixed FROM search.vocabulary v
                 WHERE v.term LIKE w.word || '%' AND v.term <> w.word AND v.docs > 0) AS p
""").bindparams(bindparam("words", type_=ARRAY(Text)))

PREFIX_MIN = 3  # "ja" would match half the catalog; three letters already say something


@dataclass(frozen=True)
class Term:
    """One query word as the index will look for it."""

    typed: str
    term: str  # the word searched for (the correction when there is one)
    prefix: bool  # match any word starting with `term`
    docs: int  # documents holding it (for its weight)

    @property
    def corrected(self) -> bool:
        return self.term != self.typed


@dataclass(frozen=True)
class Resolution:
    terms: list[Term]
    unknown: list[str]  # words that match nothing, even corrected
    documents: int  # documents in the index (for term weights)


async def resolve(conn: AsyncConnection, words: list[str]) -> Resolution:
    """The terms to search for, and the words that match nothing even after correction."""
    if not words:
        return Resolution([], [], 0)
    rows = {r.word: r for r in await conn.execute(_LOOKUP, {"words": words})}
    total = int(next(iter(rows.values())).total)
    terms: list[Term] = []
    unknown: list[str] = []
    for word in words:
        row = rows[word]
        if row.exact:
            terms.append(Term(word, word, False, int(row.exact)))
            continue
        # A word that starts catalog words is taken as typed so far ("hood" -> hoodie) before it is
        # taken as a typo of a whole word ("jack" is one edit from "pack", but means jacket).
        if row.prefixed and len(word) >= PREFIX_MIN:
            terms.append(Term(word, word, True, int(row.prefixed)))
            continue
        correction = _best_correction(word, [_split(n) for n in row.near])
        if correction is not None:
            terms.append(Term(word, correction[0], False, correction[1]))
        else:
            unknown.append(word)
    return Resolution(terms, unknown, total)


def _split(entry: str) -> tuple[str, int]:
    term, _, docs = entry.rpartition(" ")
    return term, int(docs)


def _best_correction(word: str, near: list[tuple[str, int]]) -> tuple[str, int] | None:
    """The closest term within the word's allowed edits; among equals, the most common one."""
    limit = allowed_edits(word)
    if limit == 0 or word.isdigit():
        return None
    scored = [(edit_distance(word, term, limit + 1), -docs, term, docs) for term, docs in near]
    best = min((s for s in scored if s[0] <= limit), default=None)
    return (best[2], best[3]) if best is not None else None
