"""Paths and tools shared by the contract tests (protos under proto/, code in src/mercato/_gen)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PROTO_ROOT = REPO_ROOT / "proto"
GEN_ROOT = REPO_ROOT / "src" / "mercato" / "_gen"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require(available: bool, reason: str) -> None:
    """Skip when a tool is missing on a developer machine; fail in CI, where everything must run."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: contract checks never skip)")
    pytest.skip(reason)


def buf_binary() -> str | None:
    beside_python = Path(sys.executable).parent / "buf"
    if beside_python.is_file():
        return str(beside_python)
    return shutil.which("buf")
