"""The seasonal forecaster and the scaling replay: a daily peak forecast before it starts, and the
forecast-driven autoscaler under-provisioned for fewer minutes than the reactive one."""

from __future__ import annotations

import math

import httpx
import pytest
from prometheus_client import generate_latest
from typer.testing import CliRunner

from mercato.ops import cli_scaling  # noqa: F401 - registers the commands on ops_app
from mercato.ops.cli import ops_app
from mercato.ops.forecast import HoltWinters, HoltWintersConfig
from mercato.ops.forecaster import Forecaster, ScrapeSource, counter_totals
from mercato.ops.scaling import MINUTES_PER_DAY, ReplicaModel, compare, replay, synthetic_traffic

PERIOD = 48  # a "day" of 48 steps


def daily(step: int) -> float:
    """Quiet, then a sharp peak at step 30 of each day."""
    return 10.0 + (90.0 if 30 <= step % PERIOD < 36 else 0.0)


def test_a_daily_peak_is_forecast_before_it_starts_once_a_day_is_known() -> None:
    model = HoltWinters(HoltWintersConfig(period=PERIOD))
    for step in range(3 * PERIOD + 28):  # three days, then up to two steps before the peak
        model.update(daily(step))

    assert model.seasonal
    assert model.forecast(1) == pytest.approx(10.0, abs=3.0)  # step 28: still quiet
    assert model.forecast(3) == pytest.approx(100.0, abs=10.0)  # step 30: the peak
    assert model.peak(3) == pytest.approx(100.0, abs=10.0)


def test_before_a_whole_season_it_follows_the_level_and_is_not_seasonal() -> None:
    model = HoltWinters(HoltWintersConfig(period=PERIOD))
    for step in range(PERIOD - 1):
        model.update(daily(step))

    assert not model.seasonal
    assert model.forecast(1) < 50.0  # no peak foreseen: nothing says there is one


def test_a_one_off_surge_barely_moves_the_next_day_s_profile() -> None:
    model = HoltWinters(HoltWintersConfig(period=PERIOD))
    for step in range(3 * PERIOD):
        model.update(daily(step))
    for step in range(3 * PERIOD, 3 * PERIOD + 6):  # a surge at steps 0-5 of the fourth day
        model.update(daily(step) + 300.0)
    for step in range(3 * PERIOD + 6, 4 * PERIOD - 1):
        model.update(daily(step))

    assert model.forecast(1) < 60.0  # the fifth day's step 0 is not expected to surge again


def test_forecasts_are_never_negative_and_parameters_are_checked() -> None:
    model = HoltWinters(HoltWintersConfig(period=4))
    for value in (5.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0):
        model.update(value)
    assert all(model.forecast(h) >= 0.0 for h in range(1, 9))
    with pytest.raises(ValueError, match="alpha"):
        HoltWintersConfig(period=4, alpha=1.5)
    with pytest.raises(ValueError, match="season"):
        HoltWintersConfig(period=1)


def test_the_forecaster_publishes_the_peak_over_its_horizon_per_series() -> None:
    forecaster = Forecaster(step=300, horizon=600)

    published = forecaster.feed({"requests": 12.0, "checkouts": 0.5, "unknown": 3.0})

    assert published == {"requests": 12.0, "checkouts": 0.5}
    text = generate_latest(forecaster.registry).decode()
    assert 'mercato_forecast_requests_per_second{horizon="10m"} 12.0' in text
    assert 'mercato_forecast_checkouts_per_second{horizon="10m"} 0.5' in text
    assert 'mercato_forecast_seasonal{series="requests"} 0.0' in text


def test_counter_totals_sum_the_gateway_s_graphql_requests_and_its_checkouts() -> None:
    exposition = "\n".join(
        [
            "# TYPE mercato_http_requests_total counter",
            'mercato_http_requests_total{method="POST",path="/graphql",status="200"} 40',
            'mercato_http_requests_total{method="GET",path="/graphql",status="200"} 2',
            'mercato_http_requests_total{method="GET",path="/metrics",status="200"} 99',
            "# TYPE mercato_checkout_duration_seconds histogram",
            'mercato_checkout_duration_seconds_bucket{status="CONFIRMED",le="+Inf"} 3',
            'mercato_checkout_duration_seconds_count{status="CONFIRMED"} 3',
            'mercato_checkout_duration_seconds_sum{status="CONFIRMED"} 1.5',
            'mercato_checkout_duration_seconds_count{status="REJECTED"} 1',
            "",
        ]
    )

    assert counter_totals(exposition) == {"requests": 42.0, "checkouts": 4.0}


def test_the_synthetic_fortnight_is_deterministic_for_a_seed() -> None:
    first, sale = synthetic_traffic(seed=3)
    again, _ = synthetic_traffic(seed=3)

    assert first == again
    assert len(first) == 14 * MINUTES_PER_DAY
    assert len(sale) == 90
    assert min(first[sale.start + 10 : sale.stop]) > 2 * first[sale.start - 7 * MINUTES_PER_DAY]


def test_the_forecast_driven_autoscaler_is_under_provisioned_for_fewer_minutes() -> None:
    reactive, roomy, forecast = compare(seed=1)

    assert forecast.under_minutes < reactive.under_minutes
    # The daily peaks are met ahead of time; the unannounced flash sale is met as reactively as before.
    assert forecast.under_minutes - forecast.flash_sale_under_minutes == 0
    assert forecast.flash_sale_under_minutes == reactive.flash_sale_under_minutes
    # Fewer than a lower target's replica-hours buy: the forecast adds replicas only before peaks.
    assert reactive.replica_hours < forecast.replica_hours < roomy.replica_hours
    assert forecast.replica_hours < 1.05 * reactive.replica_hours


def test_without_a_season_the_forecast_driven_autoscaler_is_the_reactive_one() -> None:
    traffic, _ = synthetic_traffic(seed=2, days=1)
    model = ReplicaModel()

    alone = replay(traffic, model, use_forecast=False, score_from=0)
    with_forecast = replay(traffic, model, use_forecast=True, score_from=0)

    assert math.isclose(alone.replica_hours, with_forecast.replica_hours)
    assert alone.under_minutes == with_forecast.under_minutes


def test_the_scrape_source_turns_counters_summed_over_processes_into_rates() -> None:
    served = {"a": 0.0, "b": 0.0}

    def answer(request: httpx.Request) -> httpx.Response:
        host = request.url.host
        body = (
            "# TYPE mercato_http_requests_total counter\n"
            f'mercato_http_requests_total{{method="POST",path="/graphql",status="200"}} {served[host]}\n'
        )
        return httpx.Response(200, text=body)

    with httpx.Client(transport=httpx.MockTransport(answer)) as http:
        source = ScrapeSource(http, ["http://a/metrics", "http://b/metrics"])
        assert source.read() == {}  # the first read only sets the baseline
        served.update(a=30.0, b=10.0)
        rates = source.read()

    assert rates["requests"] > 0.0
    assert rates["checkouts"] == 0.0


def test_replay_scaling_prints_one_row_per_autoscaler() -> None:
    result = CliRunner().invoke(ops_app, ["replay-scaling", "--seeds", "1"])

    assert result.exit_code == 0, result.output
    rows = [line for line in result.output.splitlines() if line.startswith("| 1 ")]
    assert [row.split(" | ")[1] for row in rows] == ["reactive", "reactive, 50 %", "forecast + reactive"]
