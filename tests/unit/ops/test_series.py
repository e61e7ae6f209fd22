"""Series files: what `mercato ops detect` accepts, and the one-line reason when it does not."""

from __future__ import annotations

import pytest

from mercato.ops.anomaly import Reading
from mercato.ops.series import SeriesError, read_series, series_csv, write_scored


def test_a_file_with_a_header_is_read() -> None:
    rows = read_series("timestamp,value\n2024-01-01 00:00:00,1.5\n2024-01-01 00:05:00,2\n")

    assert [(r.timestamp, r.value, r.t, r.x) for r in rows] == [
        ("2024-01-01 00:00:00", "1.5", 1704067200.0, 1.5),
        ("2024-01-01 00:05:00", "2", 1704067500.0, 2.0),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no data rows (expected a header line, then 'timestamp,value' rows)"),
        ("timestamp,value\n", "no data rows (expected a header line, then 'timestamp,value' rows)"),
        ("timestamp,value\n2024-01-01 00:00:00,abc\n", "line 2: value 'abc' is not a number"),
        ("timestamp,value\n2024-01-01 00:00:00,nan\n", "line 2: value 'nan' is not a finite number"),
        (
            "timestamp,value\n2024-01-01 00:00:00\n",
            "line 2: expected 'timestamp,value', got '2024-01-01 00:00:00'",
        ),
        (
            "timestamp,value\n2024-01-01 00:00:00,1\nyesterday,2\n",
            "line 3: bad timestamp 'yesterday' (expected YYYY-MM-DD HH:MM:SS)",
        ),
        (
            "timestamp,value\n2024-01-01 00:05:00,1\n2024-01-01 00:05:00,2\n",
            "line 3: duplicate timestamp 2024-01-01 00:05:00",
        ),
        (
            "timestamp,value\n2024-01-01 00:05:00,1\n2024-01-01 00:00:00,2\n",
            "line 3: timestamp 2024-01-01 00:00:00 is earlier than the row before it",
        ),
    ],
)
def test_a_bad_file_is_refused_with_one_line(text: str, message: str) -> None:
    with pytest.raises(SeriesError) as caught:
        read_series(text)

    assert str(caught.value) == message


def test_the_output_has_one_row_per_input_row() -> None:
    rows = read_series(series_csv([(1704067200.0, 1.0), (1704067260.0, 2.5)]))
    readings = [Reading(0.0, False, 1.0, 0.0, ""), Reading(0.97531, True, 1.0, 9.0, "spike")]

    assert "".join(write_scored(rows, readings)) == (
        "timestamp,value,anomaly_score,alert\n"
        "2024-01-01 00:00:00,1,0.0000,0\n"
        "2024-01-01 00:01:00,2.5,0.9753,1\n"
    )
