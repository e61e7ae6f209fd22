"""Small input checks shared by contexts. They collect problems instead of stopping at the first."""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import Enum
from typing import Any, TypeVar

from mercato.platform.errors import FieldError, InputRejected, Problem

E = TypeVar("E", bound=Enum)

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


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

    def pattern(
        self, field: str, value: str | None, regex: re.Pattern[str], what: str, max_length: int
    ) -> None:
        if value is None or value == "":
            self.add(field, Problem.REQUIRED, f"{field} is required")
        elif len(value) > max_length:
            self.add(field, Problem.TOO_LONG, f"{field} is longer than {max_length} characters")
        elif not regex.match(value):
            self.add(field, Problem.INVALID, f"{field} must be {what}")

    def that(self, condition: bool, field: str, problem: Problem | Enum, message: str) -> None:
        if not condition:
            self.add(field, problem, message)

    def raise_as(self, codes: type[E]) -> None:
        """Raise the collected problems with codes of `codes` (an enum holding the same names)."""
        if self.problems:
            raise InputRejected([FieldError(f, codes[p.name], m) for f, p, m in self.problems])


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


def translate(codes: type[E]) -> Callable[[InputRejected], InputRejected]:
    """Re-code a rejection raised with another enum into `codes` (same member names)."""

    def _translate(exc: InputRejected) -> InputRejected:
        return InputRejected([FieldError(e.field, codes[e.code.name], e.message) for e in exc.errors])

    return _translate
