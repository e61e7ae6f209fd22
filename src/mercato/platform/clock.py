"""The time the contexts read: the wall clock in UTC, plus an offset that only tests and fault runs move.

Every context that compares times (the reservation expiry sweeper, the saga's deadlines, payments'
records, sessions and carts) reads the time through its `clock` argument. A process builds one
`WallClock` from its settings (`app.components.Engines.clock`) and hands that same clock to every
context it hosts, so that a process never holds two times.

The seam across processes is a file: a fault run (`make chaos`) starts every process with
`MERCATO_CLOCK_OFFSET_FILE` naming one file and writes an offset into it (`write_offset`); each
process's clock follows it within `READ_EVERY_SECONDS`, so the whole process tree jumps at once, as
the hosts' clocks would after an NTP step. Unset (production, the default) the clock reads no file.
Leases that several processes compare (payments') run by the database's clock, which no offset moves,
as a database on another host would keep its own.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

# How stale a followed offset may be: the file is read at most this often (a few µs per read), so
# the clock costs a monotonic reading per call in between.
READ_EVERY_SECONDS = 0.1


def utc_now() -> datetime:
    """The wall clock, untouched: the contexts' default `clock`."""
    return datetime.now(UTC)


class WallClock:
    """`clock()` is the current UTC time plus this clock's offset: the one a test moved with `step`,
    or the one its offset file says (a missing file says 0; an unreadable one keeps the last)."""

    __slots__ = ("_file", "_monotonic", "_next_read", "_offset")

    def __init__(
        self,
        offset_file: Path | None = None,
        *,
        offset: timedelta = timedelta(),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._file = offset_file
        self._offset = offset
        self._monotonic = monotonic
        self._next_read = float("-inf")

    def __call__(self) -> datetime:
        if self._file is not None:
            self._follow(self._file)
        return datetime.now(UTC) + self._offset

    @property
    def offset(self) -> timedelta:
        if self._file is not None:
            self._follow(self._file)
        return self._offset

    def step(self, by: timedelta) -> None:
        """Move this clock by `by` (a test's NTP step). A clock that follows a file moves with it only."""
        if self._file is not None:
            raise ValueError(f"this clock follows {self._file}: move it with write_offset")
        self._offset += by

    def _follow(self, path: Path) -> None:
        now = self._monotonic()
        if now < self._next_read:
            return
        self._next_read = now + READ_EVERY_SECONDS
        try:
            text = path.read_text()
        except FileNotFoundError:
            self._offset = timedelta()
            return
        except OSError:
            return
        try:
            self._offset = timedelta(seconds=float(text))
        except (ValueError, OverflowError):
            return


def write_offset(path: Path, offset: timedelta) -> None:
    """Set the offset of every clock that follows `path` (each sees it within `READ_EVERY_SECONDS`).
    Written whole then renamed over the file, so that no reader ever sees half of it."""
    partial = path.with_name(f"{path.name}.partial")
    partial.write_text(f"{offset.total_seconds()!r}\n")
    os.replace(partial, path)
