"""The detector on generated shop traffic: the planted incidents, the quiet night, the static rule."""

from __future__ import annotations

import pytest

from mercato.ops.evaluation import Score, detector_rule, evaluate, static_rule
from mercato.ops.traffic import Traffic, generate


@pytest.fixture(scope="module")
def traffic() -> Traffic:
    return generate(seed=1, days=14)


@pytest.fixture(scope="module")
def detector_result(traffic: Traffic) -> tuple[Score, dict[str, float | None]]:
    return evaluate(traffic, detector_rule())


def test_every_planted_incident_is_caught(detector_result: tuple[Score, dict[str, float | None]]) -> None:
    score, delays = detector_result

    assert sorted(name for name, delay in delays.items() if delay is not None) == [
        "checkout success drop",
        "decline burst",
        "latency spike",
        "slow drift",
    ]
    assert (delays["latency spike"], delays["decline burst"]) == (0.0, 0.0)
    assert score.recall == 1.0


def test_the_quiet_night_does_not_alarm(detector_result: tuple[Score, dict[str, float | None]]) -> None:
    score, _ = detector_result

    assert score.benign_alarms == 0


def test_the_detector_beats_the_static_rule(
    traffic: Traffic, detector_result: tuple[Score, dict[str, float | None]]
) -> None:
    detector, _ = detector_result
    static, _ = evaluate(traffic, static_rule())

    assert detector.recall >= static.recall
    assert detector.false_alarms < static.false_alarms
    assert detector.false_alarms <= 2


def test_the_quiet_night_is_planted_and_benign(traffic: Traffic) -> None:
    night = next(i for i in traffic.incidents if i.name == "quiet night")

    assert (night.series, night.benign, night.end - night.start) == ("orders", True, 6 * 3600.0)
