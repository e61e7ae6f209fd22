"""Highlights: the searched words marked in a product's text, everything else escaped."""

from __future__ import annotations

from mercato.search.domain.highlight import ELLIPSIS, SCAN_CHARS, SNIPPET_CHARS, highlight


def test_searched_words_and_their_longer_forms_are_marked() -> None:
    assert highlight("Women's Rain Jackets", ["women", "jacket"]) == (
        "<mark>Women's</mark> Rain <mark>Jackets</mark>"
    )


def test_a_prefix_marks_the_words_it_starts_but_short_terms_only_whole_words() -> None:
    assert highlight("Hoodie with hood", ["hood"]) == "<mark>Hoodie</mark> with <mark>hood</mark>"
    assert highlight("Tee teeth", ["te"]) == "Tee teeth"


def test_accents_and_case_are_folded_as_the_index_folds_them() -> None:
    assert highlight("CAFÉ Crème", ["cafe"]) == "<mark>CAFÉ</mark> Crème"


def test_the_text_is_escaped_so_it_never_becomes_markup() -> None:
    assert highlight("<b>Red</b> & blue", ["red"]) == "&lt;b&gt;<mark>Red</mark>&lt;/b&gt; &amp; blue"
    assert highlight("<script>", []) == "&lt;script&gt;"


def test_a_snippet_is_a_window_around_the_first_match() -> None:
    text = " ".join(["filler"] * 60) + " waterproof shell " + " ".join(["more"] * 60)

    snippet = highlight(text, ["waterproof"], snippet=True)

    assert snippet.startswith(ELLIPSIS) and snippet.endswith(ELLIPSIS)
    assert "<mark>waterproof</mark> shell" in snippet
    assert len(snippet) <= SNIPPET_CHARS + len("<mark></mark>") + 2 * len(ELLIPSIS)


def test_a_snippet_without_a_match_is_the_start_and_a_short_text_is_whole() -> None:
    long_text = "word " * 100
    assert (
        highlight(long_text, ["absent"], snippet=True)
        == long_text[: long_text.rfind(" ", 0, SNIPPET_CHARS)] + ELLIPSIS
    )
    assert highlight("Short text", ["text"], snippet=True) == "Short <mark>text</mark>"


def test_matches_past_the_scanned_length_are_not_marked() -> None:
    text = "a " * SCAN_CHARS + "jacket"
    assert "<mark>" not in highlight(text, ["jacket"])
