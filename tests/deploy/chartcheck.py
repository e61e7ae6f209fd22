"""Render the Helm chart offline and check it: Kubernetes schemas (strict) and Mercato's own policies.

Shared by `tests/deploy/test_chart.py` and `make chart` (`python -m tests.deploy.chartcheck`).
Rendering uses helm-python-sdk, which bundles Helm's Go SDK as a native library: no `helm` binary, no
cluster, no network. Validation uses kubernetes-validate with the JSON schemas shipped in the package;
custom resources it has no schema for (the optional ServiceMonitor) get a structural check here.
The checks against the code's topology (commands, environment, addresses, who may call whom) are in
`tests/deploy/topologycheck.py`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import yaml
from kubernetes_validate.utils import latest_version

from tests.deploy import topologycheck

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "mercato"
VALUES_FILES = ("values.yaml", "values-dev.yaml", "values-staging.yaml", "values-prod.yaml")
RELEASE = "mercato"
NAMESPACE = "shop"
# The chart's kubeVersion floor and the newest schemas kubernetes-validate ships.
KUBE_VERSIONS = ("1.29.0", latest_version())
CONTEXTS = ("catalog", "inventory", "cart", "customers", "orders", "payments", "search")
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"}

# Not values files of the chart: the one-process topology, and the optional monitoring resources.
SINGLE_OVERLAY: dict[str, Any] = {"topology": "single"}
SERVICE_MONITOR_OVERLAY: dict[str, Any] = {
    "metrics": {
        "serviceMonitor": {"enabled": True},
        "prometheusRule": {"enabled": True},
        "dashboards": {"enabled": True},
    }
}
# Custom resources kubernetes-validate has no schema for: checked by `crd_problems` instead.
CRD_KINDS = {("monitoring.coreos.com/v1", "ServiceMonitor"), ("monitoring.coreos.com/v1", "PrometheusRule")}


@dataclass(frozen=True)
class Manifest:
    template: str
    body: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.body.get("kind", ""))

    @property
    def name(self) -> str:
        return str(self.body.get("metadata", {}).get("name", ""))

    @property
    def annotations(self) -> dict[str, str]:
        return dict(self.body.get("metadata", {}).get("annotations") or {})

    def __str__(self) -> str:
        return f"{self.kind}/{self.name} ({self.template})"


@dataclass
class Report:
    label: str
    manifests: list[Manifest] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def load_values(*files: str, overlay: dict[str, Any] | None = None) -> dict[str, Any]:
    """The user-supplied values for `helm template -f file...`; the chart's values.yaml is the base."""
    values: dict[str, Any] = {}
    for name in files:
        if name != "values.yaml":
            values = deep_merge(values, yaml.safe_load((CHART / name).read_text()) or {})
    return deep_merge(values, overlay or {})


def render(values: dict[str, Any], *, upgrade: bool = False) -> list[Manifest]:
    with helm.Chart.load(str(CHART)) as chart:
        rendered = chart.render(
            values,
            name=RELEASE,
            namespace=NAMESPACE,
            is_install=not upgrade,
            is_upgrade=upgrade,
        )
    manifests = []
    for template, text in sorted(rendered.items()):
        if not template.endswith((".yaml", ".yml")):
            continue  # NOTES.txt
        for doc in yaml.safe_load_all(text):
            if doc:
                manifests.append(Manifest(template, doc))
    return manifests


