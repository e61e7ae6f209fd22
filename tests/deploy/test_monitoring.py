"""Prometheus rules and Grafana dashboards: every expression parses and names series the code exports;
promtool's checks; rule unit tests on a synthetic shop (each SLO alert fires on a planted burn and
stays silent on normal traffic); the chart and the compose stack ship the same files."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import promql_parser as pq
import pytest
import yaml

from mercato.platform import business_metrics as bm
from tests.deploy import shop
from tests.deploy.chartcheck import SERVICE_MONITOR_OVERLAY, load_values, render
from tests.deploy.monitoring import (
    DASHBOARD_FILES,
    ROOT,
    RULE_FILES,
    SEVERITIES,
    dashboard_exprs,
    dashboards,
    exported,
    naming_problems,
    panels,
    recorded_names,
    rule_exprs,
    rule_groups,
)
from tests.deploy.promql import Store, Unsupported, duration, evaluate
from tests.deploy.shop import HOUR, MINUTE, Sample

GROUPS = [group for _, group in rule_groups()]
RULES = [rule for group in GROUPS for rule in group["rules"]]
ALERTS = {rule["alert"]: rule for rule in RULES if "alert" in rule}
NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")


def test_the_committed_rules_and_dashboards_are_what_the_generator_writes() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "deploy/scripts/monitoring.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_there_are_rules_and_dashboards() -> None:
    assert [p.name for p in RULE_FILES] == ["mercato-rules.yaml"]
    assert {p.name for p in DASHBOARD_FILES} == {
        "mercato-red.json",
        "mercato-business.json",
        "mercato-saga.json",
        "mercato-broker.json",
        "mercato-engines.json",
    }


@pytest.mark.parametrize("kind", ["rules", "dashboards"])
def test_every_expression_parses_and_names_series_the_code_exports(kind: str) -> None:
    exprs = rule_exprs() if kind == "rules" else dashboard_exprs()
    known, recorded = exported(), recorded_names()
    problems = []
    for where, expr in exprs:
        try:
            pq.parse(expr)
        except (ValueError, RuntimeError) as exc:
            problems.append(f"{where}: does not parse: {exc}")
            continue
        problems += naming_problems(where, expr, known, recorded)
    assert len(exprs) > 30
    assert problems == []


def test_the_name_check_catches_what_the_code_does_not_export() -> None:
    known, recorded = exported(), recorded_names()

    problems = naming_problems(
        "probe",
        'sum(rate(mercato_orders_placed_total[5m])) + sum(mercato_orders_total{reason="x"})'
        ' + sum(mercato_checkout_duration_seconds_bucket{le="0.3"})',
        known,
        recorded,
    )

    assert problems == [
        "probe: 'mercato_orders_placed_total' is not exported by the code",
        "probe: mercato_orders_total has no label 'reason'",
        "probe: mercato_checkout_duration_seconds_bucket has no bucket le='0.3' "
        f"({sorted(known['mercato_checkout_duration_seconds_bucket'].le)})",
    ]


def test_rules_pass_promtools_checks() -> None:
    """What `promtool check rules` checks, plus the conventions alerts are routed by."""
    group_names = [group["name"] for group in GROUPS]
    assert len(group_names) == len(set(group_names))
    alert_names = [rule["alert"] for rule in RULES if "alert" in rule]
    assert len(alert_names) == len(set(alert_names))
    for group in GROUPS:
        if "interval" in group:
            assert duration(group["interval"]) > 0
        for rule in group["rules"]:
            assert ("record" in rule) != ("alert" in rule), rule
            assert set(rule) <= {"record", "alert", "expr", "for", "labels", "annotations", "keep_firing_for"}
            name = rule.get("record") or rule["alert"]
            assert NAME.match(name), name
            for label in rule.get("labels") or {}:
                assert NAME.match(label) and not label.startswith("__"), (name, label)
            if "record" in rule:
                assert ":" in rule["record"], f"{name}: recorded names are level:metric:operations"
                assert "annotations" not in rule and "for" not in rule, name
                continue
            duration(rule.get("for", "0s"))  # absent: fires at once
            assert rule["labels"]["severity"] in SEVERITIES, name
            assert set(rule["annotations"]) >= {"summary", "description"}, name
            for text in rule["annotations"].values():
                assert text.count("{{") == text.count("}}"), f"{name}: unbalanced template"
                for variable in re.findall(r"\$labels\.(\w+)", text):
                    assert variable in _result_labels(rule["expr"]), f"{name}: no label {variable} to show"


def _result_labels(expr: str) -> set[str]:
    """Labels an alert's result can carry: the `by` labels of its aggregations, or its selectors'."""
    found: set[str] = set()

    def visit(node: Any) -> bool:
        if type(node).__name__ == "AggregateExpr" and node.modifier is not None:
            found.update(node.modifier.labels)
        if type(node).__name__ == "VectorSelector":
            found.update({"job", "instance", "component"})
        return True

    pq.walk(pq.parse(expr), visit, None)
    return found


def test_dashboards_are_well_formed_for_grafana() -> None:
    uids = [board["uid"] for _, board in dashboards()]
    assert len(uids) == len(set(uids))
    for path, board in dashboards():
        assert board["title"].startswith("Mercato / "), path
        [variable] = board["templating"]["list"]
        assert (variable["name"], variable["type"], variable["query"]) == (
            "datasource",
            "datasource",
            "prometheus",
        )
        ids = [panel["id"] for panel in panels(board)]
        assert len(ids) == len(set(ids)), path
        for panel in panels(board):
            grid = panel["gridPos"]
            assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, (path, panel["title"])
            if panel["type"] == "row":
                continue
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
            assert panel["targets"], panel["title"]
            refs = [target["refId"] for target in panel["targets"]]
            assert len(refs) == len(set(refs)), panel["title"]


def test_every_dashboard_panel_shows_data_for_a_busy_shop() -> None:
    """Evaluated over an hour of the synthetic shop (with a dead letter, so that panel has one)."""

    def busy(t: float) -> Sample:
        sample = Sample()
        shop.healthy(sample, t)
        sample.count("mercato_consumer_dead_letters_total", 0.001, consumer="orders_saga")
        sample.count("mercato_payment_declines_total", 0.05, code="card_declined")
        sample.count("mercato_orders_rejected_total", 0.05, reason="PAYMENT_DECLINED")
        sample.count("mercato_stock_outs_total", 0.01)
        sample.count("mercato_reservations_released_total", 0.01, status="EXPIRED")
        sample.count("mercato_response_cache_requests_total", 5.0, result="hit")
        sample.count("mercato_response_cache_requests_total", 1.0, result="miss")
        sample.count("mercato_domain_events_total", 0.5, type="orders.order_placed")
        sample.count(
            "mercato_grpc_requests_total", 3.0, service="mercato.orders.v1.Orders", method="Get", code="OK"
        )
        sample.count(
            "mercato_grpc_requests_total",
            0.1,
            service="mercato.orders.v1.Orders",
            method="Get",
            code="UNAVAILABLE",
        )
        sample.histogram(bm.checkout_duration, 0.01, 0.0, 5.5, 5.5, status="PENDING")
        sample.count("mercato_http_requests_total", 20.0, method="POST", path="/graphql", status="200")
        sample.gauge("mercato_http_requests_in_flight", 2.0, component="gateway")
        sample.gauge("mercato_grpc_requests_in_flight", 1.0, component="orders")
        sample.count("process_cpu_seconds_total", 0.2, component="orders")
        sample.gauge("process_resident_memory_bytes", 1e8, component="orders")
        return sample

    # The HTTP and gRPC histograms: the real ones' buckets, observed alike.
    from mercato.platform.metrics import Metrics

    metrics = Metrics(process_collectors=False)

    def busier(t: float) -> Sample:
        sample = busy(t)
        sample.histogram(metrics.http_duration, 20.0, 0.01, 0.02, 0.6, method="POST", path="/graphql")
        sample.histogram(
            metrics.grpc_duration, 3.0, 0.0, 0.004, 0.004, service="mercato.orders.v1.Orders", method="Get"
        )
        return sample

    result = shop.run(GROUPS, busier, 26 * HOUR // 24)  # past an hour: the SLO recordings exist
    empty = []
    for where, expr in dashboard_exprs():
        try:
            value = evaluate(pq.parse(expr), result.store, 26 * HOUR // 24)
        except Unsupported as exc:
            empty.append(f"{where}: {exc}")
            continue
        if isinstance(value, dict) and not value:
            empty.append(f"{where}: no data")
    assert empty == []


# --- rule unit tests: the SLO alerts ----------------------------------------------------------------

SLOS = sorted({rule["labels"]["slo"] for rule in RULES if "slo" in (rule.get("labels") or {})})


def _budget(slo: str) -> float:
    """The error budget (1 - objective) the slow alert's threshold is 6x of, read from the rule."""
    [rule] = [
        r for r in ALERTS.values() if r["labels"].get("slo") == slo and r["labels"]["severity"] == "warning"
    ]
    [threshold] = re.findall(r"> \(6\.0 \* ([0-9.]+)\)", rule["expr"])[:1]
    return float(threshold)


