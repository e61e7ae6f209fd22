"""The fault runs' schedule (bench/chaos/schedule.py): a seed replays it; faults stay inside the load's
window and never overlap on one target; clock jumps are drawn after the rest, so that a seed's other
faults stay where they were. And the run's options (bench/chaos/options.py): a jump passes the
reservation TTL, and the replay command names what differs from the defaults."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from itertools import pairwise

from bench.chaos.options import Options
from bench.chaos.schedule import CLOCK_TARGET, ENGINES, LINKS, Plan, draw

from mercato.app.launcher import SERVICES

PLAN = Plan(
    budget=300.0,
    kills=10,
    outages=ENGINES,
    outage_seconds=10.0,
    cuts=6,
    delays=6,
    stalls=4,
    clock_jumps=2,
    clock_jump_seconds=150.0,
)


def test_a_seed_replays_the_same_schedule_and_another_seed_draws_another() -> None:
    assert draw(PLAN, 7) == draw(PLAN, 7)
    assert draw(PLAN, 7) != draw(PLAN, 8)


def test_the_schedule_holds_what_the_plan_asks_for_on_real_targets() -> None:
    faults = draw(PLAN, 3)

    kinds = Counter(f.kind for f in faults)
    assert kinds == {"kill": 10, "outage": 3, "cut": 6, "delay": 6, "stall": 4, "clock": 2}
    assert {f.target for f in faults if f.kind == "kill"} <= set(SERVICES)
    assert sorted(f.target for f in faults if f.kind == "outage") == sorted(ENGINES)
    assert {f.target for f in faults if f.kind in ("cut", "delay", "stall")} <= set(LINKS)
    assert all(0.5 <= f.seconds <= 4.0 for f in faults if f.kind == "stall")
    assert all(f.seconds > 0 and 0.02 <= f.value <= 0.25 for f in faults if f.kind == "delay")
    jumps = [f for f in faults if f.kind == "clock"]
    assert [(f.target, f.value, f.seconds) for f in jumps] == [(CLOCK_TARGET, 150.0, 0.0)] * 2
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


def test_clock_jumps_leave_the_rest_of_a_seeds_schedule_where_it_was() -> None:
    without = replace(PLAN, clock_jumps=0)

    drawn = draw(PLAN, 5)

    assert [f for f in drawn if f.kind != "clock"] == draw(without, 5)


def test_a_runs_clock_jump_passes_the_reservation_ttl_and_its_replay_names_the_changes() -> None:
    options = Options(seed=9, budget=60.0, orders=100, reservation_ttl_seconds=40, clock_jumps=2)

    plan = options.plan()

    assert (plan.clock_jumps, plan.clock_jump_seconds) == (2, 70)
    assert Options().plan().clock_jumps == 1  # in every run unless asked otherwise
    assert options.command() == (
        'make chaos ARGS="--seed 9 --budget 60 --orders 100 --clock-jumps 2 --reservation-ttl 40"'
    )
    assert Options(private=("nats", "redis")).command().endswith('--private nats,redis"')
