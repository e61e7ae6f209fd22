"""Small input checks shared by contexts. They collect problems instead of stopping at the first.

It also holds the boundary rule for text (`text_problem`), which every edge applies to every string
it receives (GraphQL arguments, gRPC request fields, CLI arguments, imported files) before anything
else sees it: no control characters (a multi-line field may hold tab, line feed and carriage
return), no unpaired UTF-16 surrogates, and at most `TEXT_MAX` characters (`MULTILINE_TEXT_MAX` for a
multi-line field). PostgreSQL refuses NUL and text it cannot encode, so without the rule such input
failed deep inside a use case as an internal error; with it, it is a typed `INVALID` (or `TOO_LONG`)
error naming the field. Use cases keep their own, tighter limits.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from enum import Enum
from typing import Any, TypeVar

from mercato.platform.errors import FieldError, InputRejected, Problem

E = TypeVar("E", bound=Enum)

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

# The generic caps, above every use case's own limit: they bound the work an unchecked string (a
# search term, a slug to look up, a token) can cause, not what a field may hold.
TEXT_MAX = 4_096
MULTILINE_TEXT_MAX = 100_000
# Fields (GraphQL, proto or JSON key names) whose text may span lines.
MULTILINE_FIELDS = frozenset({"description", "note", "reason"})
# Unicode category Cc (C0, DEL, C1) and the surrogate block: in a Python str a surrogate is always
# unpaired, since a valid pair decodes to one code point.
_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_FORBIDDEN_MULTILINE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# The largest integer every JSON implementation holds exactly (a double's: RFC 8259, section 6).
JSON_MAX_SAFE_INTEGER = 2**53
# Deeper plain data than any input needs is refused rather than walked (and it bounds the recursion).
_MAX_NESTING = 32


def text_problem(value: str, *, multiline: bool = False) -> tuple[Problem, str] | None:
    """What is wrong with `value` under the boundary rule (a problem and the end of a sentence), if
    anything. One scan of the string in C: cheap enough for every input on every request."""
    limit = MULTILINE_TEXT_MAX if multiline else TEXT_MAX
    if len(value) > limit:
        return Problem.TOO_LONG, f"is longer than {limit} characters"
    bad = (_FORBIDDEN_MULTILINE if multiline else _FORBIDDEN).search(value)
    if bad is None:
        return None
    char = bad.group()
    if "\ud800" <= char <= "\udfff":
        return Problem.INVALID, "is not valid Unicode (it holds half of a UTF-16 surrogate pair)"
    allowed = " (only tab and line breaks are allowed)" if multiline else ""
    return Problem.INVALID, f"holds the control character U+{ord(char):04X}{allowed}"


def number_problem(value: int | float) -> tuple[Problem, str] | None:
    """What is wrong with a number in plain data (a JSON value), if anything. Python's JSON parser
    takes NaN, Infinity and integers of any size; JSON has no NaN, PostgreSQL's jsonb no infinity,
    orjson stops at 64 bits, and a protobuf `Struct` (how the gRPC topology carries JSON) holds
    doubles: beyond 2**53 an integer would lose its last digits there and keep them in process."""
    if isinstance(value, float):
        if not math.isfinite(value):
            return Problem.INVALID, "is not a JSON number (NaN or infinite)"
    elif abs(value) > JSON_MAX_SAFE_INTEGER:
        return (
            Problem.OUT_OF_RANGE,
            f"is an integer beyond ±2^53 ({JSON_MAX_SAFE_INTEGER}), which a JSON number cannot hold exactly",
        )
    return None


def is_multiline(field: str) -> bool:
    """Whether the field named `field` (a dotted path; its last name decides) may span lines."""
    for name in reversed(field.split(".")):
        if not name.isdigit():
            return name in MULTILINE_FIELDS
    return False


def text_errors(
    value: Any, field: str, *, multiline: bool | None = None, depth: int = 0
) -> Iterator[FieldError]:
    """The boundary rule over plain data (strings, and lists, tuples and string-keyed dicts of them;
    other values pass): one error per refused string, named by its path (`attributes.color`,
    `lines.0.sku`). A JSON key names its value, so `{"description": ...}` is multi-line. Plain data
    travels as JSON, so a number JSON cannot carry is refused too (see `number_problem`)."""
    if isinstance(value, str):
        # Text the single-line rule accepts passes the multi-line one too (longer, fewer characters
        # refused): most text never needs its field's kind worked out (a bulk import checks millions).
        if _plain_text(value):
            return
        problem = text_problem(value, multiline=is_multiline(field) if multiline is None else multiline)
        if problem is not None:
            yield FieldError(field, problem[0], f"{field} {problem[1]}")
    elif isinstance(value, int | float) and not isinstance(value, bool):
        number = number_problem(value)
        if number is not None:
            yield FieldError(field, number[0], f"{field} {number[1]}")
    elif isinstance(value, dict | list | tuple):
        if depth >= _MAX_NESTING:
            yield FieldError(
                field, Problem.INVALID, f"{field} is nested more than {_MAX_NESTING} levels deep"
            )
        else:
            yield from _container_errors(value, field, multiline, depth)


def _container_errors(
    value: dict[Any, Any] | list[Any] | tuple[Any, ...], field: str, multiline: bool | None, depth: int
) -> Iterator[FieldError]:
    if isinstance(value, dict):
        for key, item in value.items():
            key_problem = text_problem(key) if isinstance(key, str) else None
            if key_problem is not None:
                # The key itself is not repeated in the path: it is what cannot be shown.
                yield FieldError(field, key_problem[0], f"a name in {field} {key_problem[1]}")
            elif not _plain_text(item):
                yield from text_errors(item, f"{field}.{key}", depth=depth + 1)
    else:
        for index, item in enumerate(value):
            if not _plain_text(item):
                yield from text_errors(item, f"{field}.{index}", multiline=multiline, depth=depth + 1)


def _plain_text(value: Any) -> bool:
    """Text that passes the rule in any field (what nearly all text is): no path to build for it."""
    return isinstance(value, str) and len(value) <= TEXT_MAX and _FORBIDDEN.search(value) is None


class Checks:
    """Collects `Problem`s per field, then raises them translated into one mutation's error enum."""

    def __init__(self) -> None:
        self.problems: list[tuple[str, Problem | Enum, str]] = []

    def add(self, field: str, problem: Problem | Enum, message: str) -> None:
        self.problems.append((field, problem, message))

    def text(self, field: str, value: str | None, *, max_length: int, required: bool = True) -> None:
        if value is None or not value.strip():
            if required:
                self.add(field, Problem.REQUIRED, f"{field} is required")
            return
        if len(value) > max_length:
            self.add(field, Problem.TOO_LONG, f"{field} is longer than {max_length} characters")
        else:
            self.clean(field, value)

    def clean(self, field: str, value: Any) -> None:
        """The boundary rule for text, for callers that reach a use case without crossing an edge
        (the CLI, seed files, tests): the edges apply it before, so there it never fires."""
        for error in text_errors(value, field):
            self.add(error.field or field, error.code, error.message)

    def pattern(
        self, field: str, value: str | None, regex: re.Pattern[str], what: str, max_length: int
    ) -> None:
        if value is None or value == "":
            self.add(field, Problem.REQUIRED, f"{field} is required")
        elif len(value) > max_length:
            self.add(field, Problem.TOO_LONG, f"{field} is longer than {max_length} characters")
        elif not regex.match(value):
            self.add(field, Problem.INVALID, f"{field} must be {what}")
        else:
            # `$` also matches before a final line feed: "a-slug\n" passes a pattern, not the rule.
            self.clean(field, value)

    def that(self, condition: bool, field: str, problem: Problem | Enum, message: str) -> None:
        if not condition:
            self.add(field, problem, message)

    def raise_as(self, codes: type[E]) -> None:
        """Raise the collected problems with codes of `codes` (an enum holding the same names)."""
        if self.problems:
            raise InputRejected([FieldError(f, codes[p.name], m) for f, p, m in self.problems])


