"""The boundary rule for text (`platform.validation`): what it refuses, how it names fields, and the
nesting measure the gateway uses on request bodies."""

from __future__ import annotations

from enum import Enum

import pytest

from mercato.platform.errors import InputRejected, Problem
from mercato.platform.validation import (
    MULTILINE_TEXT_MAX,
    SLUG_RE,
    TEXT_MAX,
    Checks,
    check_json_object,
    is_multiline,
    nested_deeper_than,
    text_errors,
    text_problem,
)


class Codes(Enum):
    REQUIRED = "REQUIRED"
    INVALID = "INVALID"
    TOO_LONG = "TOO_LONG"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "Plain text",
        "Ünïcödé — ✓ 🎉",
        "tab-free",
        "x" * TEXT_MAX,
        "\u00a0non-breaking",
        "\u200bzero width",
    ],
)
def test_ordinary_text_passes(value: str) -> None:
    assert text_problem(value) is None


@pytest.mark.parametrize(
    ("value", "problem", "message"),
    [
        ("a\x00b", Problem.INVALID, "holds the control character U+0000"),
        ("line\nbreak", Problem.INVALID, "holds the control character U+000A"),
        ("tab\there", Problem.INVALID, "holds the control character U+0009"),
        ("\x1b[31mred", Problem.INVALID, "holds the control character U+001B"),
        ("del\x7f", Problem.INVALID, "holds the control character U+007F"),
        ("c1\x85", Problem.INVALID, "holds the control character U+0085"),
        ("half \ud83d", Problem.INVALID, "is not valid Unicode (it holds half of a UTF-16 surrogate pair)"),
        ("\udfff", Problem.INVALID, "is not valid Unicode (it holds half of a UTF-16 surrogate pair)"),
        ("x" * (TEXT_MAX + 1), Problem.TOO_LONG, f"is longer than {TEXT_MAX} characters"),
    ],
)
def test_single_line_text_refuses_controls_surrogates_and_length(
    value: str, problem: Problem, message: str
) -> None:
    assert text_problem(value) == (problem, message)


def test_multi_line_text_keeps_tab_and_line_breaks_only() -> None:
    assert text_problem("one\ntwo\r\n\tthree", multiline=True) is None
    assert text_problem("x" * MULTILINE_TEXT_MAX, multiline=True) is None
    assert text_problem("nul\x00", multiline=True) == (
        Problem.INVALID,
        "holds the control character U+0000 (only tab and line breaks are allowed)",
    )
    assert text_problem("\x0c", multiline=True) is not None  # form feed
    assert text_problem("x" * (MULTILINE_TEXT_MAX + 1), multiline=True) == (
        Problem.TOO_LONG,
        f"is longer than {MULTILINE_TEXT_MAX} characters",
    )


@pytest.mark.parametrize(
    ("field", "multiline"),
    [
        ("description", True),
        ("note", True),
        ("changes.description", True),
        ("media.3", False),
        ("reason", True),
        ("name", False),
        ("0", False),
    ],
)
def test_the_last_name_of_a_path_decides_whether_text_spans_lines(field: str, multiline: bool) -> None:
    assert is_multiline(field) is multiline


def test_plain_data_is_walked_and_every_bad_string_named_by_its_path() -> None:
    value = {"color": "red\x00", "sizes": ["S", "M\ud800"], "ok": 3, "description": "two\nlines"}
    errors = [(e.field, e.code) for e in text_errors(value, "attributes")]
    assert errors == [("attributes.color", Problem.INVALID), ("attributes.sizes.1", Problem.INVALID)]


def test_a_bad_key_names_its_container_without_echoing_the_key() -> None:
    [error] = text_errors({"co\x00lor": "red"}, "attributes")
    assert (error.field, error.code) == ("attributes", Problem.INVALID)
    assert error.message == "a name in attributes holds the control character U+0000"


def test_plain_data_nested_too_deep_is_refused_rather_than_walked() -> None:
    value: object = "x"
    for _ in range(40):
        value = [value]
    [error] = text_errors(value, "attributes")
    assert (error.code, error.message) == (
        Problem.INVALID,
        "attributes" + ".0" * 32 + " is nested more than 32 levels deep",
    )


def test_checks_apply_the_rule_after_their_own_limits() -> None:
    checks = Checks()
    checks.text("name", "Bad\x00", max_length=10)
    checks.text("title", "x" * 11, max_length=10)  # the field's own limit comes first
    checks.text("description", "Two\nlines", max_length=100, required=False)
    # `$` matches before a final line feed: the pattern alone would let "a-slug\n" through
    checks.pattern("slug", "a-slug\n", SLUG_RE, "a slug", 200)
    with pytest.raises(InputRejected) as caught:
        checks.raise_as(Codes)
    assert [(e.field, e.code) for e in caught.value.errors] == [
        ("name", Codes.INVALID),
        ("title", Codes.TOO_LONG),
        ("slug", Codes.INVALID),
    ]


def test_json_attributes_get_the_rule_too() -> None:
    checks = Checks()
    check_json_object(checks, "attributes", {"color": "red", "size": "M\x1b"})
    assert [(f, p) for f, p, _ in checks.problems] == [("attributes.size", Problem.INVALID)]


@pytest.mark.parametrize(
    ("value", "limit", "deeper"),
    [
        ({"a": [1, {"b": [2]}]}, 4, False),
        ({"a": [1, {"b": [2]}]}, 3, True),
        ("scalar", 1, False),
        ([], 1, False),
        ([[]], 1, True),
    ],
)
def test_nesting_is_measured_without_recursion(value: object, limit: int, deeper: bool) -> None:
    assert nested_deeper_than(value, limit) is deeper


def test_nesting_far_beyond_the_recursion_limit_is_measured() -> None:
    value: list[object] = []
    for _ in range(100_000):
        value = [value]
    assert nested_deeper_than(value, 32)
