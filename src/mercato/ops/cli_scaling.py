"""`mercato ops forecast` (the forecaster the autoscaler reads) and `mercato ops replay-scaling` (the
forecast-driven HPA against the reactive one on a synthetic fortnight). Registered on `ops_app`."""

from __future__ import annotations

import time
from typing import Annotated

import httpx
import typer
from prometheus_client import start_http_server

from mercato.ops.cli import ops_app
from mercato.ops.forecaster import Forecaster, PrometheusSource, RateSource, ScrapeSource
from mercato.ops.scaling import MINUTES_PER_DAY, ReplicaModel, compare, synthetic_traffic


@ops_app.command("forecast")
def forecast_command(
    urls: Annotated[
        list[str] | None, typer.Argument(help="/metrics URLs to scrape (without --prometheus).")
    ] = None,
    prometheus: Annotated[
        str | None, typer.Option(help="Prometheus base URL: read the rates summed over every replica.")
    ] = None,
    step: Annotated[float, typer.Option(min=10, help="Seconds per forecast step.")] = 300.0,
    horizon: Annotated[float, typer.Option(min=10, help="Seconds ahead the published peak covers.")] = 600.0,
    history_days: Annotated[float, typer.Option(min=0, help="Days to warm up from (--prometheus).")] = 8.0,
    port: Annotated[int, typer.Option(help="Port of this forecaster's /metrics.")] = 9109,
    steps: Annotated[int | None, typer.Option(help="Stop after this many steps (default: never).")] = None,
) -> None:
    """Forecast the request and checkout rates and publish them on /metrics for the autoscaler."""
    if not urls and not prometheus:
        typer.echo("error: give /metrics URLs or --prometheus URL", err=True)
        raise typer.Exit(1)
    forecaster = Forecaster(step, horizon)
    start_http_server(port, registry=forecaster.registry)
    typer.echo(f"forecaster on :{port}/metrics, a step every {step:g} s", err=True)
    with httpx.Client(timeout=10.0) as http:
        source: RateSource
        if prometheus:
            source = PrometheusSource(http, prometheus, step)
            if history_days:
                try:
                    forecaster.warm_up(source.history(history_days, time.time()))
                except (httpx.HTTPError, KeyError, IndexError, ValueError) as exc:
                    typer.echo(f"warning: no history from {prometheus}: {exc}", err=True)
        else:
            source = ScrapeSource(http, urls or [])
        done = 0
        while steps is None or done < steps:
            try:
                published = forecaster.feed(source.read())
            except (httpx.HTTPError, KeyError, IndexError, ValueError) as exc:
                typer.echo(f"warning: cannot read the rates: {exc}", err=True)
            else:
                if published:
                    shown = ", ".join(f"{k} {v:.3g}/s" for k, v in published.items())
                    typer.echo(f"forecast ({forecaster.horizon} ahead): {shown}", err=True)
            done += 1
            if steps is None or done < steps:
                time.sleep(step)


@ops_app.command("replay-scaling")
def replay_scaling_command(
    seeds: Annotated[int, typer.Option(min=1, help="Synthetic fortnights to replay.")] = 3,
) -> None:
    """Minutes under-provisioned and replica-hours of the reactive HPA and the forecast-driven one."""
    model = ReplicaModel()
    typer.echo(
        f"replica: {model.capacity:g} req/s at 100 %, target {model.target:.0%}, ready {model.startup} min "
        f"after the decision, metric lag {model.metric_lag} min, scale-down stabilisation "
        f"{model.stabilization} min; forecast step {model.step} min, horizon {model.horizon} min\n"
    )
    typer.echo(
        "| seed | autoscaler | minutes under-provisioned (flash sale) | requests over capacity "
        "| replica-hours |"
    )
    typer.echo("|---|---|---|---|---|")
    for seed in range(1, seeds + 1):
        traffic, _ = synthetic_traffic(seed)
        peak = max(traffic[7 * MINUTES_PER_DAY :])
        for outcome in compare(seed, model):
            typer.echo(
                f"| {seed} (peak {peak:.0f}/s) | {outcome.name} | {outcome.under_minutes} "
                f"({outcome.flash_sale_under_minutes}) | {outcome.dropped_share:.3%} "
                f"| {outcome.replica_hours:.0f} |"
            )
