"""`make bench`: the storefront listing through GraphQL under wrk, beside an HTTP-only ceiling.

    .venv/bin/python -m bench.run [--products 200] [--sizes 200,2000] [--duration 10] [--warmup 3]
        [--connections 16] [--threads 2] [--workers 2] [--scenario all] [--idle-wait 20] [--retries 1]
        [--profile] [--shoppers 1,8,32,64,128] [--cost-orders 32] [--ceiling-seconds 5]
        [--topology single,distributed] [--hot best|none|32,128] [--rush 200x20|none] [--direct]
        [--seeder use-cases|import]

See docs/benchmarks.md for what it measures and the results so far.
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from bench import checkout_report, load, machine, profile, report
from bench.checkout_run import CheckoutBench, Plan
from bench.environment import (
    URL_VARS,
    BenchEngines,
    cleanup,
    configured_urls,
    prepare,
    seed,
    start_embedded,
    stop_embedded,
    wait_until_quiet,
)
from bench.options import CACHE_OFF, CACHE_ON, parse_args, wanted_of
from bench.server import (
    DISTRIBUTED,
    SINGLE,
    Server,
    ServerError,
    ceiling_server,
    running,
    topology_server,
)
from bench.validate import (
    BODIES,
    LISTING,
    QUERIES,
    BadResponse,
    check_all,
    check_response,
)

QUIET_LIMIT = 300.0
PROFILE_SECONDS = 10
BUSY_PERCENT = 15.0
OTHERS_PERCENT = 10.0  # of one CPU, on average over a run
READY_TIMEOUT = {SINGLE: 90.0, DISTRIBUTED: 150.0}  # seven processes start on a shared 2-CPU machine


def _engines_text(engines: BenchEngines) -> str:
    versions = ", ".join(f"{name} {v}" for name, v in engines.versions.items())
    if engines.embedded:
        return f"embedded ({versions}), started in a throwaway directory"
    where = ", ".join(urlsplit(u).netloc.rsplit("@", 1)[-1] for u in (engines.server_url, engines.nats_url))
    where += ", " + urlsplit(engines.redis_url).netloc.rsplit("@", 1)[-1]
    return f"external via MERCATO_*_URL ({versions}; at {where})"


def _scope(args: argparse.Namespace) -> str:
    """What this run measures, when not every scenario at the default catalog size."""
    sizes = "" if args.sizes == [200] else " at " + ",".join(map(str, args.sizes))
    return "" if args.scenario == "all" and not sizes else f"{args.scenario}{sizes}"


def _command(argv: list[str] | None) -> str:
    args = sys.argv[1:] if argv is None else argv
    command = " ".join([".venv/bin/python -m bench.run", *map(shlex.quote, args)])
    if configured_urls() is not None:
        command = "MERCATO_DATABASE_URL=… MERCATO_NATS_URL=… MERCATO_REDIS_URL=… " + command
    return command


class Bench:
    def __init__(self, args: argparse.Namespace, engines: BenchEngines, info: report.RunInfo) -> None:
        self.args = args
        self.engines = engines
        self.info = info
        self.wrk = load.ensure_wrk()
        if self.wrk is None:
            info.notes.append("wrk was not available: numbers come from the Python fallback load generator")
        self.ceiling_body: bytes | None = None

    def _load(self, server: Server, bodies: list[bytes]) -> load.LoadResult:
        a = self.args
        return load.run_load(
            self.wrk,
            server.base_url,
            bodies,
            connections=a.connections,
            threads=a.threads,
            warmup=a.warmup,
            duration=a.duration,
        )

    def _wait_idle(self, scenario: str) -> None:
        # The server idles now: any load is background work or someone else's (the machine is shared).
        deadline = time.monotonic() + self.args.idle_wait
        busy, top = machine.busy()
        if busy > BUSY_PERCENT and self.args.idle_wait > 0:
            print(f"bench: the machine is {busy:.0f}% busy ({top}); waiting up to {self.args.idle_wait:g} s")
            while busy > BUSY_PERCENT and time.monotonic() < deadline:
                busy, top = machine.busy()
        if busy > BUSY_PERCENT:
            print(f"bench: warning: the machine is {busy:.0f}% busy before the {scenario} run ({top})")

    def _measure(
        self, scenario: str, size: int, server: Server, bodies: list[bytes], topology: str = "-"
    ) -> None:
        """One row: the least disturbed of up to 1 + --retries runs (retrying only while other
        processes took more than OTHERS_PERCENT of a CPU during the run). Every request is checked
        before (with the cache on, that pass warms it) and after."""
        check_all(server.base_url, bodies, scenario)
        label = scenario if topology == "-" else f"{scenario} ({topology})"
        best: tuple[float, str, load.LoadResult] | None = None
        for attempt in range(1 + self.args.retries):
            self._wait_idle(label)
            print(
                f"bench: {label} at {size:,} products: {self.args.warmup:g} s warm-up, "
                f"{self.args.duration:g} s measured{f' (retry {attempt})' if attempt else ''} …",
                flush=True,
            )
            others = machine.OtherLoad()
            others.start()
            result = self._load(server, bodies)
            share, top = others.stop()
            if best is None or share < best[0]:
                best = (share, top, result)
            if share <= OTHERS_PERCENT:
                break
            print(f"bench: other processes used {share:.0f}% of a CPU during that run ({top})", flush=True)
        assert best is not None
        share, top, result = best
        if share > OTHERS_PERCENT:
            note = f"other processes used {share:.0f}% of a CPU during the {label} run ({top})"
            print(f"bench: warning: {note}", flush=True)
            self.info.notes.append(note)
        after = check_all(server.base_url, bodies, scenario)  # still correct after the load
        row = report.Row(scenario, size, result, after.cache if server.name != "ceiling" else "-", topology)
        self.info.rows.append(row)
        print(report.table([row]).splitlines()[-1], flush=True)

    def catalog(self, size: int) -> None:
        print(f"bench: seeding the catalog up to {size:,} products …", flush=True)
        summary, seconds = asyncio.run(seed(self.engines, size, via_import=self.args.seeder == "import"))
        line = f"{size:,} products: {summary} in {seconds:.1f} s"
        print(f"bench: {line}", flush=True)
        self.info.seeding.append(line)
        # The ceiling alone needs one server's listing body, not a run of each topology.
        topologies = self.args.topologies[:1] if self.args.scenario == "ceiling" else self.args.topologies
        for topology in topologies:
            self._listing(size, topology)

    def _listing(self, size: int, topology: str) -> None:
        wanted = wanted_of(self.args.scenario, CACHE_ON)
        if wanted or self.args.scenario == "ceiling":  # the ceiling serves the listing's body from here
            self._listing_server(size, topology, wanted, cache=True)
        wanted = wanted_of(self.args.scenario, CACHE_OFF)
        if wanted:
            self._listing_server(size, topology, wanted, cache=False)

    def _listing_server(self, size: int, topology: str, wanted: list[str], *, cache: bool) -> None:
        env = {**self.engines.server_env(), **self.args.server_env}
        if not cache:
            env["MERCATO_CACHE_ENABLED"] = "false"  # the response cache, and the catalog's page cache
        print(f"bench: starting the {topology} topology (cache {'on' if cache else 'off'}) …", flush=True)
        server = topology_server(topology, env, self.args.workers)
        with running(server, "/readyz", timeout=READY_TIMEOUT[topology]):
            quiet, waited = asyncio.run(wait_until_quiet(self.engines, QUIET_LIMIT))
            note = f"relays and consumers worked off seeding's events in {waited:.1f} s"
            if not quiet:
                note = (
                    f"events of seeding still pending after {waited:.0f} s ({topology}); "
                    "cache invalidations may land inside the runs"
                )
                self.info.notes.append(note)
            print(f"bench: {note}", flush=True)
            for scenario in wanted:
                self._measure(scenario, size, server, BODIES[scenario], topology)
            if cache and self.ceiling_body is None and self.args.scenario in ("all", "ceiling"):
                self.ceiling_body = check_response(server.base_url, QUERIES[LISTING], LISTING).body
            # One worker of `mercato serve` is the whole application; in the distributed topology
            # one process would show one context only, so profiles stay single-topology.
            if self.args.profile and size == self.args.sizes[-1] and topology == SINGLE:
                for scenario in wanted:
                    self._profile(server, scenario)

    def _profile(self, server: Server, scenario: str) -> None:
        exe = profile.py_spy()
        workers = server.workers()
        if exe is None or not workers:
            print("bench: no py-spy or no worker to profile; skipping the profile")
            return
        raw = Path(tempfile.mkdtemp(prefix="bench-profile-")) / f"{scenario}.collapsed.txt"
        pid = workers[0].pid
        print(
            f"bench: profiling worker {pid} for {PROFILE_SECONDS} s under {scenario} load → {raw}", flush=True
        )
        recorder = profile.start(exe, pid, PROFILE_SECONDS, raw)
        time.sleep(0.5)
        a = self.args
        load.run_load(
            self.wrk,
            server.base_url,
            BODIES[scenario],
            connections=a.connections,
            threads=a.threads,
            warmup=0,
            duration=PROFILE_SECONDS + 1,
        )
        found = profile.finish(recorder, raw)
        if found is not None:
            self.info.profiles[scenario] = found

    def ceiling(self) -> None:
        assert self.ceiling_body is not None
        with tempfile.TemporaryDirectory(prefix="bench-ceiling-") as tmp:
            body_file = Path(tmp) / "listing.json"
            body_file.write_bytes(self.ceiling_body)
            server = ceiling_server(body_file, self.args.workers)
            with running(server, "/readyz", timeout=30):
                self._measure("ceiling", self.args.sizes[0], server, [QUERIES[LISTING]])

    def checkout(self) -> None:
        a = self.args
        if a.scenario == "checkout":  # no listing run: just the catalog
            print(f"bench: seeding the catalog up to {a.sizes[0]:,} products …", flush=True)
            summary, seconds = asyncio.run(seed(self.engines, a.sizes[0], via_import=a.seeder == "import"))
            self.info.seeding.append(f"{a.sizes[0]:,} products: {summary} in {seconds:.1f} s")
        plan = Plan(a.shoppers, a.cost_orders, a.topologies, a.hot, a.rush, count_wire=not a.direct)
        bench = CheckoutBench(self.engines, a.workers, plan)
        self.info.checkout = bench.results
        try:
            bench.setup_and_cost()
            bench.throughput(a.duration, a.warmup, a.idle_wait, PROFILE_SECONDS if a.profile else 0)
        finally:
            bench.close()
        bench.ceiling(a.ceiling_seconds)

    def run(self) -> None:
        if self.args.scenario != "checkout":
            for size in self.args.sizes:
                self.catalog(size)
        if self.args.scenario in ("all", "checkout"):
            self.checkout()
        if self.args.scenario in ("all", "ceiling"):
            self.ceiling()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = datetime.now(UTC)
    urls = configured_urls()
    embedded = None
    if urls is None:
        print("bench: MERCATO_*_URL unset; starting embedded engines in a throwaway directory …", flush=True)
        embedded, engines = start_embedded()
    else:
        database, nats, redis = (urls[name] for name in URL_VARS)
        engines = BenchEngines(database, nats, redis, embedded=False)
    info = report.RunInfo(
        started=started,
        engines_label=engines.label,
        engines_text="",
        command=_command(argv),
        workers=args.workers,
        connections=args.connections,
        threads=args.threads,
        warmup=args.warmup,
        duration=args.duration,
        code=report.code_version(),
        topologies=args.topologies,
        scope=_scope(args),
    )
    failure: str | None = None
    try:
        try:
            asyncio.run(prepare(engines))
            print(f"bench: database {engines.database}, namespace {engines.namespace}", flush=True)
            info.engines_text = _engines_text(engines)
            Bench(args, engines, info).run()
        except (ServerError, BadResponse, load.LoadError) as exc:
            failure = str(exc)
        finally:
            try:
                asyncio.run(cleanup(engines))
            except Exception as exc:  # noqa: BLE001 - report, never mask the run's own error
                print(f"bench: cleanup of {engines.database} / {engines.namespace} failed: {exc!r}")
    finally:
        if embedded is not None:
            print("bench: stopping embedded engines …", flush=True)
            stop_embedded(embedded)
    print()
    if info.rows:
        print(report.table(info.rows))
    if info.checkout is not None:
        print(checkout_report.table(info.checkout))
    if failure is not None:
        print(f"\nbench: FAILED, {args.output} left as it was:\n{failure}")
        return 1
    report.write(args.output, info)
    print(f"\nbench: wrote {args.output}")
    for scenario, found in info.profiles.items():
        profile.print_summary(scenario, found)
    return 0


if __name__ == "__main__":
    sys.exit(main())