def _slo_traffic(slo: str, bad: Callable[[float], float]) -> shop.Scenario:
    """Traffic on the SLI of `slo` whose bad fraction at time t is bad(t); nothing else."""

    def scenario(t: float) -> Sample:
        sample = Sample()
        b = bad(t)
        if slo == "storefront-availability":
            sample.count(
                "mercato_graphql_operations_total", 20 * (1 - b), type="query", field="products", outcome="ok"
            )
            sample.count(
                "mercato_graphql_operations_total", 20 * b, type="query", field="products", outcome="error"
            )
        elif slo == "storefront-latency":
            sample.histogram(bm.graphql_duration, 20.0, b, 0.02, 0.8, type="query", field="products")
        elif slo == "checkout-availability":
            # Bad checkouts are answered PENDING (no server error at all): the ratio must still count them.
            sample.count(
                "mercato_graphql_operations_total",
                2.0,
                type="mutation",
                field="checkoutComplete",
                outcome="ok",
            )
            sample.histogram(bm.checkout_duration, 2 * (1 - b), 0.0, 0.3, 0.3, status="CONFIRMED")
            sample.histogram(bm.checkout_duration, 2 * b, 0.0, 5.2, 5.2, status="PENDING")
        elif slo == "checkout-latency":
            sample.histogram(bm.checkout_duration, 2.0, b, 0.3, 3.0, status="CONFIRMED")
        else:
            raise AssertionError(f"no synthetic traffic for SLO {slo}")
        return sample

    return scenario


