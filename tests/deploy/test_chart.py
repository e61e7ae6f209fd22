"""The Helm chart and the Dockerfile: rendered and checked offline, no cluster, no helm binary."""

from __future__ import annotations

import copy
import functools
import json
import re
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import yaml

from mercato.app.engine_users import nats_config
from mercato.app.service_process import LIVENESS
from tests.deploy import topologycheck
from tests.deploy.chartcheck import (
    GRPC_TLS_OVERLAY,
    ROOT,
    SINGLE_OVERLAY,
    Manifest,
    cases,
    check,
    component,
    container_problems,
    lint_messages,
    load_values,
    render,
    topology_problems,
)

CASES = cases()
CONTEXTS = ("catalog", "inventory", "cart", "customers", "orders", "payments", "search")
# Who calls whom over gRPC (the brief of the distributed topology; topologycheck reads the same from
# the code, this pins it independently).
CALLERS = {
    "catalog": {"gateway", "cart", "search"},  # search re-reads the products its events name
    "inventory": {"gateway"},
    "cart": {"gateway"},
    "customers": {"gateway"},
    "orders": {"gateway"},
    "payments": {"gateway"},  # the vault: checkout exchanges the payment token there
    "search": {"gateway"},
}
ENGINES = {
    "gateway": {"MERCATO_REDIS_URL"},
    "catalog": {"MERCATO_DATABASE_URL", "MERCATO_NATS_URL", "MERCATO_REDIS_URL"},
    "inventory": {"MERCATO_DATABASE_URL", "MERCATO_NATS_URL"},
    "cart": {"MERCATO_NATS_URL", "MERCATO_REDIS_URL"},
    "customers": {"MERCATO_DATABASE_URL", "MERCATO_NATS_URL", "MERCATO_REDIS_URL"},
    "payments": {"MERCATO_DATABASE_URL", "MERCATO_NATS_URL"},
    "orders": {"MERCATO_DATABASE_URL", "MERCATO_NATS_URL"},
    # Redis: the catalog's cache generation, bumped when the index changes.
    "search": {"MERCATO_DATABASE_URL", "MERCATO_NATS_URL", "MERCATO_REDIS_URL"},
}
URLS = {"MERCATO_DATABASE_URL", "MERCATO_NATS_URL", "MERCATO_REDIS_URL"}
VAULT_KEY = "MERCATO_PAYMENTS_VAULT_KEY"
DATABASE_CONTEXTS = sorted(c for c, engines in ENGINES.items() if "MERCATO_DATABASE_URL" in engines)
CONTEXTS_AND_GATEWAY = ["gateway", *CONTEXTS]


@functools.cache
def _rendered(values_file: str, overlay_json: str = "{}") -> tuple[Manifest, ...]:
    return tuple(render(load_values(values_file, overlay=json.loads(overlay_json))))


def rendered(values_file: str, overlay: dict[str, Any] | None = None) -> list[Manifest]:
    """Rendered once per (values file, overlay) in the session; callers must not mutate the bodies."""
    return list(_rendered(values_file, json.dumps(overlay or {}, sort_keys=True)))


def of(manifests: list[Manifest], kind: str) -> dict[str, Manifest]:
    return {str(component(m)): m for m in manifests if m.kind == kind}


def container(m: Manifest) -> dict[str, Any]:
    [c] = m.body["spec"]["template"]["spec"]["containers"]
    return dict(c)


@pytest.mark.parametrize(("label", "values"), CASES, ids=[label for label, _ in CASES])
def test_chart_renders_valid_manifests_that_meet_the_policies(label: str, values: dict[str, Any]) -> None:
    report = check(label, values)

    assert report.manifests
    assert report.problems == []


def test_chart_lints_clean_in_strict_mode() -> None:
    assert lint_messages() == []


def test_every_values_file_of_the_chart_is_checked() -> None:
    files = {p.name for p in (ROOT / "deploy/helm/mercato").glob("values*.yaml")}

    assert files <= {label for label, _ in CASES}