def nested_deeper_than(value: Any, limit: int) -> bool:
    """Whether plain data (dicts and lists) nests more than `limit` levels; iterative, so any depth
    is measured without recursion, and it stops at the first container too deep."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def check_json_object(
    checks: Checks, field: str, value: Any, *, max_keys: int = 50, max_key: int = 64, max_value: int = 1000
) -> None:
    """A flat map of attribute name -> string, number, boolean or list of strings."""
    if not isinstance(value, dict):
        checks.add(field, Problem.INVALID, f"{field} must be an object")
        return
    if len(value) > max_keys:
        checks.add(field, Problem.TOO_LONG, f"{field} has more than {max_keys} entries")
        return
    for key, item in value.items():
        if not isinstance(key, str) or not key or len(key) > max_key:
            checks.add(field, Problem.INVALID, f"{field} names must be 1-{max_key} characters")
            return
        values = item if isinstance(item, list) else [item]
        if len(values) > max_keys:
            checks.add(field, Problem.TOO_LONG, f"{field}.{key} has too many values")
            return
        for v in values:
            if not isinstance(v, str | int | float | bool) or (isinstance(v, str) and len(v) > max_value):
                checks.add(field, Problem.INVALID, f"{field}.{key} must be short text, a number or a boolean")
                return
    checks.clean(field, value)


def translate(codes: type[E]) -> Callable[[InputRejected], InputRejected]:
    """Re-code a rejection raised with another enum into `codes` (same member names)."""

    def _translate(exc: InputRejected) -> InputRejected:
        return InputRejected([FieldError(e.field, codes[e.code.name], e.message) for e in exc.errors])

    return _translate
