"""How busy the shared machine is: before a run (whole system) and during it (other processes)."""

from __future__ import annotations

import contextlib
import os
import time

import psutil

# Engines serve the server under test as well as anyone else; their CPU is not counted as "other".
_ENGINES = ("postgres", "redis-server", "nats-server")


def busy(seconds: float = 1.0) -> tuple[float, str]:
    """System CPU use (% of all CPUs) over `seconds`, and the busiest processes meanwhile."""
    procs = list(psutil.process_iter(["pid"]))
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.cpu_percent(None)
    total = psutil.cpu_percent(interval=seconds)
    usage: list[tuple[float, str]] = []
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            share = proc.cpu_percent(None)
            if share >= 5:
                usage.append((share, f"{_label(proc)} {share:.0f}%"))
    return total, "; ".join(text for _, text in sorted(usage, reverse=True)[:3]) or "no single process"


def _label(proc: psutil.Process) -> str:
    return " ".join(proc.cmdline())[:50] or proc.name()


def _ours() -> set[int]:
    me = psutil.Process(os.getpid())
    with contextlib.suppress(psutil.Error):
        return {me.pid, *(p.pid for p in me.children(recursive=True))}
    return {me.pid}


def _cpu_seconds() -> dict[int, tuple[float, float, str]]:
    """(create time, user+system seconds, label) of every process not ours and not an engine."""
    ours = _ours()
    found: dict[int, tuple[float, float, str]] = {}
    for proc in psutil.process_iter(["pid", "name", "create_time"]):
        if proc.pid in ours or str(proc.info["name"]).startswith(_ENGINES):
            continue
        with contextlib.suppress(psutil.Error):
            times = proc.cpu_times()
            found[proc.pid] = (proc.info["create_time"], times.user + times.system, _label(proc))
    return found


class OtherLoad:
    """CPU used by processes other than the bench's own (and the engines) between start and stop."""

    def __init__(self) -> None:
        self._before: dict[int, tuple[float, float, str]] = {}
        self._started = 0.0

    def start(self) -> None:
        self._before = _cpu_seconds()
        self._started = time.monotonic()

    def stop(self) -> tuple[float, str]:
        """(% of one CPU used by others on average, the top consumers)."""
        elapsed = max(time.monotonic() - self._started, 1e-6)
        used: list[tuple[float, str]] = []
        for pid, (created, seconds, label) in _cpu_seconds().items():
            before = self._before.get(pid)
            spent = seconds - before[1] if before is not None and before[0] == created else seconds
            if spent > 0:
                used.append((spent, label))
        total = 100 * sum(s for s, _ in used) / elapsed
        top = "; ".join(f"{label} {100 * s / elapsed:.0f}%" for s, label in sorted(used, reverse=True)[:3])
        return total, top or "none"


def _group(proc: psutil.Process, ours: set[int], me: int) -> str | None:
    """Which part of the system under test `proc` is: the load client (this process), the server's
    processes (our children), an engine by name; None for everything else."""
    if proc.pid == me:
        return "load client"
    name = str(proc.info["name"])
    for engine, label in (("postgres", "PostgreSQL"), ("nats-server", "NATS"), ("redis-server", "Redis")):
        if name.startswith(engine):
            return label
    return "Mercato" if proc.pid in ours else None


def _cpu_by_process() -> dict[int, tuple[float, str, float]]:
    """(create time, part, user+system seconds) of every process of the system under test."""
    ours, me = _ours(), os.getpid()
    found: dict[int, tuple[float, str, float]] = {}
    for proc in psutil.process_iter(["pid", "name", "create_time"]):
        group = _group(proc, ours, me)
        if group is None:
            continue
        with contextlib.suppress(psutil.Error):
            times = proc.cpu_times()
            found[proc.pid] = (proc.info["create_time"], group, times.user + times.system)
    return found


class ComponentCpu:
    """CPU each part of the system under test used between start and stop, in cores (1.0 = one CPU
    busy all the time): what a confirmed order costs where, and how close the machine is to its 2 CPUs.
    Per process, so a process that ends meanwhile (a closed database connection's backend) takes
    nothing away; what it used after start is lost, which the pools' long-lived connections make
    small. Engine processes shared with others (the machine's PostgreSQL) count whatever they served."""

    def __init__(self) -> None:
        self._before: dict[int, tuple[float, str, float]] = {}
        self._started = 0.0

    def start(self) -> None:
        self._before = _cpu_by_process()
        self._started = time.monotonic()

    def stop(self) -> dict[str, float]:
        elapsed = max(time.monotonic() - self._started, 1e-6)
        used: dict[str, float] = {}
        for pid, (created, group, seconds) in _cpu_by_process().items():
            before = self._before.get(pid)
            spent = seconds - before[2] if before is not None and before[0] == created else seconds
            used[group] = used.get(group, 0.0) + max(0.0, spent)
        return {group: used[group] / elapsed for group in sorted(used)}
