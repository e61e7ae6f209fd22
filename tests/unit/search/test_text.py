from __future__ import annotations

import pytest

from mercato.search.domain.model import attribute_text, facet_values
from mercato.search.domain.text import allowed_edits, edit_distance, query_words, words


def test_words_fold_case_accents_marks_and_possessives() -> None:
    assert words("Women's Cocona® Performance Tee — Crème") == [
        "women", "cocona", "performance", "tee", "creme",
    ]  # fmt: skip


def test_query_words_drop_stopwords_and_repeats() -> None:
    assert query_words("something warm for the winter, warm!") == ["warm", "winter"]


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [("jacket", "jacket", 0), ("jakcet", "jacket", 1), ("jaket", "jacket", 1), ("hoddie", "hoodie", 1),
     ("sweatshrit", "sweatshirt", 1), ("pnats", "pants", 1), ("abc", "xyzuvw", 3)],
)  # fmt: skip
def test_edit_distance_counts_a_swap_as_one_edit(a: str, b: str, distance: int) -> None:
    assert edit_distance(a, b) == distance


def test_short_words_are_never_corrected() -> None:
    assert [allowed_edits(w) for w in ("tee", "pant", "jackets", "sweatshirt")] == [0, 1, 1, 2]


def test_facets_merge_product_and_variant_values_and_keep_set_flags() -> None:
    facets = facet_values(
        {"material": ["Nylon"], "eco_collection": True, "sale": False},
        [{"color": "Red", "size": "M"}, {"color": "Blue", "size": "M"}],
    )

    assert facets == {
        "material": ("Nylon",),
        "eco_collection": ("true",),
        "color": ("Red", "Blue"),
        "size": ("M",),
    }
    assert attribute_text(facets) == "Nylon eco collection Red Blue M"
