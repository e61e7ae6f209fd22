"""The storefront mix under `make bench` (listing-mix, listing-mix-cached): wrk's Lua for many request
bodies, the rotation through them (wrk when installed, and the Python fallback), the page check for
`first` up to 36, and the mix's targets in the report (made-up figures; nothing is timed)."""

from __future__ import annotations

import shutil
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson
import pytest
from bench import load, report
from bench.options import CACHE_OFF, CACHE_ON, parse_args, wanted_of
from bench.storefront_data import listing_mix
from bench.validate import (
    BODIES,
    LISTING,
    LISTING_MIX,
    LISTING_MIX_AVAILABILITY,
    LISTING_MIX_CACHED,
    MIX,
    BadResponse,
    _check_page,
)

BODIES_5 = [orjson.dumps({"query": f"{{ products(first: {12 + i}) {{ q{i} }} }}"}) for i in range(5)]


def _page(edges: int) -> dict[str, object]:
    node = {"slug": "p", "variants": [{"sku": "S", "price": {"amount": "1.00", "currency": "EUR"}}]}
    return {"data": {"products": {"edges": [{"node": node}] * edges}}}


def _result(rps: float, p99_ms: float) -> load.LoadResult:
    return load.LoadResult("wrk", round(rps * 10), 10.0, p99_ms / 4, p99_ms / 2, p99_ms, p99_ms * 2, 0)