def _alerts_of(slo: str) -> tuple[str, str]:
    names = [name for name, rule in ALERTS.items() if rule["labels"].get("slo") == slo]
    [fast] = [n for n in names if ALERTS[n]["labels"]["severity"] == "critical"]
    [slow] = [n for n in names if ALERTS[n]["labels"]["severity"] == "warning"]
    return fast, slow


def test_every_slo_has_a_fast_and_a_slow_burn_alert() -> None:
    assert SLOS == [
        "checkout-availability",
        "checkout-latency",
        "storefront-availability",
        "storefront-latency",
    ]
    for slo in SLOS:
        fast, slow = _alerts_of(slo)
        assert (
            "slo:error_ratio:rate1h" in ALERTS[fast]["expr"]
            and "slo:error_ratio:rate5m" in ALERTS[fast]["expr"]
        )
        assert "14.4 *" in ALERTS[fast]["expr"]
        assert (
            "slo:error_ratio:rate6h" in ALERTS[slow]["expr"]
            and "slo:error_ratio:rate30m" in ALERTS[slow]["expr"]
        )
        assert "6.0 *" in ALERTS[slow]["expr"]


@pytest.mark.parametrize("slo", SLOS)
def test_a_fast_burn_pages_within_minutes_and_clears_soon_after_it_stops(slo: str) -> None:
    budget = _budget(slo)
    start, stop = 1 * HOUR, 1 * HOUR + 40 * MINUTE

    # Given an hour of normal traffic (a fifth of the budget), then 40 minutes at 50x the budget.
    def bad(t: float) -> float:
        return 50 * budget if start <= t < stop else 0.2 * budget

    result = shop.run(GROUPS, _slo_traffic(slo, bad), stop + 30 * MINUTE, only=set(_alerts_of(slo)))
    fast, _ = _alerts_of(slo)

    # Then the page fires about 20 minutes in (the 1 h window reaching 14.4x) and not before.
    first = result.first(fast)
    assert first is not None and start < first <= start + 25 * MINUTE
    # And clears within 10 minutes of the end: the 5-minute window drops, though the hour is still bad.
    last = result.last(fast)
    assert last is not None and stop <= last <= stop + 10 * MINUTE
    hour_ratio = evaluate(pq.parse(f'slo:error_ratio:rate1h{{slo="{slo}"}}'), result.store, last + 2 * MINUTE)
    assert isinstance(hour_ratio, dict) and next(iter(hour_ratio.values())) > 14.4 * budget


