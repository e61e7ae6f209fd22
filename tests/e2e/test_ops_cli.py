"""`mercato ops detect` over files: one scored row per input row, one line for a bad file."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

from mercato.ops.series import parse_time, series_csv
from mercato.ops.traffic import generate


def ops(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MERCATO_")}
    return subprocess.run(
        [sys.executable, "-m", "mercato.cli", "ops", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_every_row_is_scored(tmp_path: Path) -> None:
    traffic = generate(seed=2, days=14, interval=900.0)
    path = tmp_path / "latency.csv"
    path.write_text(series_csv(traffic.series["checkout_latency_p95_ms"]))

    result = ops("detect", str(path))

    assert (result.returncode, result.stderr) == (0, "")
    rows = list(csv.reader(io.StringIO(result.stdout)))
    source = list(csv.reader(io.StringIO(path.read_text())))
    assert rows[0] == ["timestamp", "value", "anomaly_score", "alert"]
    assert [r[:2] for r in rows[1:]] == source[1:]
    assert all(0.0 <= float(r[2]) <= 1.0 and r[3] in ("0", "1") for r in rows[1:])
    spike = next(i for i in traffic.incidents if i.name == "latency spike")
    alerted = [r[0] for r in rows[1:] if r[3] == "1"]
    assert any(spike.start <= parse_time(stamp) < spike.end for stamp in alerted)


def test_stdin_is_read_with_a_dash() -> None:
    text = "timestamp,value\n" + "".join(f"2024-01-01 00:{m:02d}:00,{m % 3}\n" for m in range(60))

    result = ops("detect", "-", stdin=text)

    assert result.returncode == 0
    assert len(result.stdout.splitlines()) == 61


def test_bad_files_are_one_line(tmp_path: Path) -> None:
    cases = {
        "empty.csv": ("", "no data rows"),
        "words.csv": ("timestamp,value\n2024-01-01 00:00:00,high\n", "line 2: value 'high' is not a number"),
        "twice.csv": (
            "timestamp,value\n2024-01-01 00:00:00,1\n2024-01-01 00:00:00,2\n",
            "line 3: duplicate timestamp 2024-01-01 00:00:00",
        ),
        "backwards.csv": (
            "timestamp,value\n2024-01-02 00:00:00,1\n2024-01-01 00:00:00,2\n",
            "line 3: timestamp 2024-01-01 00:00:00 is earlier than the row before it",
        ),
        "binary.csv": ("\udcff", "not a UTF-8 text file"),
    }
    for name, (content, reason) in cases.items():
        path = tmp_path / name
        path.write_bytes(content.encode("utf-8", "surrogateescape"))

        result = ops("detect", str(path))

        assert result.returncode == 1, name
        assert result.stdout == "", name
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, name
        assert result.stderr.startswith(f"error: {path}: {reason}"), name

    missing = ops("detect", str(tmp_path / "nowhere.csv"))
    assert (missing.returncode, missing.stderr) == (
        1,
        f"error: {tmp_path / 'nowhere.csv'}: No such file or directory\n",
    )


def test_anomalies_warns_about_a_process_it_cannot_scrape_and_goes_on() -> None:
    result = ops("anomalies", "http://127.0.0.1:9/metrics", "--interval", "0.1", "--samples", "2")

    assert result.returncode == 0
    assert result.stdout == "http://127.0.0.1:9/metrics: 0 series watched, 0 anomalous now\n"
    warnings = result.stderr.splitlines()
    assert len(warnings) == 2 and all(w.startswith("warning: http://127.0.0.1:9/metrics: ") for w in warnings)
