"""Generate Mercato's Prometheus rules and Grafana dashboards (`make monitoring`; never edit the output).

Writes, inside the Helm chart so that `.Files.Get` can read them and compose mounts the same files:
- `deploy/helm/mercato/files/prometheus/mercato-rules.yaml`: recording rules and multi-window,
  multi-burn-rate SLO alerts (the Google SRE workbook's, chapter "Alerting on SLOs": a 1 h window
  confirmed by a 5 min one at 14.4x the budget's burn, 6 h by 30 min at 6x), and the alerts on the
  outbox, the consumers, the sagas and the engines;
- `deploy/helm/mercato/files/dashboards/*.json`: RED per operation, business, saga, broker, engines.

`--check` exits 1 if the committed files differ from what this script writes (tests/deploy).
Every expression here names only metrics the code exports: tests/deploy/test_monitoring.py checks.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
FILES = ROOT / "deploy" / "helm" / "mercato" / "files"
RULES_FILE = FILES / "prometheus" / "mercato-rules.yaml"
DASHBOARDS = FILES / "dashboards"


# --- SLOs -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Slo:
    name: str  # the `slo` label of its recording rules and alerts
    alert: str  # alert name prefix
    objective: float  # fraction of good events over 30 days
    what: str  # for humans: what a bad event is
    errors: str  # PromQL: bad events per second over the window `{w}`
    total: str  # PromQL: all events per second over `{w}`

    def ratio(self, window: str) -> str:
        # No bad event series yet (a new process): `or vector(0)`, so the ratio is 0, not absent.
        # No traffic: the division is empty and nothing fires (0/0 is NaN, never above a threshold).
        errors = self.errors.replace("{w}", window)
        return f"(\n  {errors}\n  or vector(0)\n)\n/\n{self.total.replace('{w}', window)}"


GRAPHQL = "mercato_graphql_operations_total"
GRAPHQL_SECONDS = "mercato_graphql_operation_duration_seconds"
CHECKOUT_SECONDS = "mercato_checkout_duration_seconds"
CHECKOUT = 'field="checkoutComplete"'

SLOS = (
    Slo(
        "storefront-availability",
        "MercatoStorefrontAvailability",
        0.999,
        "a GraphQL query that failed through the server's fault (outcome error: internal, unavailable)",
        f'sum(rate({GRAPHQL}{{type="query",outcome="error"}}[{{w}}]))',
        f'sum(rate({GRAPHQL}{{type="query"}}[{{w}}]))',
    ),
    Slo(
        "storefront-latency",
        "MercatoStorefrontLatency",
        0.99,
        "a GraphQL query slower than 0.5 s",
        f'sum(rate({GRAPHQL_SECONDS}_count{{type="query"}}[{{w}}]))\n'
        f'  - sum(rate({GRAPHQL_SECONDS}_bucket{{type="query",le="0.5"}}[{{w}}]))',
        f'sum(rate({GRAPHQL_SECONDS}_count{{type="query"}}[{{w}}]))',
    ),
    Slo(
        "checkout-availability",
        "MercatoCheckoutAvailability",
        0.999,
        "a checkoutComplete that failed through the server's fault, or answered PENDING "
        "(the order saga did not confirm or reject the order in time)",
        # Each term `or vector(0)`: a sum of a missing series and a present one would be empty.
        f'(sum(rate({GRAPHQL}{{{CHECKOUT},outcome="error"}}[{{w}}])) or vector(0))\n'
        f'  + (sum(rate({CHECKOUT_SECONDS}_count{{status="PENDING"}}[{{w}}])) or vector(0))',
        f"sum(rate({GRAPHQL}{{{CHECKOUT}}}[{{w}}]))",
    ),
    Slo(
        "checkout-latency",
        "MercatoCheckoutLatency",
        0.99,
        "a checkoutComplete answered after more than 2 s",
        f"sum(rate({CHECKOUT_SECONDS}_count[{{w}}]))\n"
        f'  - sum(rate({CHECKOUT_SECONDS}_bucket{{le="2.0"}}[{{w}}]))',
        f"sum(rate({CHECKOUT_SECONDS}_count[{{w}}]))",
    ),
)
WINDOWS = ("5m", "30m", "1h", "6h")
# (severity, long window, short window, burn rate, for): the workbook's page and ticket pairs.
BURNS = (
    ("critical", "1h", "5m", 14.4, "2m", "Fast", "2 % of the 30-day error budget in one hour"),
    ("warning", "6h", "30m", 6.0, "15m", "Slow", "5 % of the 30-day error budget in six hours"),
)


def slo_rules() -> list[dict[str, Any]]:
    records = [
        {"record": f"slo:error_ratio:rate{w}", "expr": slo.ratio(w), "labels": {"slo": slo.name}}
        for slo in SLOS
        for w in WINDOWS
    ]
    alerts = []
    for slo in SLOS:
        budget = round(1 - slo.objective, 6)
        for severity, long, short, burn, wait, speed, meaning in BURNS:
            threshold = f"({burn} * {budget})"
            alerts.append(
                {
                    "alert": f"{slo.alert}BurnRate{speed}",
                    "expr": (
                        f'slo:error_ratio:rate{long}{{slo="{slo.name}"}} > {threshold}\n'
                        f'and\nslo:error_ratio:rate{short}{{slo="{slo.name}"}} > {threshold}'
                    ),
                    "for": wait,
                    "labels": {"severity": severity, "slo": slo.name},
                    "annotations": {
                        "summary": f"{slo.name}: error budget burning at {burn:g}x ({meaning})",
                        "description": (
                            f"Objective {slo.objective:.1%} over 30 days; a bad event is {slo.what}. "
                            f"Over the last {long} (and {short}) the bad fraction is "
                            "{{ $value | humanizePercentage }}."
                        ),
                    },
                }
            )
    return [
        {"name": "mercato-slo-recording", "interval": "30s", "rules": records},
        {"name": "mercato-slo-alerts", "rules": alerts},
    ]


def alert(name: str, expr: str, wait: str, severity: str, summary: str, description: str) -> dict[str, Any]:
    rule: dict[str, Any] = {"alert": name, "expr": expr, "for": wait}
    if wait == "0s":
        del rule["for"]  # fires at the first evaluation that finds it
    return rule | {
        "labels": {"severity": severity},
        "annotations": {"summary": summary, "description": description},
    }


def operations_rules() -> list[dict[str, Any]]:
    rules = [
        alert(
            "MercatoOutboxEventsLate",
            "max by (context) (mercato_outbox_oldest_pending_age_seconds) > 60",
            "5m",
            "warning",
            "{{ $labels.context }}: outbox events wait more than a minute to be published",
            "The oldest unpublished event of the {{ $labels.context }} outbox was written "
            "{{ $value | humanizeDuration }} ago: the relay is down, stuck or cannot reach NATS.",
        ),
        alert(
            "MercatoOutboxEventsStuck",
            "max by (context) (mercato_outbox_oldest_pending_age_seconds) > 900",
            "5m",
            "critical",
            "{{ $labels.context }}: outbox events unpublished for over 15 minutes",
            "Events committed {{ $value | humanizeDuration }} ago have not left the "
            "{{ $labels.context }} outbox: whatever reacts to them (sagas, search, caches) is stalled.",
        ),
        alert(
            "MercatoConsumerLagHigh",
            "max by (stream, consumer) (mercato_consumer_pending_messages) > 1000",
            "10m",
            "warning",
            "{{ $labels.consumer }} is {{ $value }} messages behind on {{ $labels.stream }}",
            "The durable consumer has more than 1000 unacknowledged messages for 10 minutes.",
        ),
        alert(
            "MercatoConsumerLagGrowing",
            "max by (stream, consumer) (mercato_consumer_pending_messages) > 100\n"
            "and\nmax by (stream, consumer) (delta(mercato_consumer_pending_messages[15m])) > 0",
            "15m",
            "warning",
            "{{ $labels.consumer }} falls further behind on {{ $labels.stream }}",
            "Its backlog is above 100 messages and has grown over every 15 minutes for 15 minutes.",
        ),
        alert(
            "MercatoDeadLetters",
            "sum by (consumer) (increase(mercato_consumer_dead_letters_total[10m])) > 0",
            "0s",
            "warning",
            "{{ $labels.consumer }} parked messages in its dead letters",
            "{{ $value }} messages were given up on after their last try in the last 10 minutes; "
            "they sit in the context's dead_letters table (`mercato ops dead-letters`).",
        ),
        alert(
            "MercatoRedeliveriesHigh",
            "sum by (consumer) (rate(mercato_consumer_redeliveries_total[10m])) > 0.5",
            "10m",
            "warning",
            "{{ $labels.consumer }} keeps receiving messages again",
            "{{ $value }} redeliveries per second: its handler fails or times out.",
        ),
        alert(
            "MercatoSagasStalled",
            'sum(increase(mercato_orders_total{event="placed"}[15m])) > 3\n'
            'unless\nsum(increase(mercato_orders_total{event=~"confirmed|rejected"}[15m])) > 0',
            "5m",
            "critical",
            "Orders are placed but no saga confirms or rejects them",
            "{{ $value }} orders placed in 15 minutes and none confirmed or rejected: the order saga "
            "is stuck (inventory, payments or the broker between them).",
        ),
        alert(
            "MercatoSagasStuck",
            # Every orders replica samples the same table: max, not sum.
            "max by (step) (mercato_saga_stuck_oldest_seconds) > 300",
            "5m",
            "warning",
            "Sagas stuck at step {{ $labels.step }} for over 5 minutes",
            "The oldest saga awaiting {{ $labels.step }} has been stuck {{ $value | humanizeDuration }} "
            "past its deadline and grace: nothing drives it on (the sweeper, or a step that keeps "
            "failing). `mercato ops sagas --stuck` lists them.",
        ),
        alert(
            "MercatoSelfHealGaveUp",
            'sum by (component) (increase(mercato_self_heal_actions_total{action="give_up"}[15m])) > 0',
            "0s",
            "critical",
            "{{ $labels.component }}: the watchdog gave up restarting a background loop",
            "A relay, consumer or sweeper kept wedging after its restarts; the process reports itself "
            "unhealthy so that it is replaced.",
        ),
        alert(
            "MercatoPaymentProviderErrors",
            "sum by (operation, code) (increase(mercato_payment_errors_total[10m])) > 5",
            "5m",
            "warning",
            "Payment {{ $labels.operation }} refused for good ({{ $labels.code }})",
            "{{ $value }} payment operations failed in 10 minutes with {{ $labels.code }}.",
        ),
        alert(
            "MercatoDatabasePoolSaturated",
            'max by (job, instance) (mercato_db_pool_connections{state="in_use"})\n'
            '/\nmax by (job, instance) (mercato_db_pool_connections{state="size"}) > 0.9',
            "10m",
            "warning",
            "{{ $labels.instance }} uses over 90 % of its database pool",
            "Requests queue for a connection: raise the pool (MERCATO_DB_POOL_SIZE) or the replicas.",
        ),
        alert(
            "MercatoProcessDown",
            'up{component!=""} == 0',
            "5m",
            "critical",
            "{{ $labels.component }} at {{ $labels.instance }} cannot be scraped",
            "Prometheus has not reached its /metrics for 5 minutes: the process is down or unreachable.",
        ),
    ]
    return [{"name": "mercato-operations", "rules": rules}]


class _Literal(str):
    pass


def _literal(dumper: yaml.SafeDumper, value: _Literal) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")


yaml.SafeDumper.add_representer(_Literal, _literal)


def rules_yaml() -> str:
    groups = slo_rules() + operations_rules()
    for group in groups:
        for rule in group["rules"]:
            if "\n" in rule["expr"]:
                rule["expr"] = _Literal(rule["expr"])
    header = (
        "# Generated by deploy/scripts/monitoring.py (`make monitoring`): edit there, not here.\n"
        "# Read by Prometheus in compose (rule_files) and by the chart's PrometheusRule (.Files.Get).\n"
    )
    body = yaml.safe_dump({"groups": groups}, sort_keys=False, width=110, allow_unicode=True)
    return header + body


# --- dashboards -----------------------------------------------------------------------------------

RATE = "$__rate_interval"


@dataclass(frozen=True)
class Panel:
    title: str
    exprs: tuple[tuple[str, str], ...]  # (PromQL, legend)
    unit: str = "short"
    kind: str = "timeseries"
    width: int = 12


def p(
    title: str, *exprs: tuple[str, str], unit: str = "short", kind: str = "timeseries", width: int = 12
) -> Panel:
    return Panel(title, exprs, unit, kind, width)


def quantiles(metric: str, by: str, legend: str, selector: str = "") -> tuple[tuple[str, str], ...]:
    return tuple(
        (
            f"histogram_quantile({q}, sum by (le, {by}) (rate({metric}_bucket{selector}[{RATE}])))",
            f"p{int(q * 100)} {legend}",
        )
        for q in (0.5, 0.99)
    )


def red_dashboard() -> dict[str, Any]:
    rows = {
        "GraphQL operations (by first root field)": [
            p(
                "Requests / s",
                (f"sum by (type, field) (rate({GRAPHQL}[{RATE}]))", "{{type}} {{field}}"),
                unit="reqps",
            ),
            p(
                "Errors (server's fault) / requests",
                (
                    # `or ... * 0`: a field without any error shows 0, not a gap.
                    f'(sum by (field) (rate({GRAPHQL}{{outcome="error"}}[{RATE}]))\n'
                    f" or sum by (field) (rate({GRAPHQL}[{RATE}])) * 0)\n"
                    f"/ sum by (field) (rate({GRAPHQL}[{RATE}]))",
                    "{{field}}",
                ),
                unit="percentunit",
            ),
            p(
                "Rejected (the request's fault) / s",
                (f'sum by (field) (rate({GRAPHQL}{{outcome="rejected"}}[{RATE}]))', "{{field}}"),
                unit="reqps",
            ),
            p("Duration p50 / p99", *quantiles(GRAPHQL_SECONDS, "field", "{{field}}"), unit="s"),
        ],
        "gRPC methods": [
            p(
                "Calls / s",
                (f"sum by (service, method) (rate(mercato_grpc_requests_total[{RATE}]))", "{{method}}"),
                unit="reqps",
            ),
            p(
                "Non-OK calls / s by code",
                (
                    f'sum by (method, code) (rate(mercato_grpc_requests_total{{code!="OK"}}[{RATE}]))',
                    "{{method}} {{code}}",
                ),
                unit="reqps",
            ),
            p(
                "Duration p50 / p99",
                *quantiles("mercato_grpc_request_duration_seconds", "method", "{{method}}"),
                unit="s",
            ),
            p(
                "In flight",
                ("sum by (component) (mercato_grpc_requests_in_flight)", "grpc {{component}}"),
                ("sum by (component) (mercato_http_requests_in_flight)", "http {{component}}"),
            ),
        ],
        "HTTP": [
            p(
                "Requests / s by status",
                (f"sum by (path, status) (rate(mercato_http_requests_total[{RATE}]))", "{{path}} {{status}}"),
                unit="reqps",
            ),
            p(
                "Duration p50 / p99",
                *quantiles("mercato_http_request_duration_seconds", "path", "{{path}}", '{path="/graphql"}'),
                unit="s",
            ),
        ],
    }
    return dashboard("mercato-red", "Mercato / RED per operation", rows)


def business_dashboard() -> dict[str, Any]:
    rows = {
        "Orders": [
            p(
                "Orders / min by step",
                (f"sum by (event) (rate(mercato_orders_total[{RATE}])) * 60", "{{event}}"),
            ),
            p(
                "Rejections / min by reason",
                (f"sum by (reason) (rate(mercato_orders_rejected_total[{RATE}])) * 60", "{{reason}}"),
            ),
            p(
                "Confirmed / settled (24 h)",
                (
                    'sum(increase(mercato_orders_total{event="confirmed"}[1d]))\n'
                    '/ sum(increase(mercato_orders_total{event=~"confirmed|rejected"}[1d]))',
                    "confirmed",
                ),
                unit="percentunit",
                kind="stat",
                width=6,
            ),
            p(
                "Orders placed (24 h)",
                ('sum(increase(mercato_orders_total{event="placed"}[1d]))', "placed"),
                kind="stat",
                width=6,
            ),
        ],
        "Payments and stock": [
            p(
                "Payment declines / min by code",
                (f"sum by (code) (rate(mercato_payment_declines_total[{RATE}])) * 60", "{{code}}"),
            ),
            p(
                "Payment errors / min",
                (
                    f"sum by (operation, code) (rate(mercato_payment_errors_total[{RATE}])) * 60",
                    "{{operation}} {{code}}",
                ),
            ),
            p(
                "Stock-outs and reservation expiries / min",
                (f"sum(rate(mercato_stock_outs_total[{RATE}])) * 60", "stock-outs"),
                (
                    f'sum(rate(mercato_reservations_released_total{{status="EXPIRED"}}[{RATE}])) * 60',
                    "reservations expired",
                ),
            ),
        ],
        "SLOs (30-day objectives; rules in mercato-rules.yaml)": [
            p(
                "Bad-event ratio, 1 h",
                ("slo:error_ratio:rate1h", "{{slo}}"),
                unit="percentunit",
            ),
            p(
                "Budget burn rate, 1 h (1 = spending exactly the budget)",
                *(
                    (f'slo:error_ratio:rate1h{{slo="{s.name}"}} / {round(1 - s.objective, 6)}', s.name)
                    for s in SLOS
                ),
            ),
        ],
    }
    return dashboard("mercato-business", "Mercato / Business", rows)


def saga_dashboard() -> dict[str, Any]:
    steps = 'type=~"orders[.].*|inventory[.].*|payments[.].*"'
    rows = {
        "Order saga": [
            p(
                "Saga steps / min (commands and replies committed)",
                (f"sum by (type) (rate(mercato_domain_events_total{{{steps}}}[{RATE}])) * 60", "{{type}}"),
                width=24,
            ),
            p(
                "Placed vs settled / min",
                (f'sum(rate(mercato_orders_total{{event="placed"}}[{RATE}])) * 60', "placed"),
                (
                    f'sum(rate(mercato_orders_total{{event=~"confirmed|rejected"}}[{RATE}])) * 60',
                    "settled (confirmed or rejected)",
                ),
            ),
            p(
                "Placed and not settled (15 min)",
                (
                    'sum(increase(mercato_orders_total{event="placed"}[15m]))\n'
                    '- (sum(increase(mercato_orders_total{event=~"confirmed|rejected"}[15m])) or vector(0))',
                    "in flight or stuck",
                ),
            ),
            p(
                "Checkout answered by status / min",
                (f"sum by (status) (rate({CHECKOUT_SECONDS}_count[{RATE}])) * 60", "{{status}}"),
            ),
            p(
                "Checkout to terminal state, p50 / p99",
                *quantiles(CHECKOUT_SECONDS, "status", "{{status}}"),
                unit="s",
            ),
        ],
        "Saga steps": [
            p(
                "Step duration p50 / p99",
                *quantiles("mercato_saga_step_duration_seconds", "step", "{{step}}"),
                unit="s",
            ),
            p(
                "Steps ended / min by outcome",
                (
                    f"sum by (step, outcome) (rate(mercato_saga_step_duration_seconds_count[{RATE}])) * 60",
                    "{{step}} {{outcome}}",
                ),
            ),
            p(
                "Stuck sagas by step and age",
                ("max by (step, age) (mercato_sagas_stuck)", "{{step}} {{age}}"),
            ),
            p(
                "Oldest stuck saga by step",
                ("max by (step) (mercato_saga_stuck_oldest_seconds)", "{{step}}"),
                unit="s",
            ),
            p("Sagas parked for a person", ("max by (step) (mercato_sagas_parked)", "{{step}}")),
            p(
                "Self-healing actions / hour",
                (
                    f"sum by (action, component) (rate(mercato_self_heal_actions_total[{RATE}])) * 3600",
                    "{{action}} {{component}}",
                ),
            ),
        ],
    }
    return dashboard("mercato-saga", "Mercato / Saga", rows)


def broker_dashboard() -> dict[str, Any]:
    rows = {
        "Consumers": [
            p(
                "Lag (unacknowledged messages)",
                ("max by (stream, consumer) (mercato_consumer_pending_messages)", "{{consumer}}"),
            ),
            p(
                "Redeliveries / s",
                (f"sum by (consumer) (rate(mercato_consumer_redeliveries_total[{RATE}]))", "{{consumer}}"),
            ),
            p(
                "Dead letters (1 h)",
                ("sum by (consumer) (increase(mercato_consumer_dead_letters_total[1h]))", "{{consumer}}"),
            ),
        ],
        "Outbox": [
            p("Unpublished events", ("max by (context) (mercato_outbox_pending_events)", "{{context}}")),
            p(
                "Oldest unpublished event",
                ("max by (context) (mercato_outbox_oldest_pending_age_seconds)", "{{context}}"),
                unit="s",
            ),
            p(
                "Events committed / s by context",
                (
                    "sum by (context) (label_replace(\n"
                    f"  rate(mercato_domain_events_total[{RATE}]), "
                    '"context", "$1", "type", "([a-z]+)[.].*"\n))',
                    "{{context}}",
                ),
            ),
        ],
    }
    return dashboard("mercato-broker", "Mercato / Broker", rows)


def engines_dashboard() -> dict[str, Any]:
    rows = {
        "PostgreSQL pools": [
            p(
                "Connections by state",
                ("sum by (instance, state) (mercato_db_pool_connections)", "{{instance}} {{state}}"),
            ),
            p(
                "Pool use (in use / size)",
                (
                    'max by (instance) (mercato_db_pool_connections{state="in_use"})\n'
                    '/ max by (instance) (mercato_db_pool_connections{state="size"})',
                    "{{instance}}",
                ),
                unit="percentunit",
            ),
            p(
                "Wait for a connection, p50 / p99",
                *quantiles("mercato_db_pool_wait_seconds", "component", "{{component}}"),
                unit="s",
            ),
        ],
        "Redis response cache": [
            p(
                "Hit ratio",
                (
                    f'sum(rate(mercato_response_cache_requests_total{{result="hit"}}[{RATE}]))\n'
                    f"/ sum(rate(mercato_response_cache_requests_total[{RATE}]))",
                    "hit ratio",
                ),
                unit="percentunit",
            ),
            p(
                "Requests / s by result",
                (f"sum by (result) (rate(mercato_response_cache_requests_total[{RATE}]))", "{{result}}"),
                unit="reqps",
            ),
        ],
        "Processes": [
            p(
                "CPU (cores)",
                (f"sum by (component) (rate(process_cpu_seconds_total[{RATE}]))", "{{component}}"),
            ),
            p(
                "Resident memory",
                ("sum by (component) (process_resident_memory_bytes)", "{{component}}"),
                unit="bytes",
            ),
        ],
    }
    return dashboard("mercato-engines", "Mercato / Engines", rows)


def dashboard(uid: str, title: str, rows: dict[str, list[Panel]]) -> dict[str, Any]:
    panels: list[dict[str, Any]] = []
    y = 0
    for row_title, row in rows.items():
        panels.append(
            {
                "id": len(panels) + 1,
                "type": "row",
                "title": row_title,
                "collapsed": False,
                "gridPos": {"h": 1, "w": 24, "x": 0, "y": y},
                "panels": [],
            }
        )
        y += 1
        x = 0
        for panel in row:
            if x + panel.width > 24:
                x, y = 0, y + 8
            panels.append(_panel(len(panels) + 1, panel, x, y))
            x += panel.width
        y += 8
    return {
        "uid": uid,
        "title": title,
        "tags": ["mercato"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "editable": False,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Prometheus",
                    "type": "datasource",
                    "query": "prometheus",
                    "current": {},
                    "hide": 0,
                }
            ]
        },
        "annotations": {"list": []},
        "panels": panels,
    }


def _panel(panel_id: int, panel: Panel, x: int, y: int) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": panel_id,
        "type": panel.kind,
        "title": panel.title,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"h": 8, "w": panel.width, "x": x, "y": y},
        "targets": [
            {"refId": chr(ord("A") + i), "expr": expr, "legendFormat": legend}
            for i, (expr, legend) in enumerate(panel.exprs)
        ],
        "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
        "options": {},
    }
    return body


DASHBOARD_BUILDERS = (red_dashboard, business_dashboard, saga_dashboard, broker_dashboard, engines_dashboard)


def outputs() -> dict[Path, str]:
    files = {RULES_FILE: rules_yaml()}
    for build in DASHBOARD_BUILDERS:
        board = build()
        files[DASHBOARDS / f"{board['uid']}.json"] = json.dumps(board, indent=2) + "\n"
    return files


def main(argv: list[str]) -> int:
    files = outputs()
    if "--check" in argv:
        stale = [
            str(path.relative_to(ROOT))
            for path, text in files.items()
            if not path.exists() or path.read_text() != text
        ]
        extra = sorted(set(DASHBOARDS.glob("*.json")) - set(files))
        stale += [str(path.relative_to(ROOT)) + " (not generated)" for path in extra]
        for name in stale:
            print(f"stale: {name} (run `make monitoring`)", file=sys.stderr)  # noqa: T201
        return 1 if stale else 0
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"wrote {path.relative_to(ROOT)}", file=sys.stderr)  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