@pytest.mark.parametrize("values_file", ["values.yaml", "values-prod.yaml"])
def test_every_component_has_a_pdb_an_hpa_a_service_and_a_network_policy(values_file: str) -> None:
    manifests = rendered(values_file)

    for name in ("gateway", *CONTEXTS):
        kinds = {m.kind for m in manifests if component(m) == name}
        assert {
            "Deployment",
            "Service",
            "PodDisruptionBudget",
            "HorizontalPodAutoscaler",
            "NetworkPolicy",
        } <= kinds, name


def test_the_distributed_topology_is_the_default_and_single_keeps_one_deployment() -> None:
    distributed = of(rendered("values.yaml"), "Deployment")
    single = of(rendered("values.yaml", SINGLE_OVERLAY), "Deployment")

    assert set(distributed) == {"gateway", *CONTEXTS}
    assert container(distributed["gateway"])["args"] == [
        "serve", "gateway", "--host", "0.0.0.0", "--port", "8000", "--workers", "1"
    ]  # fmt: skip
    for name in CONTEXTS:
        assert container(distributed[name])["args"] == ["serve", name]
    assert set(single) == {"gateway"}
    assert container(single["gateway"])["args"] == [
        "serve",
        "--host",
        "0.0.0.0",
        "--port",
        "8000",
        "--workers",
        "1",
    ]
    assert container(single["gateway"])["resources"]["limits"] == {"cpu": "1", "memory": "640Mi"}


def test_the_config_map_points_every_caller_at_each_context_service() -> None:
    manifests = rendered("values.yaml")
    [config] = [m for m in manifests if m.kind == "ConfigMap" and m.name == "mercato-config"]
    services = of(manifests, "Service")

    addresses = {k: v for k, v in config.body["data"].items() if k.endswith("_ADDRESS")}
    assert addresses == {
        f"MERCATO_{name.upper()}_ADDRESS": f"dns:///mercato-{name}:50051" for name in CONTEXTS
    }
    for name in CONTEXTS:
        ports = {p["name"]: (p["port"], p["targetPort"]) for p in services[name].body["spec"]["ports"]}
        assert ports == {"grpc": (50051, "grpc"), "http": (8000, "http")}
    [single] = [
        m
        for m in rendered("values.yaml", SINGLE_OVERLAY)
        if m.kind == "ConfigMap" and m.name == "mercato-config"
    ]
    assert [k for k in single.body["data"] if k.endswith("_ADDRESS")] == []


@pytest.mark.parametrize("name", CONTEXTS)
def test_a_context_listens_on_all_interfaces_and_is_probed_over_grpc(name: str) -> None:
    c = container(of(rendered("values-prod.yaml"), "Deployment")[name])

    env = {e["name"]: e.get("value") for e in c["env"]}
    assert env["MERCATO_GRPC_HOST"] == "0.0.0.0"
    assert env["MERCATO_GRPC_PORT"] == "50051"
    assert {p["name"]: p["containerPort"] for p in c["ports"]} == {"http": 8000, "grpc": 50051}
    # Readiness follows the engines ("" goes NOT_SERVING while one is down); startup and liveness ask for
    # the name that stays SERVING, so an engine outage takes pods out of the Service without restarting them.
    assert c["readinessProbe"]["grpc"] == {"port": 50051, "service": ""}
    for probe in ("startupProbe", "livenessProbe"):
        assert c[probe]["grpc"] == {"port": 50051, "service": LIVENESS}


@pytest.mark.parametrize("name", ["gateway", *CONTEXTS])
def test_each_component_gets_the_urls_of_its_engines_only(name: str) -> None:
    c = container(of(rendered("values-prod.yaml"), "Deployment")[name])

    secret = {e["name"] for e in c["env"] if "valueFrom" in e}
    assert secret == ENGINES[name] | {"MERCATO_AUTH_SECRET"} | ({VAULT_KEY} if name == "payments" else set())
    single = container(of(rendered("values-prod.yaml", SINGLE_OVERLAY), "Deployment")["gateway"])
    # The one process hosts every context: every engine, the vault key, and each context's own role.
    assert {e["name"] for e in single["env"] if "valueFrom" in e} == URLS | {
        "MERCATO_AUTH_SECRET",
        VAULT_KEY,
    } | {f"MERCATO_{c.upper()}_DATABASE_URL" for c in DATABASE_CONTEXTS}