def schema_problems(manifests: Iterable[Manifest], kube_version: str) -> list[str]:
    problems = []
    for m in manifests:
        if (m.body.get("apiVersion"), m.kind) in CRD_KINDS:
            continue
        try:
            kubernetes_validate.validate(m.body, kube_version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = "/".join(str(p) for p in exc.path)
            problems.append(f"{m}: k8s {kube_version}: {path}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            problems.append(f"{m}: {exc.message}")
    return problems


def pod_spec(m: Manifest) -> dict[str, Any]:
    spec = m.body["spec"]
    if m.kind == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return dict(spec["template"]["spec"])


def containers(m: Manifest) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    spec = pod_spec(m)
    for c in [*spec.get("initContainers", []), *spec.get("containers", [])]:
        yield spec, c


def image_problem(image: str) -> str | None:
    if "@sha256:" in image:
        return None
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return f"image {image!r} has no tag"
    if last.rsplit(":", 1)[1] in ("", "latest"):
        return f"image {image!r} uses a floating tag"
    return None


def container_problems(m: Manifest) -> list[str]:
    problems: list[str] = []
    long_running = m.kind != "Job"
    for pod, c in containers(m):
        where = f"{m} container {c.get('name')}"
        psc = pod.get("securityContext") or {}
        sc = c.get("securityContext") or {}
        if long_running and not (c.get("readinessProbe") and c.get("livenessProbe")):
            problems.append(f"{where}: needs readiness and liveness probes")
        res = c.get("resources") or {}
        for kind in ("requests", "limits"):
            if not {"cpu", "memory"} <= set((res.get(kind) or {}).keys()):
                problems.append(f"{where}: needs cpu and memory {kind}")
        if not (sc.get("runAsNonRoot") or psc.get("runAsNonRoot")):
            problems.append(f"{where}: runAsNonRoot is not set")
        if sc.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{where}: readOnlyRootFilesystem is not true")
        if sc.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{where}: allowPrivilegeEscalation is not false")
        if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
            problems.append(f"{where}: capabilities do not drop ALL")
        seccomp = (sc.get("seccompProfile") or psc.get("seccompProfile") or {}).get("type")
        if seccomp != "RuntimeDefault":
            problems.append(f"{where}: seccompProfile is not RuntimeDefault")
        if (problem := image_problem(str(c.get("image", "")))) is not None:
            problems.append(f"{where}: {problem}")
    return problems


def component(m: Manifest) -> str | None:
    labels = m.body.get("metadata", {}).get("labels") or {}
    return labels.get("app.kubernetes.io/component")


def _group(manifests: list[Manifest]) -> dict[str, list[Manifest]]:
    by_kind: dict[str, list[Manifest]] = {}
    for m in manifests:
        by_kind.setdefault(m.kind, []).append(m)
    return by_kind


def _availability_problems(by_kind: dict[str, list[Manifest]]) -> list[str]:
    problems: list[str] = []
    deployments = {component(m): m for m in by_kind.get("Deployment", [])}
    if "gateway" not in deployments:
        problems.append("no gateway Deployment")
    pdbs = {component(p): p for p in by_kind.get("PodDisruptionBudget", [])}
    hpas = {h.body["spec"]["scaleTargetRef"]["name"]: h for h in by_kind.get("HorizontalPodAutoscaler", [])}
    for name, dep in deployments.items():
        if dep.body["spec"].get("replicas") == 1:
            continue  # a single-replica dev install: a PDB would block node drains, nothing to scale
        if name not in pdbs:
            problems.append(f"{dep}: no PodDisruptionBudget")
        if dep.name not in hpas:
            problems.append(f"{dep}: no HorizontalPodAutoscaler")
            continue
        floor = hpas[dep.name].body["spec"].get("minReplicas", 1)
        budget = pdbs[name].body["spec"].get("minAvailable") if name in pdbs else None
        if isinstance(budget, int) and budget >= floor:
            problems.append(f"{dep}: PDB minAvailable {budget} >= minReplicas {floor} blocks node drains")
    return problems


def _network_problems(by_kind: dict[str, list[Manifest]]) -> list[str]:
    policies = by_kind.get("NetworkPolicy", [])
    if not policies:
        return ["no NetworkPolicy"]
    problems: list[str] = []
    for dep in by_kind.get("Deployment", []):
        name = component(dep)
        own = [p for p in policies if component(p) == name]
        if not own:
            problems.append(f"{name}: no NetworkPolicy of its own")
        rules = [rule for p in own for rule in p.body["spec"].get("ingress") or []]
        if name != "gateway" and any(not rule.get("from") for rule in rules):
            problems.append(f"{name}: an internal service must admit only its callers")
    return problems


def _migration_problems(by_kind: dict[str, list[Manifest]]) -> list[str]:
    jobs = [j for j in by_kind.get("Job", []) if component(j) == "migrate"]
    if not jobs:
        return ["no migration Job"]
    return [
        f"{job}: the migration Job must be a pre-install,pre-upgrade hook"
        for job in jobs
        if not {"pre-install", "pre-upgrade"} <= set(job.annotations.get("helm.sh/hook", "").split(","))
    ]


def crd_problems(manifests: list[Manifest]) -> list[str]:
    """The ServiceMonitor: it must select the release's Services on a port every one of them has. The
    PrometheusRule: groups of rules that each record or alert on an expression (their PromQL is checked
    by tests/deploy/test_monitoring.py, on the file the chart reads)."""
    problems: list[str] = []
    services = [m for m in manifests if m.kind == "Service"]
    for m in manifests:
        if m.kind == "PrometheusRule":
            problems += _rule_problems(m)
        if m.kind != "ServiceMonitor":
            continue
        spec = m.body.get("spec") or {}
        selector = (spec.get("selector") or {}).get("matchLabels") or {}
        selected = [
            s for s in services if selector.items() <= (s.body["metadata"].get("labels") or {}).items()
        ]
        if len(selected) != len(services) or not selected:
            problems.append(f"{m}: does not select every Service of the release")
        for endpoint in spec.get("endpoints") or [{}]:
            if endpoint.get("path") != "/metrics":
                problems.append(f"{m}: endpoint path is not /metrics")
            for svc in selected:
                if endpoint.get("port") not in {p.get("name") for p in svc.body["spec"]["ports"]}:
                    problems.append(f"{m}: {svc} has no port named {endpoint.get('port')!r}")
    return problems


def _rule_problems(m: Manifest) -> list[str]:
    groups = (m.body.get("spec") or {}).get("groups") or []
    if not groups:
        return [f"{m}: no rule groups"]
    return [
        f"{m}: group {group.get('name')!r}: a rule without record/alert or expr"
        for group in groups
        for rule in group.get("rules") or [{}]
        if not (("record" in rule) ^ ("alert" in rule)) or not rule.get("expr")
    ]


def topology_problems(manifests: list[Manifest], *, single: bool = False) -> list[str]:
    by_kind = _group(manifests)
    return (
        _availability_problems(by_kind)
        + _network_problems(by_kind)
        + _migration_problems(by_kind)
        + crd_problems(manifests)
        + topologycheck.check(manifests, single=single)
    )


def check(label: str, values: dict[str, Any]) -> Report:
    report = Report(label, render(values))
    for version in KUBE_VERSIONS:
        report.problems += schema_problems(report.manifests, version)
    for m in report.manifests:
        if m.kind in WORKLOADS:
            report.problems += container_problems(m)
    report.problems += topology_problems(report.manifests, single=values.get("topology") == "single")
    return report


# Mutual TLS between components, from a cert-manager style Secret.
GRPC_TLS_OVERLAY: dict[str, Any] = {"grpcTls": {"enabled": True, "secretName": "mercato-grpc-tls"}}
# Anticipatory scaling: the forecaster and the gateway's HPA on its External metric.
FORECAST_OVERLAY: dict[str, Any] = {
    "forecaster": {"enabled": True},
    "gateway": {"autoscaling": {"forecast": {"enabled": True}}},
}


def cases() -> list[tuple[str, dict[str, Any]]]:
    out = [(name, load_values(name)) for name in VALUES_FILES]
    out += [
        ("values.yaml + topology=single", load_values("values.yaml", overlay=SINGLE_OVERLAY)),
        ("values-dev.yaml + topology=single", load_values("values-dev.yaml", overlay=SINGLE_OVERLAY)),
        ("values-prod.yaml + topology=single", load_values("values-prod.yaml", overlay=SINGLE_OVERLAY)),
        (
            "values-prod.yaml + ServiceMonitor, PrometheusRule, dashboards",
            load_values("values-prod.yaml", overlay=SERVICE_MONITOR_OVERLAY),
        ),
        ("values-prod.yaml + gRPC TLS", load_values("values-prod.yaml", overlay=GRPC_TLS_OVERLAY)),
        ("values-prod.yaml + forecast scaling", load_values("values-prod.yaml", overlay=FORECAST_OVERLAY)),
        (
            "values.yaml + topology=single + forecast scaling",
            load_values("values.yaml", overlay={**SINGLE_OVERLAY, **FORECAST_OVERLAY}),
        ),
    ]
    return out


def lint_messages() -> list[str]:
    report = helm.lint(str(CHART), strict=True, kube_version=f"v{KUBE_VERSIONS[-1]}")
    return [str(m) for m in report.get("messages", []) if int(m.get("severity", 0)) >= 2]


def main() -> int:
    failed = False
    problems = lint_messages()
    print(f"helm lint --strict: {len(problems)} warnings/errors")
    for problem in problems:
        failed = True
        print(f"  {problem}")
    for label, values in cases():
        report = check(label, values)
        kinds = sorted({m.kind for m in report.manifests})
        status = "ok" if not report.problems else f"{len(report.problems)} problems"
        print(
            f"{label}: {len(report.manifests)} manifests ({', '.join(kinds)}), k8s {KUBE_VERSIONS}: {status}"
        )
        for problem in report.problems:
            failed = True
            print(f"  {problem}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