class _Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as wrk expects
    disable_nagle_algorithm = True
    seen: Counter[bytes]

    def do_POST(self) -> None:
        self.seen[self.rfile.read(int(self.headers["Content-Length"]))] += 1
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def recorder() -> Iterator[tuple[str, Counter[bytes]]]:
    seen: Counter[bytes] = Counter()
    handler = type("Handler", (_Recorder,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", seen
    finally:
        server.shutdown()
        server.server_close()


# --- the scenarios ---------------------------------------------------------------------------------


def test_the_mix_scenarios_send_the_listing_mix_of_the_in_process_bench() -> None:
    assert [orjson.dumps({"query": q}) for q in listing_mix()] == MIX
    assert len(set(MIX)) == 52
    assert BODIES[LISTING_MIX] == BODIES[LISTING_MIX_CACHED] == MIX
    assert len(BODIES[LISTING]) == 1
    assert parse_args(["--scenario", "listing-mix"]).scenario == LISTING_MIX
    assert parse_args(["--scenario", "listing-mix-cached"]).scenario == LISTING_MIX_CACHED
    assert parse_args(["--scenario", "mix"]).scenario == "mix"


def test_the_uncached_mix_gets_a_server_of_its_own_and_mix_runs_both() -> None:
    # started with MERCATO_CACHE_ENABLED=false
    assert CACHE_OFF == (LISTING_MIX, LISTING_MIX_AVAILABILITY)
    assert wanted_of("mix", CACHE_ON) == [LISTING_MIX_CACHED]
    assert wanted_of("mix", CACHE_OFF) == [LISTING_MIX]
    assert wanted_of("listing-mix", CACHE_ON) == []
    assert wanted_of("all", CACHE_ON) == [LISTING, "listing-availability", LISTING_MIX_CACHED]
    assert wanted_of("all", CACHE_OFF) == [LISTING_MIX, LISTING_MIX_AVAILABILITY]
    assert wanted_of("checkout", CACHE_ON + CACHE_OFF) == []


def test_availability_runs_the_listing_and_the_uncached_mix_with_and_without_it() -> None:
    assert parse_args(["--scenario", "availability"]).scenario == "availability"
    assert wanted_of("availability", CACHE_ON) == [LISTING, "listing-availability"]
    assert wanted_of("availability", CACHE_OFF) == [LISTING_MIX, LISTING_MIX_AVAILABILITY]
    assert [orjson.dumps({"query": q}) for q in listing_mix(stock=True)] == BODIES[LISTING_MIX_AVAILABILITY]
    assert all(b"quantityAvailable inStock" in body for body in BODIES[LISTING_MIX_AVAILABILITY])


def test_a_page_may_hold_as_many_products_as_the_query_asked_for() -> None:
    _check_page(_page(36), LISTING_MIX, first=36)

    with pytest.raises(BadResponse, match="37 products in a page of first: 36"):
        _check_page(_page(37), LISTING_MIX, first=36)
    with pytest.raises(BadResponse, match="no products"):
        _check_page(_page(0), LISTING_MIX, first=36)
    with pytest.raises(BadResponse, match="GraphQL errors"):
        _check_page({"errors": [{"message": "boom"}], "data": None}, LISTING_MIX, first=12)


# --- wrk's script ----------------------------------------------------------------------------------


def test_one_body_stays_wrks_static_request() -> None:
    script = load.wrk_script([BODIES_5[0]])

    assert f"wrk.body = [[{BODIES_5[0].decode()}]]" in script
    assert "request = function" not in script  # wrk sends a static request without calling Lua
    assert "BENCH_RESULT" in script


def test_many_bodies_are_listed_once_in_order_and_each_thread_starts_elsewhere() -> None:
    script = load.wrk_script(BODIES_5, threads=2)

    positions = [script.index(f"[[{b.decode()}]]") for b in BODIES_5]
    assert positions == sorted(positions)
    assert all(script.count(b.decode()) == 1 for b in BODIES_5)
    assert 'thread:set("start", threads * 2)' in script  # 5 bodies over 2 threads
    assert "request = function" in script


def test_a_body_that_would_close_a_lua_long_string_gets_a_higher_bracket_level() -> None:
    assert load._lua_string(b'{"q":"a]]b"}') == '[=[{"q":"a]]b"}]=]'
    assert load._lua_string(b'{"q":"]=]"}]') == '[==[{"q":"]=]"}]]==]'
    with pytest.raises(ValueError, match="at least one"):
        load.wrk_script([])


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_wrk_sends_every_body_of_the_mix_and_nothing_else(recorder: tuple[str, Counter[bytes]]) -> None:
    url, seen = recorder

    result = load.run_load(shutil.which("wrk"), url, BODIES_5, connections=4, threads=2, warmup=0, duration=1)

    assert result.tool == load.WRK_TOOL
    assert result.errors == 0
    assert set(seen) == set(BODIES_5)


def test_the_fallback_generator_cycles_through_the_bodies_too(recorder: tuple[str, Counter[bytes]]) -> None:
    url, seen = recorder

    result = load.run_load(None, url, BODIES_5, connections=5, threads=1, warmup=0, duration=1)

    assert result.tool == load.PYTHON_TOOL
    assert set(seen) == set(BODIES_5)  # connection i starts at body i


# --- report ----------------------------------------------------------------------------------------


def test_the_mix_is_judged_by_issue_9s_targets() -> None:
    rows = [
        report.Row(LISTING_MIX, 200, _result(600, 80.0), "absent", "single"),
        report.Row(LISTING_MIX_CACHED, 200, _result(3_000, 25.0), "hit", "single"),
        report.Row(LISTING, 200, _result(3_000, 15.0), "hit", "single"),
    ]
    info = report.RunInfo(
        started=datetime(2026, 12, 7, 12, 0, tzinfo=UTC),
        engines_label="external",
        engines_text="external",
        command=".venv/bin/python -m bench.run --scenario all",
        workers=2,
        connections=16,
        threads=2,
        warmup=3.0,
        duration=10.0,
        rows=rows,
    )

    _, section = report.section(info)

    assert [report.verdict(r) for r in rows] == ["meets", "misses", "meets"]
    assert (
        "- listing-mix (single) at 200 products: meets issue 9's target (≥ 500 req/s and p99 < 100 ms) "
        "(600 req/s, p99 80.0 ms)" in section
    )
    assert (
        "- listing-mix-cached (single) at 200 products: misses issue 9's target (p99 < 20 ms) "
        "(3,000 req/s, p99 25.0 ms); answered from the whole-response cache" in section
    )