def _secret_keys(c: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["valueFrom"]["secretKeyRef"]["key"] for e in c["env"] if "valueFrom" in e}


@pytest.mark.parametrize("values_file", ["values-prod.yaml", "values-dev.yaml"])
def test_only_the_payments_pods_get_the_vault_key_from_the_secret(values_file: str) -> None:
    deployments = of(rendered(values_file), "Deployment")
    secret_name = "mercato-prod-secrets" if values_file == "values-prod.yaml" else "mercato-secrets"

    payments = container(deployments["payments"])
    ref = next(e for e in payments["env"] if e["name"] == VAULT_KEY)["valueFrom"]["secretKeyRef"]

    assert ref == {"name": secret_name, "key": "payments-vault-key"}
    assert [n for n in CONTEXTS_AND_GATEWAY if VAULT_KEY in _secret_keys(container(deployments[n]))] == [
        "payments"
    ]
    assert VAULT_KEY not in _secret_keys(container(of(rendered(values_file), "Job")["migrate"]))


def test_an_inline_vault_key_must_be_set_and_long_enough() -> None:
    values = load_values("values-dev.yaml", overlay={"secrets": {"values": {"payments-vault-key": "short"}}})

    with pytest.raises(helm.HelmError, match="payments-vault-key must be set"):
        render(values)


@pytest.mark.parametrize("name", ["gateway", *CONTEXTS])
def test_each_component_reads_its_engine_credentials_from_keys_of_its_own(name: str) -> None:
    keys = _secret_keys(container(of(rendered("values-prod.yaml"), "Deployment")[name]))

    engine_keys = {env: key for env, key in keys.items() if env in URLS}
    base = {
        "MERCATO_DATABASE_URL": "database-url",
        "MERCATO_NATS_URL": "nats-url",
        "MERCATO_REDIS_URL": "redis-url",
    }
    assert engine_keys == {env: f"{base[env]}-{name}" for env in ENGINES[name]}


def test_the_migration_job_connects_as_the_owner_and_gets_every_contexts_role_url() -> None:
    keys = _secret_keys(container(of(rendered("values-prod.yaml"), "Job")["migrate"]))

    assert keys["MERCATO_DATABASE_URL"] == "database-url"
    own = {
        env: key
        for env, key in keys.items()
        if env.endswith("_DATABASE_URL") and env != "MERCATO_DATABASE_URL"
    }
    assert own == {f"MERCATO_{c.upper()}_DATABASE_URL": f"database-url-{c}" for c in DATABASE_CONTEXTS}


def test_without_per_component_credentials_every_pod_shares_the_engine_keys() -> None:
    deployments = of(
        rendered("values-prod.yaml", {"secrets": {"perComponentCredentials": False}}), "Deployment"
    )

    keys = {n: _secret_keys(container(deployments[n])) for n in CONTEXTS_AND_GATEWAY}

    assert {k for per in keys.values() for env, k in per.items() if env in URLS} == {
        "database-url", "nats-url", "redis-url"
    }  # fmt: skip


def test_the_dev_secret_holds_every_key_a_pod_refers_to() -> None:
    manifests = rendered("values-dev.yaml")
    secret = next(m for m in manifests if m.kind == "Secret")
    referred = {
        key
        for m in manifests
        if m.kind in ("Deployment", "Job")
        for key in _secret_keys(container(m)).values()
    }

    assert set(secret.body["stringData"]) == referred


@pytest.mark.parametrize("name", CONTEXTS)
def test_a_context_admits_grpc_from_exactly_its_callers_and_metrics_from_monitoring(name: str) -> None:
    policy = of(rendered("values-prod.yaml"), "NetworkPolicy")[name]
    values = load_values("values-prod.yaml")

    rules = policy.body["spec"]["ingress"]
    by_port = {rule["ports"][0]["port"]: rule["from"] for rule in rules}
    assert set(by_port) == ({50051, 8000} if CALLERS[name] else {8000})
    callers = {p["podSelector"]["matchLabels"]["app.kubernetes.io/component"] for p in by_port.get(50051, [])}
    assert callers == CALLERS[name]
    assert by_port[8000] == values["networkPolicy"]["metricsFrom"]


