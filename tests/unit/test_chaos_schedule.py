"""The fault runs' schedule (bench/chaos/schedule.py): a seed replays it; faults stay inside the load's
window and never overlap on one target."""

from __future__ import annotations

from itertools import pairwise

from bench.chaos.schedule import ENGINES, LINKS, Plan, draw

from mercato.app.launcher import SERVICES

PLAN = Plan(budget=300.0, kills=10, outages=ENGINES, outage_seconds=10.0, cuts=6, delays=6, stalls=4)


def test_a_seed_replays_the_same_schedule_and_another_seed_draws_another() -> None:
    assert draw(PLAN, 7) == draw(PLAN, 7)
    assert draw(PLAN, 7) != draw(PLAN, 8)


def test_the_schedule_holds_what_the_plan_asks_for_on_real_targets() -> None:
    faults = draw(PLAN, 3)

    kinds = [f.kind for f in faults]
    assert [kinds.count(kind) for kind in ("kill", "outage", "cut", "delay", "stall")] == [10, 3, 6, 6, 4]
    assert {f.target for f in faults if f.kind == "kill"} <= set(SERVICES)
    assert sorted(f.target for f in faults if f.kind == "outage") == sorted(ENGINES)
    assert {f.target for f in faults if f.kind in ("cut", "delay", "stall")} <= set(LINKS)
    assert all(0.5 <= f.seconds <= 4.0 for f in faults if f.kind == "stall")
    assert all(f.seconds > 0 and 0.02 <= f.value <= 0.25 for f in faults if f.kind == "delay")
    assert [f.at for f in faults] == sorted(f.at for f in faults)
    assert all(f.at >= 30.0 for f in faults)


def test_faults_on_one_target_never_overlap() -> None:
    for seed in range(50):
        lasting = [f for f in draw(PLAN, seed) if f.kind != "kill"]
        for target in {f.target for f in lasting}:
            mine = [f for f in lasting if f.target == target]
            assert all(later.at > earlier.ends for earlier, later in pairwise(mine)), (
                seed,
                mine,
            )
