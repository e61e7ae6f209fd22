"""The detector inside a process: fed the process's own registry, it exports a score per series and
counts and logs each alert, on that same registry."""

from __future__ import annotations

import asyncio
import logging
import math

import pytest
from prometheus_client import generate_latest

from mercato.ops.self_watch import SelfWatch
from mercato.platform.metrics import Metrics

T0 = 1_780_272_000.0


def _sample(metrics: Metrics, name: str, labels: dict[str, str]) -> float | None:
    value = metrics.registry.get_sample_value(name, labels)
    return None if value is None else float(value)


def test_a_burst_of_requests_is_scored_counted_and_logged_on_the_process_registry(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given a process serving a steady stream of requests, watched every minute
    metrics = Metrics(process_collectors=False)
    watch = SelfWatch(metrics, interval=60)
    series = "mercato_http_requests_per_second"
    with caplog.at_level(logging.WARNING, logger="mercato.ops.self_watch"):
        for i in range(300):
            burst = i >= 280
            served = 600 + 60 * math.sin(i / 30) if not burst else 20_000
            metrics.http_requests.labels("POST", "/graphql", "200").inc(served)
            watch.observe(T0 + 60 * i, metrics.exposition().decode())
            if i == 279:
                calm = _sample(metrics, "mercato_anomaly_score", {"series": series})
            if i == 280:
                alarmed = _sample(metrics, "mercato_anomaly_score", {"series": series})

    # Then the score was low before the burst, high when it began, one alert was counted and logged
    assert calm is not None and calm < 0.5
    assert alarmed is not None and alarmed >= 0.5
    assert _sample(metrics, "mercato_anomaly_alerts_total", {"series": series}) == 1
    [line] = [r.getMessage() for r in caplog.records if r.name == "mercato.ops.self_watch"]
    assert line.startswith(f"anomaly: {series} is ") and "above its normal" in line
    # and its own series never feed the detector (they are not among the watched metrics)
    assert not any("anomaly" in s for s in watch.watch.last)


async def test_it_observes_on_its_interval_until_cancelled() -> None:
    metrics = Metrics(process_collectors=False)
    ticks = iter(range(1_000))
    watch = SelfWatch(metrics, interval=0.01, clock=lambda: T0 + 60 * next(ticks))
    metrics.http_in_flight.set(3)

    task = asyncio.create_task(watch.run())
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    exported = generate_latest(metrics.registry).decode()
    assert 'mercato_anomaly_score{series="mercato_http_requests_in_flight"} 0.0' in exported
