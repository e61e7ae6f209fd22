"""What the rules and dashboards may name: the series the code exports, read from its real registries.

`exported()` builds one `Metrics` (process collectors included) and reads every collector it
exposes, the business registry's too: each series name a scrape can carry (a counter's `_total` and
`_created`, a histogram's `_bucket`, `_count`, `_sum`), its label names, and a histogram's bucket
bounds as the `le` values the exposition writes. Prometheus adds the target's labels (`job`,
`instance`, and `component`, set by the compose targets and the chart's ServiceMonitor) and `up`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import promql_parser as pq
import yaml
from prometheus_client import CollectorRegistry
from prometheus_client.metrics import Histogram, MetricWrapperBase
from prometheus_client.utils import floatToGoString

from mercato.platform.business_metrics import BUSINESS, BusinessCollector
from mercato.platform.metrics import Metrics

ROOT = Path(__file__).resolve().parents[2]
FILES = ROOT / "deploy" / "helm" / "mercato" / "files"
RULE_FILES = sorted((FILES / "prometheus").glob("*.yaml"))
DASHBOARD_FILES = sorted((FILES / "dashboards").glob("*.json"))
TARGET_LABELS = frozenset({"job", "instance", "component"})
SEVERITIES = frozenset({"critical", "warning", "info"})
# Grafana's interval variables, replaced by a duration before parsing.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}


@dataclass(frozen=True)
class Exported:
    labels: frozenset[str]
    le: frozenset[str] = frozenset()  # a histogram's `_bucket`: the bounds as exposed


def exported() -> dict[str, Exported]:
    out: dict[str, Exported] = {"up": Exported(frozenset())}
    _read(Metrics().registry, out)
    return out


def _read(registry: CollectorRegistry, out: dict[str, Exported]) -> None:
    for collector in list(registry._collector_to_names):
        if isinstance(collector, BusinessCollector):
            _read(BUSINESS, out)
        elif isinstance(collector, MetricWrapperBase):
            _wrapper(collector, out)
        else:  # process, platform, GC, pool collectors: what they yield now
            for family in collector.collect():
                for sample in family.samples:
                    known = out.get(sample.name, Exported(frozenset()))
                    out[sample.name] = Exported(known.labels | set(sample.labels))


def _wrapper(metric: MetricWrapperBase, out: dict[str, Exported]) -> None:
    name, kind = metric._name, metric._type
    labels = frozenset(metric._labelnames)
    if kind == "counter":
        out[f"{name}_total"] = out[f"{name}_created"] = Exported(labels)
    elif kind == "histogram":
        assert isinstance(metric, Histogram)
        bounds = frozenset(floatToGoString(b) for b in metric._upper_bounds)
        out[f"{name}_bucket"] = Exported(labels | {"le"}, bounds)
        for suffix in ("_count", "_sum", "_created"):
            out[name + suffix] = Exported(labels)
    elif kind == "gauge":
        out[name] = Exported(labels)
    else:
        raise AssertionError(f"{name}: a {kind}; teach tests/deploy/monitoring.py its series")


def rule_groups() -> list[tuple[Path, dict[str, Any]]]:
    return [(path, group) for path in RULE_FILES for group in yaml.safe_load(path.read_text())["groups"]]


def recorded_names() -> set[str]:
    return {rule["record"] for _, group in rule_groups() for rule in group["rules"] if "record" in rule}


def dashboards() -> list[tuple[Path, dict[str, Any]]]:
    return [(path, json.loads(path.read_text())) for path in DASHBOARD_FILES]


def panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for panel in board["panels"]:
        out.append(panel)
        out.extend(panel.get("panels") or [])
    return out


def dashboard_exprs() -> list[tuple[str, str]]:
    """(where, PromQL with Grafana's variables replaced) for every target of every dashboard."""
    out = []
    for path, board in dashboards():
        for panel in panels(board):
            for target in panel.get("targets") or []:
                expr = target["expr"]
                for variable, value in GRAFANA_VARIABLES.items():
                    expr = expr.replace(variable, value)
                out.append((f"{path.name}: {panel['title']} {target['refId']}", expr))
    return out


def rule_exprs() -> list[tuple[str, str]]:
    return [
        (f"{path.name}: {rule.get('record') or rule.get('alert')}", rule["expr"])
        for path, group in rule_groups()
        for rule in group["rules"]
    ]


def selectors(expr: str) -> list[Any]:
    found: list[Any] = []

    def visit(node: Any) -> bool:
        if type(node).__name__ == "VectorSelector":
            found.append(node)
        return True

    pq.walk(pq.parse(expr), visit, None)
    return found


def naming_problems(where: str, expr: str, known: dict[str, Exported], recorded: set[str]) -> list[str]:
    """Each selector names an exported series (or a recorded one), with labels it has, and a bucket's
    `le` only among its bounds."""
    problems = []
    for selector in selectors(expr):
        name = selector.name
        if name in recorded:
            continue
        spec = known.get(name or "")
        if spec is None:
            problems.append(f"{where}: {name!r} is not exported by the code")
            continue
        for matcher in selector.matchers.matchers:
            if matcher.name not in spec.labels | TARGET_LABELS:
                problems.append(f"{where}: {name} has no label {matcher.name!r}")
            if matcher.name == "le" and matcher.value not in spec.le:
                problems.append(f"{where}: {name} has no bucket le={matcher.value!r} ({sorted(spec.le)})")
    return problems