@pytest.mark.parametrize("slo", SLOS)
def test_a_slow_burn_opens_a_ticket_and_does_not_page(slo: str) -> None:
    budget = _budget(slo)
    start = 6 * HOUR  # a full 6 h window of normal traffic first: a younger one would only hold less

    # Given 8x the budget from then on, after six hours at a fifth of it.
    def bad(t: float) -> float:
        return 8 * budget if t >= start else 0.2 * budget

    result = shop.run(GROUPS, _slo_traffic(slo, bad), start + 5 * HOUR, only=set(_alerts_of(slo)))
    fast, slow = _alerts_of(slo)

    # Then the 6 h window crosses 6x after 4.5 h (plus its 15 minutes `for`); the page never fires.
    first = result.first(slow)
    assert first is not None and start + 4 * HOUR < first <= start + 5 * HOUR
    assert result.first(fast) is None


def test_a_healthy_shop_raises_no_alert_at_all() -> None:
    def normal(t: float) -> Sample:
        sample = Sample()
        shop.healthy(sample, t)
        return sample

    result = shop.run(GROUPS, normal, 7 * HOUR)

    assert result.firing == {}
    # The SLO recordings were there all along (silence is not for want of data).
    ratios = evaluate(pq.parse("slo:error_ratio:rate6h"), result.store, 7 * HOUR)
    assert isinstance(ratios, dict) and len(ratios) == len(SLOS)


# --- rule unit tests: the operations alerts ---------------------------------------------------------

INCIDENT = 30 * MINUTE


def _after(change: Callable[[Sample, float], None]) -> shop.Scenario:
    """The healthy shop, with `change` applied from INCIDENT on."""

    def scenario(t: float) -> Sample:
        sample = Sample()
        shop.healthy(sample, t)
        if t >= INCIDENT:
            change(sample, t)
        return sample

    return scenario


def _dead_letter(sample: Sample, t: float) -> None:
    if t == INCIDENT:  # one message parked, once
        sample.count("mercato_consumer_dead_letters_total", 1 / shop.SCRAPE, consumer="orders_saga")


def _relay_stopped(sample: Sample, t: float) -> None:
    sample.gauge("mercato_outbox_oldest_pending_age_seconds", t - INCIDENT + 0.4, context="orders")


def _saga_stuck(sample: Sample, t: float) -> None:
    sample.rates[("mercato_orders_total", frozenset({("event", "confirmed")}))] = 0.0
    sample.rates[("mercato_orders_total", frozenset({("event", "rejected")}))] = 0.0


def _consumer_falls_behind(sample: Sample, t: float) -> None:
    sample.gauge(
        "mercato_consumer_pending_messages",
        3 + 2 * (t - INCIDENT),
        stream="NS_ORDERS",
        consumer="orders_saga",
    )


def _pool_exhausted(sample: Sample, t: float) -> None:
    target = {"job": "mercato", "instance": "orders:8000", "component": "orders"}
    sample.gauge("mercato_db_pool_connections", 10.0, state="in_use", **target)
    sample.gauge("mercato_db_pool_connections", 0.0, state="idle", **target)


def _process_down(sample: Sample, t: float) -> None:
    sample.gauge("up", 0.0, job="mercato", instance="orders:8000", component="orders")


def _redelivery_loop(sample: Sample, t: float) -> None:
    sample.count("mercato_consumer_redeliveries_total", 2.0, consumer="orders_saga")


def _saga_stuck_at_a_step(sample: Sample, t: float) -> None:
    sample.gauge("mercato_saga_stuck_oldest_seconds", 60 + t - INCIDENT, step="charge_payment")
    sample.gauge("mercato_sagas_stuck", 1.0, step="charge_payment", age="5m_1h")


def _watchdog_gives_up(sample: Sample, t: float) -> None:
    if t == INCIDENT:
        sample.count("mercato_self_heal_actions_total", 1 / shop.SCRAPE, action="give_up", component="orders")


def _provider_failing(sample: Sample, t: float) -> None:
    sample.count("mercato_payment_errors_total", 0.05, operation="capture", code="PROVIDER_ERROR")


