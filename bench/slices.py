"""A worker process that a bench drives in slices over its stdin/stdout: it prints one line when ready,
then, for each number of seconds written to it, runs that long and prints one line of figures. The
benches alternate slices of two such workers (old and new code) so a shared machine's noise falls on both."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class SliceWorker:
    def __init__(self, label: str, argv: list[str], src: Path, env: dict[str, str]) -> None:
        self.label = label
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**env, "PYTHONPATH": f"{src}{os.pathsep}{ROOT}"},
            text=True,
            cwd=ROOT,
        )
        self.ready = self._line().split()
        self.requests = 0
        self.seconds = 0.0

    def _line(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"worker {self.label} exited ({self.proc.wait()})")
        return line

    def run_slice(self, seconds: float) -> list[str]:
        """Run for `seconds`; count its requests (the line's first figure) over its time (the second);
        answer the whole line's figures."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{seconds}\n")
        self.proc.stdin.flush()
        figures = self._line().split()
        self.requests += int(figures[0])
        self.seconds += float(figures[1])
        return figures

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait()

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0
