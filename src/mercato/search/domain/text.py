"""Words as search sees them: one normalisation for documents and queries, and edit distance.

Documents and queries go through the same `words()`, so a word typed the way the catalog spells it
(whatever its case, accents or trademark signs) is always found in the vocabulary.
"""

from __future__ import annotations

import re
import unicodedata

# Words that carry no meaning for a product search; dropping them keeps "something for the gym"
# from matching every description that says "for" or "the". PostgreSQL's english configuration
# drops these too, but the vocabulary and spelling correction work before it.
STOPWORDS = frozenset(
    (  # noqa: SIM905 - one list to read, not eighty lines
        "a an and any are as at be but by do does for from has have i if in into is it its me my no "
        "not of on or our so some something that the their them then there these they this those to "
        "up us was we what when where which while who will with you your want need looking show find "
        "get buy good nice great best"
    ).split()
)

_WORD = re.compile(r"[a-z0-9]+")


def fold(text: str) -> str:
    """Lower case without accents or marks: "Cocona® Performance" -> "cocona performance"."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    """The words of `text`, in order; possessives lose their "s" ("women's" -> "women")."""
    return _WORD.findall(fold(text).replace("'s ", " ").replace("\u2019s ", " "))


def query_words(text: str) -> list[str]:
    """The words of a query that can match something: no stopwords, no repeats, in order."""
    seen: dict[str, None] = {}
    for word in words(text + " "):
        if word not in STOPWORDS:
            seen.setdefault(word, None)
    return list(seen)


def edit_distance(a: str, b: str, limit: int = 3) -> int:
    """Damerau-Levenshtein distance (optimal string alignment), capped at `limit`.

    A swapped pair of letters ("jakcet") costs one edit: the commonest typing slip.
    """
    if abs(len(a) - len(b)) >= limit:
        return limit
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) >= limit:
            return limit
        previous2, previous = previous, current
    return min(previous[-1], limit)


def allowed_edits(word: str) -> int:
    """How many edits a correction of `word` may make: none for short words, whose neighbours are
    other real words ("tee" / "tea"), one up to seven letters, two beyond."""
    if len(word) <= 3:
        return 0
    return 1 if len(word) <= 7 else 2
