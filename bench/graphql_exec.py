"""GraphQL execution of the storefront listing mix in process, no HTTP: requests/s per worker for each
way of executing it, side by side in one run.

    python -m bench.graphql_exec [--seconds 20] [--baseline REV] [--executors a,b] [--stock]
    python -m bench.graphql_exec --seconds 10 --executors gateway,gateway+stock   # availability's cost
    make bench-graphql ARGS="--seconds 30"

Each executor runs in its own worker process (same start, same heap), and the run alternates between
them in slices of `--slice` seconds, so a machine whose load changes during the run slows them all
alike: compare the ratios, not the absolute figures, on a shared machine. `--baseline REV` adds
`before`: the code of commit REV (`git archive`) executing the same mix the way it did then. Every
worker first answers the whole mix once; the run stops if two executors disagree on any response.

Executors (see `EXECUTORS`): the gateway's schema as it serves (`gateway`); the same with graphql-core's
executor alone (`reference`); the schema with the parser and validation caches only, without the
gateway's other extensions and the text guard (`bare`: what those cost); graphql-core's `execute`
called directly on the parsed and validated document (`graphql-core`, and `graphql-core-plain` with
the compiled executor: what Strawberry's per-request wrapper costs). `--profile DIR` then samples each
executor with py-spy and writes its flame graph.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Awaitable, Callable
from io import BytesIO
from pathlib import Path
from typing import Any

import orjson

from bench.slices import SliceWorker

ROOT = Path(__file__).resolve().parents[1]
EXECUTORS = ("gateway", "reference", "bare", "graphql-core", "graphql-core-plain")
Run = Callable[[str], Awaitable[Any]]


def _executor(name: str, stock: bool) -> tuple[Run, list[str]]:
    """The function executing one document with `name`, and the listing mix."""
    import inspect

    import strawberry
    from graphql import execute, parse, validate
    from strawberry.extensions import ParserCache, ValidationCache

    from bench.storefront_data import MemoryCatalog, context, listing_mix, memory_clients
    from mercato.gateway.graphql import schema as gateway_schema
    from mercato.platform.config import Settings

    settings = Settings()
    clients = memory_clients(MemoryCatalog())
    mix = listing_mix(stock=stock)
    fast = "fast_execution" in inspect.signature(gateway_schema.build_schema).parameters

    if name in ("gateway", "before"):
        served = gateway_schema.build_schema(settings)
    elif name == "reference":
        served = gateway_schema.build_schema(settings, fast_execution=False)
    elif name == "bare":
        served = strawberry.Schema(
            query=gateway_schema.Query,
            mutation=gateway_schema.Mutation,
            extensions=[lambda: ParserCache(maxsize=1_000), lambda: ValidationCache(maxsize=1_000)],
        )
    else:
        core = gateway_schema.build_schema(settings)._schema
        executor_class: Any = None
        if name == "graphql-core-plain":
            from mercato.gateway.graphql.core.execution import PlainSelectionExecutor

            executor_class = PlainSelectionExecutor
        elif fast:
            from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

            executor_class = StrawberryGraphQLCoreExecutionContext
        documents = {}
        for query in mix:
            document = parse(query)
            assert not validate(core, document)
            documents[query] = document

        async def run_core(query: str) -> Any:
            result = execute(
                core,
                documents[query],
                context_value=context(settings, clients),
                executor_class=executor_class,
            )
            return await result if inspect.isawaitable(result) else result

        return run_core, mix

    async def run_schema(query: str) -> Any:
        return await served.execute(query, context_value=context(settings, clients))

    return run_schema, mix


def _digest(results: list[Any]) -> str:
    payload = [{"data": r.data, "errors": [e.formatted for e in r.errors or ()]} for r in results]
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_NON_STR_KEYS)).hexdigest()[:16]


async def _worker(name: str, stock: bool) -> None:
    """Answer the mix once (its digest), then run a slice per line read from stdin."""
    run, mix = _executor(name, stock)
    first = [await run(q) for q in mix]
    errors = [e for r in first for e in r.errors or ()]
    size = sum(len(orjson.dumps(r.data)) for r in first) // len(first)
    print(f"ready {_digest(first)} {len(errors)} {size}", flush=True)
    index = 0
    for line in sys.stdin:
        seconds = float(line)
        done = 0
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            await run(mix[index % len(mix)])
            index += 1
            done += 1
        print(f"{done} {time.perf_counter() - start:.6f}", flush=True)


def _baseline_src(rev: str, into: Path) -> Path:
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "src"], check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


class Worker(SliceWorker):
    def __init__(self, label: str, executor: str, src: Path, stock: bool) -> None:
        self.stock = stock
        argv = [sys.executable, "-m", "bench.graphql_exec", "--worker", executor]
        super().__init__(label, [*argv, *(["--stock"] if stock else [])], src, dict(os.environ))
        self.digest, self.errors, self.size = self.ready[1], int(self.ready[2]), int(self.ready[3])

    def slice(self, seconds: float) -> None:
        self.run_slice(seconds)


def _profile(workers: list[Worker], out: Path, seconds: int) -> None:
    """py-spy each worker while it runs the mix for `seconds`; collapsed stacks and a flame graph."""
    from bench import flamegraph, profile

    # py-spy also where this Python's venv keeps it (the shared venv is not always on PATH).
    exe = profile.py_spy() or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if exe is None:
        print("bench: py-spy is not installed; no profile", file=sys.stderr)
        return
    out.mkdir(parents=True, exist_ok=True)
    for w in workers:
        raw = out / f"graphql-{w.label}.collapsed.txt"
        proc = profile.start(exe, w.proc.pid, seconds, raw)
        time.sleep(0.5)  # py-spy attached before the slice starts
        w.slice(seconds - 1)
        found = profile.finish(proc, raw)
        if found is None:
            continue
        title = f"listing mix in process, executor {w.label}"
        svg = out / f"graphql-{w.label}.svg"
        svg.write_text(flamegraph.render(flamegraph.parse(raw.read_text()), title))
        profile.print_summary(w.label, found)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds per executor")
    parser.add_argument("--slice", type=float, default=1.0, help="seconds per turn of one executor")
    parser.add_argument("--executors", default=",".join(EXECUTORS))
    parser.add_argument("--baseline", default=None, help="a commit to measure as `before` (e.g. main)")
    parser.add_argument("--stock", action="store_true", help="the mix with quantityAvailable / inStock")
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="then py-spy each executor for --profile-seconds: DIR/graphql-<label>.{collapsed.txt,svg}",
    )
    parser.add_argument("--profile-seconds", type=int, default=15)
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        asyncio.run(_worker(args.worker, args.stock))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        workers: list[Worker] = []
        if args.baseline:
            workers.append(Worker("before", "before", _baseline_src(args.baseline, Path(tmp)), args.stock))
        for name in args.executors.split(","):
            # `gateway+stock`: that executor on the mix with availability, beside the others without.
            executor, stock = name.removesuffix("+stock"), args.stock or name.endswith("+stock")
            workers.append(Worker(name, executor, ROOT / "src", stock))
        if any(len({w.digest for w in workers if w.stock == stock}) > 1 for stock in (False, True)):
            for w in workers:
                print(f"{w.label}: responses digest {w.digest}, {w.errors} errors", file=sys.stderr)
            print("executors disagree on the responses: not measured", file=sys.stderr)
            return 1
        slices = max(1, round(args.seconds / args.slice))
        for _ in range(slices):
            for w in workers:
                w.slice(args.slice)
        base = workers[0].rate
        print(
            f"listing mix ({'with' if args.stock else 'without'} availability), {workers[0].size} bytes "
            f"of data per response on average; identical responses from every executor ({workers[0].digest})"
            + "".join(
                f"; {w.label}: with availability, {w.size} bytes" for w in workers if w.stock != args.stock
            )
        )
        head = f"x {workers[0].label}"
        print(f"{'executor':<20} {'requests':>9} {'seconds':>8} {'req/s':>8} {'ms/req':>7} {head:>10}")
        for w in workers:
            print(
                f"{w.label:<20} {w.requests:>9} {w.seconds:>8.1f} {w.rate:>8.1f} {1000 / w.rate:>7.2f} "
                f"{w.rate / base:>10.2f}"
            )
        # After the figures: py-spy slows the process it samples.
        if args.profile is not None:
            _profile(workers, args.profile, args.profile_seconds)
        for w in workers:
            w.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
