"""Sampling one server worker with py-spy while load runs, summarised as self and inclusive time
per function (from py-spy's collapsed-stack output)."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bench.server import ROOT

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>.*?)(?::(?P<line>\d+))?\)$")


@dataclass(frozen=True)
class Hotspot:
    function: str
    file: str
    percent: float


@dataclass(frozen=True)
class Profile:
    samples: int
    self_time: list[Hotspot]
    inclusive: list[Hotspot]
    raw_path: Path


def py_spy() -> str | None:
    local = ROOT / ".venv" / "bin" / "py-spy"
    return str(local) if local.exists() else shutil.which("py-spy")


def start(exe: str, pid: int, seconds: int, out: Path) -> subprocess.Popen[bytes]:
    """Record `pid` for `seconds` in collapsed-stack ("raw") format; the caller drives load meanwhile."""
    argv = [exe, "record", "--pid", str(pid), "--duration", str(seconds), "--rate", "200"]
    argv += ["--format", "raw", "--output", str(out)]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _short(path: str) -> str:
    for marker in ("site-packages/", "/src/", "/lib/python3"):
        if marker in path:
            return (
                path.split(marker, 1)[1] if marker != "/lib/python3" else "stdlib:" + path.rsplit("/", 1)[1]
            )
    return path


def _name(frame: str) -> tuple[str, str]:
    match = _FRAME.match(frame.strip())
    if match is None:
        return frame.strip(), ""
    return match["func"], _short(match["file"])


def summarise(raw: Path, top: int = 15) -> Profile:
    self_counts: Counter[tuple[str, str]] = Counter()
    incl_counts: Counter[tuple[str, str]] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_name(f) for f in stack.split(";") if f]
        if not frames:
            continue
        total += count
        self_counts[frames[-1]] += count
        for frame in set(frames):
            incl_counts[frame] += count

    def ranked(counts: Counter[tuple[str, str]]) -> list[Hotspot]:
        return [Hotspot(f, p, 100.0 * n / total) for (f, p), n in counts.most_common(top)] if total else []

    return Profile(total, ranked(self_counts), ranked(incl_counts), raw)


def finish(proc: subprocess.Popen[bytes], raw: Path) -> Profile | None:
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        print("bench: py-spy did not finish; no profile")
        return None
    if proc.returncode != 0 or not raw.exists():
        print(f"bench: py-spy failed (exit {proc.returncode}): {err.decode(errors='replace').strip()[-500:]}")
        return None
    return summarise(raw)
