"""Reading and writing `timestamp,value` series files, with one-line errors for bad input.

The whole file is validated before anything is scored, so a bad row near the end fails the command
before it has written half an answer.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from mercato.ops.anomaly import Reading

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


class SeriesError(ValueError):
    """A series file that cannot be scored; the message is one line naming the row."""


@dataclass(frozen=True)
class Row:
    timestamp: str  # as written in the file, echoed in the output
    value: str
    t: float  # seconds since the epoch (the timestamps are read as UTC)
    x: float


def parse_time(text: str) -> float:
    """`YYYY-MM-DD HH:MM:SS` (also with a `T`, fractional seconds or an offset) to epoch seconds."""
    stamp = datetime.fromisoformat(text.strip())
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return stamp.timestamp()


def format_time(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime(TIME_FORMAT)


def read_series(text: str) -> list[Row]:
    """Parses a `timestamp,value` file with a header line; raises `SeriesError` on the first bad row."""
    rows: list[Row] = []
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header_seen = False
    previous: float | None = None
    for line_number, fields in enumerate(reader, start=1):
        if not fields or all(not f.strip() for f in fields):
            continue
        if not header_seen:
            header_seen = True
            if _is_header(fields):
                continue
        if len(fields) < 2:
            raise SeriesError(f"line {line_number}: expected 'timestamp,value', got {','.join(fields)!r}")
        stamp, value = fields[0].strip(), fields[1].strip()
        try:
            t = parse_time(stamp)
        except ValueError:
            raise SeriesError(
                f"line {line_number}: bad timestamp {stamp!r} (expected YYYY-MM-DD HH:MM:SS)"
            ) from None
        try:
            x = float(value)
        except ValueError:
            raise SeriesError(f"line {line_number}: value {value!r} is not a number") from None
        if not math.isfinite(x):
            raise SeriesError(f"line {line_number}: value {value!r} is not a finite number")
        if previous is not None and t == previous:
            raise SeriesError(f"line {line_number}: duplicate timestamp {stamp}")
        if previous is not None and t < previous:
            raise SeriesError(f"line {line_number}: timestamp {stamp} is earlier than the row before it")
        previous = t
        rows.append(Row(stamp, value, t, x))
    if not rows:
        raise SeriesError("no data rows (expected a header line, then 'timestamp,value' rows)")
    return rows


def _is_header(fields: list[str]) -> bool:
    try:
        parse_time(fields[0])
    except ValueError:
        return True
    return False


def write_scored(rows: Iterable[Row], readings: Iterable[Reading]) -> Iterator[str]:
    """The output lines: `timestamp,value,anomaly_score,alert`, one per input row."""
    yield "timestamp,value,anomaly_score,alert\n"
    for row, reading in zip(rows, readings, strict=True):
        yield f"{row.timestamp},{row.value},{reading.score:.4f},{int(reading.alert)}\n"


def series_csv(samples: Iterable[tuple[float, float]]) -> str:
    """A series as the file `read_series` reads (for generated traffic)."""
    lines = ["timestamp,value"]
    lines.extend(f"{format_time(t)},{x:.6g}" for t, x in samples)
    return "\n".join(lines) + "\n"
