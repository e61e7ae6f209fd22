"""The streaming detector: no look-ahead, warm-up, any sampling, scores in [0, 1]."""

from __future__ import annotations

import math
import random

import pytest

from mercato.ops.anomaly import Detector, DetectorConfig, detect

T0 = 1_780_272_000.0  # a Monday, 00:00 UTC


def noisy(n: int, interval: float, seed: int = 3, level: float = 100.0) -> list[tuple[float, float]]:
    rng = random.Random(seed)
    return [
        (
            T0 + i * interval,
            level * (1 + 0.3 * math.sin(2 * math.pi * i * interval / 86400)) + rng.gauss(0, 2),
        )
        for i in range(n)
    ]


def alert_rows(samples: list[tuple[float, float]]) -> list[int]:
    return [i for i, reading in enumerate(detect(samples)) if reading.alert]


def test_a_row_is_scored_from_the_rows_before_it_only() -> None:
    samples = noisy(3000, 300.0)
    changed = samples[:2000] + [(t, x * 5 + 1000) for t, x in samples[2000:]]

    original, altered = detect(samples), detect(changed)

    assert original[:2000] == altered[:2000]
    assert original[2000:] != altered[2000:]


def test_a_spike_is_caught_at_any_sampling_interval() -> None:
    for interval, n in ((60.0, 6000), (300.0, 3000), (3600.0, 24 * 30)):
        samples = noisy(n, interval)
        at = n - 50
        samples[at] = (samples[at][0], samples[at][1] + 60)

        assert alert_rows(samples) == [at], interval


def test_a_dip_and_a_level_shift_are_caught() -> None:
    samples = noisy(3000, 300.0)
    samples[2100] = (samples[2100][0], samples[2100][1] - 50)
    shifted = samples[:2500] + [(t, x + 25) for t, x in samples[2500:]]

    assert alert_rows(shifted) == [2100, 2500]


def test_a_slow_drift_is_caught_while_it_is_still_small() -> None:
    samples = noisy(4000, 300.0)
    # +30 over 8 hours (96 samples) on a series whose noise is 2.
    drifting = samples[:3000] + [(t, x + min(96, i) * 30 / 96) for i, (t, x) in enumerate(samples[3000:])]

    alerts = alert_rows(drifting)

    assert len(alerts) == 1
    assert 3000 < alerts[0] < 3096


def test_nothing_alarms_during_the_warm_up() -> None:
    samples = noisy(200, 300.0)
    samples[20] = (samples[20][0], 10_000.0)

    readings = detect(samples)

    assert [r.score for r in readings[:50]] == [0.0] * 50
    assert not any(r.alert for r in readings)


def test_scores_stay_in_the_unit_interval_on_wild_input() -> None:
    rng = random.Random(5)
    samples = [(T0 + i * 60, rng.choice([0.0, 1e12, -1e12, rng.gauss(0, 1)])) for i in range(2000)]

    assert all(0.0 <= r.score <= 1.0 for r in detect(samples))


def test_a_flat_line_that_moves_is_caught() -> None:
    samples = [(T0 + i * 60, 5.0) for i in range(500)] + [(T0 + (500 + i) * 60, 7.0) for i in range(50)]

    assert alert_rows(samples) == [500]


def test_irregular_sampling_with_a_gap_does_not_alarm() -> None:
    rng = random.Random(8)
    t, samples = T0, []
    for i in range(3000):
        t += rng.uniform(30, 600) + (6 * 3600 if i == 2000 else 0)
        samples.append((t, 50 + 10 * math.sin(2 * math.pi * t / 86400) + rng.gauss(0, 1)))

    assert alert_rows(samples) == []


def test_the_interval_and_period_are_inferred_from_the_timestamps() -> None:
    detector = Detector()
    for t, x in noisy(100, 300.0):
        detector.update(t, x)

    assert (detector.interval, detector.period_samples) == (300.0, 288)


def test_time_must_move_forward() -> None:
    detector = Detector()
    detector.update(T0, 1.0)

    with pytest.raises(ValueError, match="strictly increasing"):
        detector.update(T0, 2.0)


def test_one_alert_per_episode() -> None:
    samples = noisy(3000, 300.0)
    for i in range(2500, 2520):
        samples[i] = (samples[i][0], samples[i][1] + 80)

    assert alert_rows(samples) == [2500]


def test_the_threshold_is_configurable() -> None:
    samples = noisy(3000, 300.0)
    samples[2500] = (samples[2500][0], samples[2500][1] + 14)

    strict = [i for i, r in enumerate(detect(samples, DetectorConfig(threshold=0.05))) if r.alert]

    assert 2500 in strict
    assert 2500 not in alert_rows(samples)