@pytest.mark.parametrize("name", ["gateway", *CONTEXTS])
def test_callers_may_leave_only_for_the_contexts_they_call_and_their_engines(name: str) -> None:
    policy = of(rendered("values.yaml"), "NetworkPolicy")[name]
    engine_ports = {"MERCATO_DATABASE_URL": 5432, "MERCATO_NATS_URL": 4222, "MERCATO_REDIS_URL": 6379}

    rules = policy.body["spec"]["egress"]
    to_contexts = {
        rule["to"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/component"]: rule["ports"][0]["port"]
        for rule in rules
        if rule.get("to")
    }
    engines = {rule["ports"][0]["port"] for rule in rules if not rule.get("to")}
    assert to_contexts == {ctx: 50051 for ctx, callers in CALLERS.items() if name in callers}
    assert engines == {engine_ports[url] for url in ENGINES[name]}


def test_the_gateway_is_reachable_only_from_the_ingress_controller_and_monitoring() -> None:
    policy = of(rendered("values-prod.yaml"), "NetworkPolicy")["gateway"]
    values = load_values("values-prod.yaml")["networkPolicy"]

    assert policy.body["spec"]["ingress"] == [
        {"ports": [{"port": 8000, "protocol": "TCP"}], "from": values["gatewayFrom"]},
        {"ports": [{"port": 8000, "protocol": "TCP"}], "from": values["metricsFrom"]},
    ]


def test_the_autoscalers_use_cpu_and_the_in_flight_gauge_except_payments() -> None:
    hpas = of(rendered("values.yaml"), "HorizontalPodAutoscaler")

    metrics = {
        name: [
            m.get("pods", {}).get("metric", {}).get("name") or m["resource"]["name"]
            for m in h.body["spec"]["metrics"]
        ]
        for name, h in hpas.items()
    }
    assert metrics["gateway"] == ["cpu", "mercato_http_requests_in_flight"]
    for name in ("catalog", "inventory", "cart", "customers", "orders"):
        assert metrics[name] == ["cpu", "mercato_grpc_requests_in_flight"]
    assert metrics["payments"] == ["cpu"]


def test_pods_carry_scrape_annotations_and_the_service_monitor_is_opt_in() -> None:
    manifests = rendered("values.yaml")
    monitored = rendered("values.yaml", {"metrics": {"serviceMonitor": {"enabled": True}}})

    for dep in of(manifests, "Deployment").values():
        annotations = dep.body["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/port"] == "8000"
        assert annotations["prometheus.io/path"] == "/metrics"
    assert [m for m in manifests if m.kind == "ServiceMonitor"] == []
    [monitor] = [m for m in monitored if m.kind == "ServiceMonitor"]
    assert monitor.body["spec"]["endpoints"][0]["port"] == "http"


def test_a_disabled_context_that_is_called_needs_an_address() -> None:
    with pytest.raises(helm.HelmError, match=r"contexts\.cart\.address"):
        render(load_values("values.yaml", overlay={"contexts": {"cart": {"enabled": False}}}))
    external = render(
        load_values(
            "values.yaml", overlay={"contexts": {"cart": {"enabled": False, "address": "carts.shop:7000"}}}
        )
    )
    [config] = [m for m in external if m.kind == "ConfigMap" and m.name == "mercato-config"]

    assert config.body["data"]["MERCATO_CART_ADDRESS"] == "carts.shop:7000"
    assert "cart" not in of(external, "Deployment")
    with pytest.raises(helm.HelmError, match=r"contexts\.payments\.address"):
        render(load_values("values.yaml", overlay={"contexts": {"payments": {"enabled": False}}}))
    elsewhere = {"enabled": False, "address": "pay.shop:7000"}
    payments_off = render(load_values("values.yaml", overlay={"contexts": {"payments": elsewhere}}))
    assert "payments" not in of(payments_off, "Deployment")


def test_a_per_context_false_overrides_the_context_defaults() -> None:
    manifests = rendered("values.yaml", {"contexts": {"cart": {"autoscaling": {"enabled": False}}}})

    assert "cart" not in of(manifests, "HorizontalPodAutoscaler")
    assert of(manifests, "Deployment")["cart"].body["spec"]["replicas"] == 2
    assert "catalog" in of(manifests, "HorizontalPodAutoscaler")


def test_an_unknown_topology_is_refused() -> None:
    with pytest.raises(helm.HelmError, match="topology must be distributed or single"):
        render(load_values("values.yaml", overlay={"topology": "mesh"}))


def test_the_migration_job_is_a_pre_install_and_pre_upgrade_hook() -> None:
    manifests = render(load_values("values-prod.yaml"), upgrade=True)

    [job] = [m for m in manifests if m.kind == "Job"]
    assert job.annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert job.body["spec"]["template"]["spec"]["containers"][0]["args"] == ["migrate"]
    policy = of(manifests, "NetworkPolicy")["migrate"]
    assert policy.body["spec"]["egress"] == [
        {"ports": [{"port": 5432, "protocol": "TCP"}], "to": [{"ipBlock": {"cidr": "10.20.0.0/24"}}]}
    ]


def test_production_keeps_secrets_out_of_the_chart() -> None:
    manifests = rendered("values-prod.yaml")

    assert [m for m in manifests if m.kind == "Secret"] == []
    refs = {
        env["valueFrom"]["secretKeyRef"]["name"]
        for m in manifests
        if m.kind in {"Deployment", "Job"}
        for c in m.body["spec"]["template"]["spec"]["containers"]
        for env in c["env"]
        if "valueFrom" in env
    }
    assert refs == {"mercato-prod-secrets"}


def test_production_refuses_an_inline_auth_secret() -> None:
    values = load_values("values-prod.yaml", overlay={"secrets": {"create": True}})

    with pytest.raises(helm.HelmError, match="production must reference an existing Secret"):
        render(values)


def test_an_inline_auth_secret_must_be_long_enough() -> None:
    values = load_values("values-dev.yaml", overlay={"secrets": {"values": {"auth-secret": "short"}}})

    with pytest.raises(helm.HelmError, match="32\\+ characters"):
        render(values)


def test_image_tag_defaults_to_the_app_version_latest_is_refused_and_a_digest_wins() -> None:
    chart = yaml.safe_load((ROOT / "deploy/helm/mercato/Chart.yaml").read_text())
    digest = "sha256:" + "ab" * 32

    def images(manifests: list[Manifest]) -> set[str]:
        return {
            c["image"]
            for m in manifests
            if m.kind in {"Deployment", "Job"}
            for c in m.body["spec"]["template"]["spec"]["containers"]
        }

    assert images(rendered("values.yaml")) == {f"ghcr.io/mercato/mercato:{chart['appVersion']}"}
    assert images(rendered("values.yaml", {"image": {"digest": digest}})) == {
        f"ghcr.io/mercato/mercato@{digest}"
    }
    with pytest.raises(helm.HelmError, match="not latest"):
        render(load_values("values.yaml", overlay={"image": {"tag": "latest"}}))


def test_the_policy_check_catches_a_weakened_container() -> None:
    """The checker itself: strip the hardening from a rendered Deployment and it must object."""
    deployment = of(rendered("values.yaml"), "Deployment")["catalog"]
    body = copy.deepcopy(deployment.body)
    c = body["spec"]["template"]["spec"]["containers"][0]
    del c["readinessProbe"]
    del c["resources"]["limits"]
    c["securityContext"] = {"readOnlyRootFilesystem": False}
    body["spec"]["template"]["spec"]["securityContext"] = {}
    c["image"] = "ghcr.io/mercato/mercato:latest"

    problems = "\n".join(container_problems(Manifest(deployment.template, body)))

    for expected in (
        "readiness and liveness",
        "cpu and memory limits",
        "runAsNonRoot",
        "readOnlyRootFilesystem",
        "allowPrivilegeEscalation",
        "drop ALL",
        "RuntimeDefault",
        "floating tag",
    ):
        assert expected in problems


def test_the_topology_check_catches_a_missing_pdb_hpa_and_network_policy() -> None:
    manifests = [
        m
        for m in rendered("values.yaml")
        if m.kind not in {"PodDisruptionBudget", "HorizontalPodAutoscaler", "NetworkPolicy"}
    ]

    problems = "\n".join(topology_problems(manifests))

    assert "no PodDisruptionBudget" in problems
    assert "no HorizontalPodAutoscaler" in problems
    assert "no NetworkPolicy" in problems


def test_the_topology_check_catches_wrong_callers_leaked_urls_and_http_probes() -> None:
    overlay = {
        "contexts": {
            "catalog": {"callers": ["gateway"]},
            "payments": {"callers": ["gateway", "orders"]},
            "inventory": {"probes": {"liveness": {"type": "http", "path": "/healthz"}}},
        },
        "gateway": {"engines": ["redis", "postgresql"]},
    }

    problems = topology_problems(rendered("values.yaml", overlay))

    assert set(problems) == {
        "catalog: gRPC ingress from cart is closed but should be open",
        "cart: gRPC egress to catalog is closed but should be open",
        "catalog: gRPC ingress from search is closed but should be open",
        "search: gRPC egress to catalog is closed but should be open",
        "payments: gRPC ingress from orders is open but should be closed",
        "orders: gRPC egress to payments is open but should be closed",
        "gateway: gets MERCATO_DATABASE_URL but uses no such engine",
        "inventory: livenessProbe is not a gRPC probe on its grpc port",
    }


def test_the_topology_check_catches_a_missing_address_and_a_wrong_port() -> None:
    manifests = [copy.deepcopy(m) for m in rendered("values.yaml")]
    [config] = [m for m in manifests if m.kind == "ConfigMap" and m.name == "mercato-config"]
    del config.body["data"]["MERCATO_ORDERS_ADDRESS"]
    config.body["data"]["MERCATO_CATALOG_ADDRESS"] = "mercato-catalog:8000"
    config.body["data"]["MERCATO_CART_ADDRESS"] = "mercato-carts:50051"

    problems = topologycheck.check(manifests, single=False)

    assert "gateway: needs MERCATO_ORDERS_ADDRESS" in problems
    assert (
        "gateway: MERCATO_CATALOG_ADDRESS=mercato-catalog:8000: does not reach catalog's grpc port"
        in problems
    )
    assert (
        "cart: MERCATO_CATALOG_ADDRESS=mercato-catalog:8000: does not reach catalog's grpc port" in problems
    )
    assert "gateway: MERCATO_CART_ADDRESS=mercato-carts:50051 names no Service of the release" in problems


def test_the_checks_follow_the_code_s_call_graph() -> None:
    """topologycheck reads who calls whom from the code; it must agree with the brief pinned here."""
    components = ["gateway", *CONTEXTS]

    assert {name: set(topologycheck.callers(name, components)) for name in CONTEXTS} == CALLERS
    for name, urls in ENGINES.items():
        needed = topologycheck.required_env(name, single=False)
        assert needed & URLS == urls


# ---- Dockerfile -------------------------------------------------------------------------------------


def _dockerfile_stages() -> dict[str, list[tuple[str, str]]]:
    """Instructions per stage ({stage name: [(INSTRUCTION, arguments)]}), continuation lines joined."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    stages: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, args = line.partition(" ")
        instruction = instruction.upper()
        if instruction == "FROM":
            match = re.search(r"\bAS\s+(\S+)", args, re.IGNORECASE)
            current = []
            stages[match.group(1) if match else str(len(stages))] = current
        current.append((instruction, args.strip()))
    return stages


def test_dockerfile_runtime_stage_is_slim_non_root_and_health_checked() -> None:
    stages = _dockerfile_stages()
    name, runtime = list(stages.items())[-1]
    args = {k: v for k, v in re.findall(r"^ARG (\w+)=(\S+)", (ROOT / "Dockerfile").read_text(), re.M)}
    base = runtime[0][1].split()[0].replace("${PYTHON_IMAGE}", args.get("PYTHON_IMAGE", ""))

    assert name == "runtime"
    assert len(stages) >= 2  # multi-stage: the builder's pip and sources stay out of the runtime
    assert base.startswith("python:3.11-slim")
    users = [value for instruction, value in runtime if instruction == "USER"]
    assert users
    assert users[-1].split(":")[0] not in {"root", "0"}
    healthchecks = [value for instruction, value in runtime if instruction == "HEALTHCHECK"]
    assert len(healthchecks) == 1
    assert "/healthz" in healthchecks[0]
    assert "urllib" in healthchecks[0]
    assert ("EXPOSE", "8000") in runtime
    assert ("ENTRYPOINT", '["mercato"]') in runtime
    assert ("CMD", '["serve", "--host", "0.0.0.0"]') in runtime


def test_dockerfile_builder_installs_the_project_non_editable() -> None:
    builder = _dockerfile_stages()["builder"]

    runs = " ".join(value for instruction, value in builder if instruction == "RUN")
    assert "pip install ." in runs
    assert "-e" not in runs.split()


def test_helm_renders_without_a_helm_binary() -> None:
    """helm-python-sdk bundles Helm's Go SDK; nothing is downloaded or executed from PATH."""
    assert helm.helm_sdk_version().startswith("v")
    assert Path(helm.__file__).parent.joinpath("lib").is_dir()


@pytest.mark.parametrize("name", CONTEXTS)
def test_a_context_service_is_headless_so_callers_balance_over_its_pods(name: str) -> None:
    [service] = [
        m for m in rendered("values-prod.yaml") if m.kind == "Service" and m.name == f"mercato-{name}"
    ]
    assert service.body["spec"]["clusterIP"] == "None"
    grpc_port = next(p for p in service.body["spec"]["ports"] if p["name"] == "grpc")
    assert grpc_port["port"] == 50051  # a headless Service maps no port: callers dial the pod's own


@pytest.mark.parametrize("name", ["gateway", *CONTEXTS])
def test_grpc_tls_mounts_the_certificates_and_probes_contexts_over_http(name: str) -> None:
    deployment = of(rendered("values-prod.yaml", GRPC_TLS_OVERLAY), "Deployment")[name]
    c = container(deployment)
    env = {e["name"]: e.get("value") for e in c["env"]}
    assert env["MERCATO_GRPC_TLS_CERT_FILE"] == "/etc/mercato/tls/tls.crt"
    assert env["MERCATO_GRPC_TLS_KEY_FILE"] == "/etc/mercato/tls/tls.key"
    assert env["MERCATO_GRPC_TLS_CA_FILE"] == "/etc/mercato/tls/ca.crt"
    assert {"name": "grpc-tls", "mountPath": "/etc/mercato/tls", "readOnly": True} in c["volumeMounts"]
    volumes = deployment.body["spec"]["template"]["spec"]["volumes"]
    assert {"name": "grpc-tls", "secret": {"secretName": "mercato-grpc-tls", "defaultMode": 0o440}} in volumes
    # The kubelet's gRPC probe has no TLS: with TLS on, every probe is HTTP.
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert all("grpc" not in c[p] for p in ("startupProbe", "readinessProbe", "livenessProbe"))


@pytest.mark.parametrize(
    ("values_file", "namespace"), [("values-dev.yaml", "mercato_dev"), ("values-prod.yaml", "mercato")]
)
def test_the_nats_users_config_map_is_what_mercato_generates_for_the_namespace(
    values_file: str, namespace: str
) -> None:
    [config_map] = [
        m for m in rendered(values_file) if m.kind == "ConfigMap" and m.name == "mercato-nats-users"
    ]

    assert load_values(values_file).get("config", {}).get("MERCATO_NAMESPACE", "mercato") == namespace
    assert config_map.body["data"]["nats-users.conf"] == nats_config(namespace)


def test_the_charts_nats_users_file_is_the_generated_one() -> None:
    # The chart renders it for its namespace by replacing the placeholder (templates/nats-users.yaml).
    assert (ROOT / "deploy/helm/mercato/files/nats-users.conf").read_text() == nats_config("nsplaceholder")
