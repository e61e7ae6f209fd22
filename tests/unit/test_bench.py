"""The benchmark's own logic, without engines or servers: its options, the wire scanner of the counting
proxy, the checks of the contended runs and the report (with made-up figures; nothing is timed)."""

from __future__ import annotations

import struct
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import pytest
from bench import checkout_report, checkout_targets, report
from bench.checkout import LevelResult
from bench.checkout_checks import StockCheck, Trouble, scan_logs
from bench.checkout_run import CheckoutResults, Cost, HotRun, Plan
from bench.checkout_rush import RushResult
from bench.commits import CeilingRow
from bench.options import CHECKOUT_LEVELS, parse_args
from bench.pgwire import FrontendScanner, WireCounts
from bench.run import _scope


def _msg(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("!i", len(body) + 4) + body


def _level(shoppers: int, orders_per_s: float, latency_s: float = 0.1, seconds: float = 10.0) -> LevelResult:
    confirmed = round(orders_per_s * seconds)
    r = LevelResult(shoppers, seconds, latencies=[latency_s] * confirmed)
    r.outcomes["CONFIRMED"] = confirmed
    r.wire = WireCounts(statements=30 * confirmed, begins=9 * confirmed, commits=8 * confirmed)
    return r


def _stock(sold: int, stock: int = 1_000_000) -> StockCheck:
    return StockCheck("SKU-HOT", stock, stock - sold, 0, 0, 0, sold, sold)


def _rush(topology: str, settle: float, confirmed: int, emptied: int) -> RushResult:
    r = RushResult(topology, 200, 20, "SKU-RUSH", settled_s=settle, answered_s=settle + 0.1)
    r.outcomes.update({"CONFIRMED": confirmed, "REJECTED:OUT_OF_STOCK": 200 - confirmed})
    r.db_confirmed, r.db_orders = confirmed, 200
    r.carts_emptied, r.carts_emptied_s = emptied, 0.4
    r.others_kept = 200 - confirmed
    r.first_answers = [0.5] * 200
    r.stock = StockCheck("SKU-RUSH", 20, 20 - confirmed, 0, 0, 0, confirmed, confirmed)
    r.trouble = Trouble()
    return r


def _results() -> CheckoutResults:
    """Single: best 160/s at 32, 100/s at 128; distributed: best 100/s; hot 90/s at 32 (single)."""
    results = CheckoutResults(shoppers=200, skus=200, wire_counted=True)
    single = {1: 9.0, 8: 60.0, 32: 160.0, 64: 150.0, 128: 100.0}
    distributed = {1: 5.0, 8: 40.0, 32: 100.0, 64: 90.0, 128: 80.0}
    results.levels += [("single", _level(n, rate)) for n, rate in single.items()]
    results.levels += [("distributed", _level(n, rate)) for n, rate in distributed.items()]
    results.hot += [
        HotRun("single", "SKU-HOT", [_level(32, 90.0)], _stock(900), Trouble()),
        HotRun("distributed", "SKU-HOT2", [_level(32, 40.0)], _stock(400), Trouble(log_retries=1)),
    ]
    results.rush += [_rush("single", 2.5, 20, 20), _rush("distributed", 3.4, 20, 19)]
    results.ceiling = [CeilingRow(n, 4_000.0 * min(n, 16), "pgbench", min(n, 90)) for n in single]
    for topology, statements, commits in (("single", 25 * 32, 12 * 32), ("distributed", 35 * 32, 9 * 32)):
        results.costs[topology] = Cost(
            orders=32,
            confirmed=32,
            batch_seconds=4.0,
            window_seconds=15.0,
            wire=WireCounts(statements=statements + 100, commits=commits + 50),
            wire_idle=WireCounts(statements=100, commits=50),
            xact=(commits + 60, 5),
            xact_idle=(60, 0),
            latencies_ms=[120.0] * 32,
        )
    return results


def _statuses(results: CheckoutResults) -> dict[str, str]:
    return {v.target: v.status for v in checkout_targets.verdicts(results)}


# --- options ---------------------------------------------------------------------------------------


def test_checkout_defaults_are_the_issues_levels_with_a_hot_run_and_a_rush() -> None:
    args = parse_args(["--scenario", "checkout"])

    assert CHECKOUT_LEVELS == "1,8,32,64,128"
    assert args.shoppers == [1, 8, 32, 64, 128]
    assert args.hot is None  # the best distinct level
    assert args.rush == (200, 20)
    assert args.direct is False
    assert args.topologies == ["single", "distributed"]


def test_a_smoke_run_takes_short_durations_few_levels_and_no_cost_run() -> None:
    args = parse_args(
        [
            "--scenario",
            "checkout",
            "--duration",
            "3",
            "--shoppers",
            "8,1",
            "--topology",
            "single",
            "--cost-orders",
            "0",
            "--hot",
            "32,128",
            "--rush",
            "40x4",
            "--direct",
        ]
    )

    assert args.duration == 3.0
    assert args.shoppers == [1, 8]
    assert args.topologies == ["single"]
    assert args.cost_orders == 0
    assert args.hot == [32, 128]
    assert args.rush == (40, 4)
    assert args.direct is True


def test_hot_and_rush_can_be_left_out() -> None:
    args = parse_args(["--scenario", "checkout", "--hot", "none", "--rush", "none"])

    assert args.hot == []
    assert args.rush is None


@pytest.mark.parametrize(
    "argv",
    [
        ["--shoppers", "0,8"],
        ["--shoppers", "8,257"],
        ["--shoppers", "eight"],
        ["--hot", "0"],
        ["--rush", "20x200"],  # more units than shoppers: no rush
        ["--rush", "200"],
        ["--cost-orders", "101"],
        ["--topology", "both"],
    ],
)
def test_bad_options_are_refused(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        parse_args(["--scenario", "checkout", *argv])

    assert exc.value.code == 2


def test_the_shopper_pool_covers_every_run() -> None:
    assert Plan([1, 8], 32, ["single"], None, (200, 20)).pool == 200
    assert Plan([1, 8, 128], 32, ["single"], [256], None).pool == 256
    assert Plan([1, 8], 0, ["single"], [], None).pool == 8


# --- the counting proxy's scanner ------------------------------------------------------------------


def test_the_scanner_counts_statements_and_transaction_control_across_any_chunking() -> None:
    stream = b"".join(
        [
            _msg(b"Q", b"BEGIN\x00"),
            _msg(b"P", b"\x00SELECT $1\x00\x00\x00"),
            _msg(b"B", b"\x00" * 300),
            _msg(b"E", b"\x00\x00\x00\x00\x00"),
            _msg(b"S", b""),
            _msg(b"E", b"\x00\x00\x00\x00\x00"),
            _msg(b"Q", b"commit;\x00"),
            _msg(b"Q", b"SELECT pg_sleep(0)\x00"),
            _msg(b"Q", b"ROLLBACK\x00"),
        ]
    )
    for size in (1, 3, 7, 64, len(stream)):
        scanner = FrontendScanner()
        totals = [0, 0, 0, 0]
        for start in range(0, len(stream), size):
            found = scanner.feed(stream[start : start + size])
            totals = [a + b for a, b in zip(totals, found, strict=True)]

        assert totals == [3, 1, 1, 1], size  # statements, begins, commits, rollbacks


def test_wire_counts_subtract_field_by_field() -> None:
    assert WireCounts(10, 4, 3, 1).minus(WireCounts(4, 1, 1, 0)) == WireCounts(6, 3, 2, 1)


# --- checks of the contended runs ------------------------------------------------------------------


def test_stock_is_oversold_when_more_units_are_sold_than_there_were_or_a_row_goes_negative() -> None:
    assert _stock(20, stock=20).oversold is False
    assert _stock(20, stock=20).consistent is True
    assert StockCheck("S", 20, 0, 0, 0, 0, 20, 21).oversold is True  # 21 units in confirmed orders
    assert StockCheck("S", 20, -1, 0, -1, 0, 21, 21).oversold is True
    assert StockCheck("S", 20, 1, 1, 0, 0, 19, 19).consistent is False  # a unit still reserved


def test_log_scan_counts_deadlocks_and_retries_written_after_the_start(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text("WARNING consumer x: E failed (try 1): DeadlockDetectedError('deadlock detected')\n")
    offsets = {log: log.stat().st_size}  # that line was there before the run
    with log.open("a") as f:
        f.write("ERROR asyncpg: deadlock detected\n")
        f.write("WARNING consumer orders-saga: inventory.StockReserved failed (try 2): TimeoutError()\n")
        f.write("ERROR consumer cart: parking 1234 after 5 tries: ValueError()\n")
        f.write("INFO all good\n")
    trouble = Trouble()

    scan_logs([log, tmp_path / "missing.log"], offsets, trouble)

    assert (trouble.log_deadlocks, trouble.log_retries) == (1, 2)
    assert trouble.samples[0] == "ERROR asyncpg: deadlock detected"
    assert trouble.clean is False
    assert Trouble().clean is True


def test_statements_per_order_subtract_the_idle_rate_over_the_window() -> None:
    r = _level(8, 10.0)  # 100 confirmed orders, 3,000 statements in 10 s

    assert r.per_order("statements") == 30.0
    assert r.per_order("statements", idle_per_s=20.0) == 28.0
    assert LevelResult(8, 10.0).per_order("statements") is None  # not counted


# --- targets and report ----------------------------------------------------------------------------


def test_targets_pass_or_miss_on_the_figures() -> None:
    statuses = _statuses(_results())

    assert statuses == {
        "≥ 150 confirmed orders/s, single, best concurrency (long term 300)": "PASS",
        "128 shoppers ≥ 90% of the best (single)": "MISS",  # 100 of 160
        "128 shoppers ≥ 90% of the best (distributed)": "MISS",  # 80 of 100
        "p99 submit → terminal < 250 ms at 8 shoppers (single)": "PASS",
        "distributed ≥ 75% of single (best vs best)": "MISS",  # 100 of 160
        "hot SKU ≥ 50% of distinct SKUs, same shoppers (single)": "PASS",  # 90 of 160
        "hot SKU: no oversell, stock never negative (single)": "PASS",
        "hot SKU: no deadlock, no consumer retry (single)": "PASS",
        "hot SKU ≥ 50% of distinct SKUs, same shoppers (distributed)": "MISS",  # 40 of 100
        "hot SKU: no oversell, stock never negative (distributed)": "PASS",
        "hot SKU: no deadlock, no consumer retry (distributed)": "MISS",  # one retry line
        "rush settles < 3 s: 200 shoppers at once on 20 units (single)": "PASS",
        "rush: exactly 20 CONFIRMED (single)": "PASS",
        "rush: every confirmed buyer's cart empty (single)": "PASS",
        "rush settles < 3 s: 200 shoppers at once on 20 units (distributed)": "MISS",
        "rush: exactly 20 CONFIRMED (distributed)": "PASS",
        "rush: every confirmed buyer's cart empty (distributed)": "MISS",  # 19 of 20
        "≤ 30 statements per order, net (single)": "PASS",
        "≤ 10 COMMITs per order, net (single)": "MISS",
        "≤ 30 statements per order, net (distributed)": "MISS",
        "≤ 10 COMMITs per order, net (distributed)": "PASS",
    }


def test_targets_not_measured_are_not_applicable() -> None:
    results = CheckoutResults(shoppers=8, skus=8)
    results.levels.append(("single", _level(1, 9.0)))

    statuses = _statuses(results)

    assert statuses["≥ 150 confirmed orders/s, single, best concurrency (long term 300)"] == "MISS"
    assert statuses["128 shoppers ≥ 90% of the best (single)"] == "n/a"
    assert statuses["p99 submit → terminal < 250 ms at 8 shoppers (single)"] == "n/a"
    assert statuses["distributed ≥ 75% of single (best vs best)"] == "n/a"
    assert not any("rush" in target or "hot" in target for target in statuses)


def test_a_rush_with_a_wrong_number_of_confirmations_misses() -> None:
    results = CheckoutResults(shoppers=200, skus=200)
    over = _rush("single", 1.0, 21, 21)
    results.rush.append(over)

    assert _statuses(results)["rush: exactly 20 CONFIRMED (single)"] == "MISS"


def test_the_markdown_puts_each_figure_beside_its_target() -> None:
    lines = checkout_report.markdown(_results())

    assert (
        "| ≥ 150 confirmed orders/s, single, best concurrency (long term 300) | **PASS** "
        "| 160.0/s at 32 shoppers |" in lines
    )
    assert "| 128 shoppers ≥ 90% of the best (single) | **MISS** | 100.0 vs 160.0/s = 62% |" in lines
    assert (
        "| hot SKU ≥ 50% of distinct SKUs, same shoppers (single) | **PASS** | 56% at 32 shoppers |" in lines
    )
    assert "| rush settles < 3 s: 200 shoppers at once on 20 units (single) | **PASS** | 2.50 s |" in lines
    level = next(line for line in lines if line.startswith("| single | 32 |"))
    # orders/s, p50, p90, p99, max, confirmed, not confirmed, PENDING, statements, COMMITs, cart lag,
    # ceiling, ratio
    assert level == (
        "| single | 32 | 160.0 | 100.0 | 100.0 | 100.0 | 100.0 | 1,600 | 0 | 0 | 30.0 | 8.0 | - "
        "| 64,000 (pgbench) | 0.25% |"
    )
    capped = next(line for line in lines if line.startswith("| single | 128 |"))
    assert "64,000 (pgbench, 90 connections)" in capped
    rush = next(line for line in lines if line.startswith("| single | 200 x 20 |"))
    assert rush == (
        "| single | 200 x 20 | 2.50 | 2.60 | 500 / 500 | 0 | 20 / 20 | 180 | 20/20 in 0.40 s | 180/180 "
        "| 0 on hand, 0 reserved | 0, 0 |"
    )


def test_the_terminal_table_and_the_whole_section_render() -> None:
    results = _results()
    info = report.RunInfo(
        started=datetime(2026, 12, 1, 12, 0, tzinfo=UTC),
        engines_label="external",
        engines_text="external",
        command=".venv/bin/python -m bench.run --scenario checkout",
        workers=2,
        connections=16,
        threads=2,
        warmup=3.0,
        duration=10.0,
        topologies=["single", "distributed"],
        checkout=results,
    )

    text = checkout_report.table(results)
    key, section = report.section(info)

    assert "single       hot            32      90.0" in text
    assert "PASS" in text and "MISS" in text
    assert key == "2026-12-01 external single+distributed"
    assert "- Load: each checkout level 3 s warm-up, 10 s measured, from the same machine" in section
    assert "**Targets** (issue 8, on the 2-core machine):" in section
    assert "### The gRPC hop" in section


def test_outcomes_other_than_confirmed_are_listed_per_run() -> None:
    results = CheckoutResults(shoppers=8, skus=8)
    level = _level(8, 5.0)
    level.outcomes.update(Counter({"REJECTED:PAYMENT_DECLINED": 2, "error: HTTP 502": 1}))
    results.levels.append(("single", level))

    lines = checkout_report.markdown(results)

    assert (
        "Not confirmed: REJECTED:PAYMENT_DECLINED (single): 2 at 8 shoppers; "
        "error: HTTP 502 (single): 1 at 8 shoppers" in lines
    )


def test_a_new_run_keeps_the_files_own_introduction_and_replaces_only_its_own_section(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a results file whose introduction was edited by hand, with two earlier runs
    results = tmp_path / "benchmarks.md"
    results.write_text(
        "# Benchmarks\n\nHand-written notes.\n\n"
        "<!-- bench-run: day-1 checkout -->\n## old checkout\n\n"
        "<!-- bench-run: day-0 listing -->\n## old listing\n"
    )
    fresh = "<!-- bench-run: day-1 checkout -->\n## new checkout\n"
    monkeypatch.setattr(report, "section", lambda info: ("day-1 checkout", fresh))

    # When a run with the first run's key writes its section
    report.write(results, cast(report.RunInfo, None))

    # Then the introduction is the file's, the new section comes first, the other run is kept
    assert results.read_text() == (
        "# Benchmarks\n\nHand-written notes.\n\n"
        + fresh
        + "\n<!-- bench-run: day-0 listing -->\n## old listing\n"
    )


def test_runs_of_different_scenarios_or_sizes_on_one_day_keep_sections_of_their_own() -> None:
    def key(*argv: str) -> str:
        args = parse_args(list(argv))
        info = report.RunInfo(
            started=datetime(2026, 12, 7, tzinfo=UTC),
            engines_label="external",
            engines_text="",
            command="",
            workers=2,
            connections=16,
            threads=2,
            warmup=3,
            duration=10,
            topologies=args.topologies,
            scope=_scope(args),
        )
        return report.section(info)[0]

    keys = {
        key("--topology", "single"),
        key("--scenario", "mix", "--topology", "single"),
        key("--scenario", "mix", "--topology", "single", "--sizes", "1000,10000"),
    }
    assert keys == {
        "2026-12-07 external",
        "2026-12-07 external mix",
        "2026-12-07 external mix at 1000,10000",
    }
