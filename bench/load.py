"""Load generation: wrk with a Lua script that prints exact percentiles, or, when wrk cannot be
had, a small asyncio HTTP/1.1 keep-alive generator (its results are labelled as such). Either sends one
request body, or cycles through several (a listing mix)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

WRK_TOOL = "wrk"
PYTHON_TOOL = "python-asyncio (fallback)"

_HEAD = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
"""

# Many bodies: requests are formatted once per thread (wrk's advice: building one per request costs),
# then each request takes the next one round the list.
_ROTATE = """
bodies = { %(bodies)s }
local threads = 0

-- Each thread starts at its own place in the list, so the threads do not send the same query together.
setup = function(thread)
  thread:set("start", threads * %(step)d)
  threads = threads + 1
end

init = function(args)
  requests = {}
  for i, body in ipairs(bodies) do
    requests[i] = wrk.format(nil, nil, nil, body)
  end
  n = (start or 0) %% #requests
end

request = function()
  n = n %% #requests + 1
  return requests[n]
end
"""

_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"max_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def _lua_string(body: bytes) -> str:
    """`body` as a Lua long string, with a bracket level its text does not close early."""
    text = body.decode()
    level = 0
    while f"]{'=' * level}]" in text or text.endswith("]" + "=" * level):
        level += 1
    return f"[{'=' * level}[{text}]{'=' * level}]"


def wrk_script(bodies: Sequence[bytes], threads: int = 1) -> str:
    """wrk's Lua: POST the one body (wrk's static request), or cycle through several, each thread
    from its own offset; `done` prints the figures as one JSON line."""
    if not bodies:
        raise ValueError("wrk needs at least one request body")
    if len(bodies) == 1:
        return _HEAD + f"wrk.body = {_lua_string(bodies[0])}\n" + _DONE
    listed = ",\n  ".join(_lua_string(b) for b in bodies)
    step = max(1, len(bodies) // max(1, threads))
    return _HEAD + _ROTATE % {"bodies": listed, "step": step} + _DONE


class LoadError(RuntimeError):
    """The load generator failed."""


@dataclass(frozen=True)
class LoadResult:
    tool: str
    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: int  # non-2xx/3xx answers, socket errors and timeouts

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def ensure_wrk() -> str | None:
    """wrk's path; installs Debian's package when missing and running as root."""
    found = shutil.which("wrk")
    if found or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return found
    print("bench: wrk is not installed; installing it with `apt-get install -y wrk`")
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "check": False}
    if subprocess.run(["apt-get", "install", "-y", "wrk"], **quiet).returncode != 0:  # type: ignore[call-overload]
        subprocess.run(["apt-get", "update"], **quiet)  # type: ignore[call-overload]
        subprocess.run(["apt-get", "install", "-y", "wrk"], **quiet)  # type: ignore[call-overload]
    found = shutil.which("wrk")
    if found is None:
        print("bench: could not install wrk; falling back to the Python load generator")
    return found


def _wrk_once(wrk: str, url: str, script: Path, connections: int, threads: int, seconds: float) -> LoadResult:
    argv = [wrk, "-t", str(threads), "-c", str(connections), "-d", f"{max(1, round(seconds))}s"]
    argv += ["--timeout", "5s", "-s", str(script), url]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH_RESULT ")), None)
    if done.returncode != 0 or line is None:
        raise LoadError(f"wrk failed (exit {done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    r = json.loads(line.removeprefix("BENCH_RESULT "))
    errors = sum(int(r[k]) for k in ("connect", "read", "write", "status", "timeout"))
    return LoadResult(
        tool=WRK_TOOL,
        requests=int(r["requests"]),
        seconds=int(r["duration_us"]) / 1e6,
        p50_ms=int(r["p50_us"]) / 1000,
        p90_ms=int(r["p90_us"]) / 1000,
        p99_ms=int(r["p99_us"]) / 1000,
        max_ms=int(r["max_us"]) / 1000,
        errors=errors,
    )


def run_wrk(
    wrk: str,
    url: str,
    bodies: Sequence[bytes],
    connections: int,
    threads: int,
    warmup: float,
    duration: float,
) -> LoadResult:
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        script = Path(tmp) / "post.lua"
        script.write_text(wrk_script(bodies, threads))
        if warmup > 0:
            _wrk_once(wrk, url, script, connections, threads, warmup)
        return _wrk_once(wrk, url, script, connections, threads, duration)


# -- fallback ---------------------------------------------------------------------------------------


def _percentile(ordered: list[float], q: float) -> float:
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:] if x)}
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readline()).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status


async def _connection(
    host: str,
    port: int,
    requests: Sequence[bytes],
    start: int,
    until: float,
    measure_from: float,
    out: list[float],
    failed: list[int],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    sent = start
    try:
        while (started := time.perf_counter()) < until:
            writer.write(requests[sent % len(requests)])
            sent += 1
            try:
                status = await asyncio.wait_for(_read_response(reader), timeout=5)
            except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
                failed[0] += started >= measure_from
                return
            if started >= measure_from:
                out.append(time.perf_counter() - started)
                failed[0] += not 200 <= status < 400
    finally:
        writer.close()


async def _python_load(
    host: str,
    port: int,
    path: str,
    bodies: Sequence[bytes],
    connections: int,
    warmup: float,
    duration: float,
) -> LoadResult:
    requests = [
        (
            f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        + body
        for body in bodies
    ]
    latencies: list[float] = []
    failed = [0]
    measure_from = time.perf_counter() + warmup
    until = measure_from + duration
    await asyncio.gather(
        *(
            _connection(host, port, requests, i, until, measure_from, latencies, failed)
            for i in range(connections)
        )
    )
    ordered = sorted(latencies)
    return LoadResult(
        tool=PYTHON_TOOL,
        requests=len(ordered),
        seconds=duration,
        p50_ms=_percentile(ordered, 50) * 1000,
        p90_ms=_percentile(ordered, 90) * 1000,
        p99_ms=_percentile(ordered, 99) * 1000,
        max_ms=(ordered[-1] if ordered else 0.0) * 1000,
        errors=failed[0],
    )


def run_load(
    wrk: str | None,
    base_url: str,
    bodies: Sequence[bytes],
    *,
    connections: int,
    threads: int,
    warmup: float,
    duration: float,
) -> LoadResult:
    url = base_url + "/graphql"
    if wrk is not None:
        return run_wrk(wrk, url, bodies, connections, threads, warmup, duration)
    host, _, port = base_url.removeprefix("http://").partition(":")
    return asyncio.run(_python_load(host, int(port), "/graphql", bodies, connections, warmup, duration))
