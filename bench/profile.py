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
    inclusive: list[Hotspot]  # of functions of the project and the GraphQL/engine libraries only
    by_package: list[tuple[str, float]]  # self time by top-level package
    raw_path: Path


# Inclusive time is shown for these only: the ASGI and asyncio wrappers around every request would
# otherwise fill the list at ~100%.
_INCLUSIVE_OF = ("mercato/", "strawberry/", "graphql/", "redis/", "sqlalchemy/", "asyncpg/", "json/")


def py_spy() -> str | None:
    local = ROOT / ".venv" / "bin" / "py-spy"
    return str(local) if local.exists() else shutil.which("py-spy")


def start(exe: str, pid: int, seconds: int, out: Path) -> subprocess.Popen[bytes]:
    """Record `pid` for `seconds` in collapsed-stack ("raw") format; the caller drives load meanwhile."""
    # --gil: only samples of the thread running Python code, i.e. where the worker's CPU goes (the
    # supervisor's pipe-reading thread would otherwise show up as busy).
    argv = [exe, "record", "--pid", str(pid), "--duration", str(seconds), "--rate", "200", "--gil"]
    argv += ["--format", "raw", "--output", str(out)]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _short(path: str) -> str:
    for marker in ("site-packages/", "/src/"):
        if marker in path:
            return path.split(marker, 1)[1]
    if "/lib/python3" in path:  # the standard library: keep its package (asyncio/, json/) or module
        return path.split("/lib/python3", 1)[1].split("/", 1)[-1]
    return path


def _package(file: str) -> str:
    if file.startswith("mercato/"):
        return "/".join(file.split("/")[:2])  # mercato/gateway, mercato/catalog, ...
    head = file.split("/", 1)[0]
    return head.removesuffix(".py") if head else "?"


def _name(frame: str) -> tuple[str, str]:
    match = _FRAME.match(frame.strip())
    if match is None:
        return frame.strip(), ""
    return match["func"], _short(match["file"])


def summarise(raw: Path, top: int = 15) -> Profile:
    self_counts: Counter[tuple[str, str]] = Counter()
    packages: Counter[str] = Counter()
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
        packages[_package(frames[-1][1])] += count
        for frame in set(frames):
            if frame[1].startswith(_INCLUSIVE_OF):
                incl_counts[frame] += count

    def ranked(counts: Counter[tuple[str, str]]) -> list[Hotspot]:
        return [Hotspot(f, p, 100.0 * n / total) for (f, p), n in counts.most_common(top)] if total else []

    shares = [(name, 100.0 * n / total) for name, n in packages.most_common(top)] if total else []
    return Profile(total, ranked(self_counts), ranked(incl_counts), shares, raw)


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


def print_summary(scenario: str, found: Profile) -> None:
    print(f"\nProfile under {scenario}: {found.samples:,} samples of one worker, {found.raw_path}")
    print("Self time by package:", ", ".join(f"{n} {p:.1f}%" for n, p in found.by_package))
    print("Top self time:")
    for spot in found.self_time:
        print(f"  {spot.percent:5.1f}%  {spot.function}  ({spot.file})")
    print("Top inclusive time (project and GraphQL/engine libraries):")
    for spot in found.inclusive:
        print(f"  {spot.percent:5.1f}%  {spot.function}  ({spot.file})")
