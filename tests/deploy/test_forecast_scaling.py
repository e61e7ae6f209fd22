"""Anticipatory scaling in the chart: the forecaster (`mercato ops forecast`) and the gateway's HPA on
its External metric, off by default; the CPU and in-flight autoscaling stays as it was."""

from __future__ import annotations

from typing import Any

import helm_python as helm
import pytest
import yaml

from tests.deploy.chartcheck import CHART, FORECAST_OVERLAY, Manifest, check, component, load_values, render


def _render(overlay: dict[str, Any] | None = None, values_file: str = "values.yaml") -> list[Manifest]:
    return render(load_values(values_file, overlay=overlay))


def _of(manifests: list[Manifest], kind: str) -> dict[str | None, Manifest]:
    return {component(m): m for m in manifests if m.kind == kind}


def test_by_default_there_is_no_forecaster_and_the_gateway_scales_on_cpu_and_in_flight_only() -> None:
    manifests = _render()

    assert "forecaster" not in _of(manifests, "Deployment")
    gateway = _of(manifests, "HorizontalPodAutoscaler")["gateway"]
    assert [m["type"] for m in gateway.body["spec"]["metrics"]] == ["Resource", "Pods"]


def test_with_forecast_scaling_the_gateway_hpa_adds_the_forecast_as_an_external_metric() -> None:
    manifests = _render(FORECAST_OVERLAY, "values-prod.yaml")

    hpas = _of(manifests, "HorizontalPodAutoscaler")
    metrics = hpas["gateway"].body["spec"]["metrics"]
    assert [m["type"] for m in metrics] == ["Resource", "Pods", "External"]
    assert metrics[2]["external"] == {
        "metric": {
            "name": "mercato_forecast_requests_per_second",
            "selector": {"matchLabels": {"horizon": "10m"}},
        },
        "target": {"type": "AverageValue", "averageValue": "35"},
    }
    # Only the gateway scales on it; the contexts keep their metrics.
    assert all(
        m["type"] != "External"
        for name, h in hpas.items()
        if name != "gateway"
        for m in h.body["spec"]["metrics"]
    )


def test_the_forecaster_reads_prometheus_and_is_reachable_only_by_monitoring() -> None:
    manifests = _render(FORECAST_OVERLAY)
    values = yaml.safe_load((CHART / "values.yaml").read_text())

    deployment = _of(manifests, "Deployment")["forecaster"]
    [container] = deployment.body["spec"]["template"]["spec"]["containers"]
    assert container["args"] == [
        "ops",
        "forecast",
        "--prometheus",
        "http://prometheus-operated.monitoring:9090",
        "--step",
        "300",
        "--horizon",
        "600",
        "--history-days",
        "8",
        "--port",
        "9109",
    ]
    assert "env" not in container and "envFrom" not in container  # no engine, no Secret
    assert deployment.body["spec"]["replicas"] == 1
    policy = next(p for p in manifests if p.kind == "NetworkPolicy" and p.name.endswith("-forecaster")).body[
        "spec"
    ]
    assert policy["ingress"] == [
        {"ports": [{"port": 9109, "protocol": "TCP"}], "from": values["networkPolicy"]["metricsFrom"]}
    ]
    assert policy["egress"] == [{"ports": [{"port": 9090, "protocol": "TCP"}]}]
    annotations = deployment.body["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == "9109"


@pytest.mark.parametrize("values_file", ["values.yaml", "values-prod.yaml"])
def test_the_forecast_scaling_manifests_meet_the_schemas_and_policies(values_file: str) -> None:
    report = check(f"{values_file} + forecast", load_values(values_file, overlay=FORECAST_OVERLAY))

    assert report.problems == []
    assert "forecaster" in {component(m) for m in report.manifests}


def test_the_forecast_metric_without_the_forecaster_is_refused() -> None:
    with pytest.raises(helm.HelmError, match=r"needs forecaster\.enabled"):
        _render({"gateway": {"autoscaling": {"forecast": {"enabled": True}}}})