OPERATIONS = [
    # (alert, what happens at INCIDENT, latest it may fire after INCIDENT)
    ("MercatoDeadLetters", _dead_letter, 2 * MINUTE),
    ("MercatoOutboxEventsLate", _relay_stopped, 7 * MINUTE),
    ("MercatoOutboxEventsStuck", _relay_stopped, 22 * MINUTE),
    ("MercatoSagasStalled", _saga_stuck, 22 * MINUTE),
    ("MercatoConsumerLagGrowing", _consumer_falls_behind, 18 * MINUTE),
    ("MercatoConsumerLagHigh", _consumer_falls_behind, 20 * MINUTE),
    ("MercatoDatabasePoolSaturated", _pool_exhausted, 12 * MINUTE),
    ("MercatoProcessDown", _process_down, 7 * MINUTE),
    ("MercatoRedeliveriesHigh", _redelivery_loop, 22 * MINUTE),
    ("MercatoPaymentProviderErrors", _provider_failing, 12 * MINUTE),
    ("MercatoSagasStuck", _saga_stuck_at_a_step, 12 * MINUTE),
    ("MercatoSelfHealGaveUp", _watchdog_gives_up, 2 * MINUTE),
]


def test_every_operations_alert_has_a_unit_test() -> None:
    slo_alerts = {name for name, rule in ALERTS.items() if "slo" in rule["labels"]}
    assert {name for name, _, _ in OPERATIONS} == set(ALERTS) - slo_alerts


@pytest.mark.parametrize(("alert", "change", "within"), OPERATIONS, ids=[a for a, _, _ in OPERATIONS])
def test_an_operations_alert_fires_on_its_incident_only(
    alert: str, change: Callable[[Sample, float], None], within: float
) -> None:
    result = shop.run(GROUPS, _after(change), INCIDENT + within + 5 * MINUTE, only={alert})

    first = result.first(alert)
    assert first is not None and INCIDENT <= first <= INCIDENT + within


# --- shipped alike by the chart and the compose stack -----------------------------------------------


def test_the_chart_ships_the_rules_and_dashboards_as_they_are_in_its_files() -> None:
    manifests = render(load_values("values-prod.yaml", overlay=SERVICE_MONITOR_OVERLAY))
    [rule] = [m for m in manifests if m.kind == "PrometheusRule"]
    [boards] = [m for m in manifests if m.kind == "ConfigMap" and m.name.endswith("-dashboards")]

    assert rule.body["spec"] == yaml.safe_load(RULE_FILES[0].read_text())
    assert boards.body["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert boards.body["data"] == {path.name: path.read_text() for path in DASHBOARD_FILES}
    [monitor] = [m for m in manifests if m.kind == "ServiceMonitor"]
    [relabel] = monitor.body["spec"]["endpoints"][0]["relabelings"]
    assert relabel["targetLabel"] == "component"  # what the rules and dashboards group by


def test_the_chart_ships_no_monitoring_resources_unless_asked() -> None:
    manifests = render(load_values("values.yaml"))

    assert [m for m in manifests if m.kind == "PrometheusRule"] == []
    assert [m for m in manifests if m.name.endswith("-dashboards")] == []


def test_compose_prometheus_and_grafana_load_the_charts_files() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    config = yaml.safe_load((ROOT / "deploy/compose/prometheus.yml").read_text())
    provider = yaml.safe_load(
        (ROOT / "deploy/compose/grafana/provisioning/dashboards/mercato.yml").read_text()
    )

    prometheus_mounts = dict(v.split(":")[:2] for v in compose["services"]["prometheus"]["volumes"])
    rules_dir = prometheus_mounts["./deploy/helm/mercato/files/prometheus"]
    assert config["rule_files"] == [f"{rules_dir}/*.yaml"]
    grafana_mounts = dict(v.split(":")[:2] for v in compose["services"]["grafana"]["volumes"])
    [mercato] = provider["providers"]
    assert grafana_mounts["./deploy/helm/mercato/files/dashboards"] == mercato["options"]["path"]
    assert grafana_mounts["./deploy/compose/grafana/provisioning"] == "/etc/grafana/provisioning"


def test_the_evaluator_refuses_what_it_does_not_implement() -> None:
    with pytest.raises(Unsupported):
        evaluate(pq.parse("topk(3, up)"), Store(), 0.0)
