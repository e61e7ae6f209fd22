"""The Helm chart, the Dockerfile and docker-compose.yml: rendered and checked offline, no cluster."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import yaml

from tests.deploy.chartcheck import (
    DISTRIBUTED_OVERLAY,
    ROOT,
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


@pytest.mark.parametrize(("label", "values"), CASES, ids=[label for label, _ in CASES])
def test_chart_renders_valid_manifests_that_meet_the_policies(label: str, values: dict[str, Any]) -> None:
    report = check(label, values)

    assert report.manifests
    assert report.problems == []


def test_chart_lints_clean_in_strict_mode() -> None:
    assert lint_messages() == []


@pytest.mark.parametrize("values_file", ["values.yaml", "values-prod.yaml"])
def test_gateway_has_a_pdb_an_hpa_and_a_network_policy(values_file: str) -> None:
    manifests = render(load_values(values_file))

    gateway = {m.kind for m in manifests if component(m) == "gateway"}
    assert {
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
        "NetworkPolicy",
    } <= gateway


def test_contexts_are_prepared_but_disabled_by_default() -> None:
    default = render(load_values("values.yaml"))
    distributed = render(load_values("values-prod.yaml", overlay=DISTRIBUTED_OVERLAY))

    assert {component(m) for m in default if m.kind == "Deployment"} == {"gateway"}
    assert {component(m) for m in distributed if m.kind == "Deployment"} == {
        "gateway",
        "catalog",
        "inventory",
        "cart",
        "customers",
        "orders",
        "payments",
    }


def test_an_internal_service_admits_only_its_callers() -> None:
    manifests = render(load_values("values-prod.yaml", overlay=DISTRIBUTED_OVERLAY))
    policy = next(m for m in manifests if m.kind == "NetworkPolicy" and component(m) == "payments")

    [rule] = policy.body["spec"]["ingress"]
    callers = {peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"] for peer in rule["from"]}
    assert callers == {"gateway", "orders"}


def test_the_migration_job_is_a_pre_install_and_pre_upgrade_hook() -> None:
    manifests = render(load_values("values-prod.yaml"), upgrade=True)

    [job] = [m for m in manifests if m.kind == "Job"]
    assert job.annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert job.body["spec"]["template"]["spec"]["containers"][0]["args"] == ["migrate"]


def test_production_keeps_secrets_out_of_the_chart() -> None:
    manifests = render(load_values("values-prod.yaml"))

    assert [m for m in manifests if m.kind == "Secret"] == []
    refs = {
        env["valueFrom"]["secretKeyRef"]["name"]
        for m in manifests
        if m.kind == "Deployment"
        for c in m.body["spec"]["template"]["spec"]["containers"]
        for env in c["env"]
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


def test_image_tag_defaults_to_the_app_version_and_latest_is_refused() -> None:
    chart = yaml.safe_load((ROOT / "deploy/helm/mercato/Chart.yaml").read_text())
    images = {
        c["image"]
        for m in render(load_values("values.yaml"))
        if m.kind in {"Deployment", "Job"}
        for c in m.body["spec"]["template"]["spec"]["containers"]
    }

    assert images == {f"ghcr.io/mercato/mercato:{chart['appVersion']}"}
    with pytest.raises(helm.HelmError, match="not latest"):
        render(load_values("values.yaml", overlay={"image": {"tag": "latest"}}))


def test_the_policy_check_catches_a_weakened_container() -> None:
    """The checker itself: strip the hardening from a rendered Deployment and it must object."""
    [deployment] = [m for m in render(load_values("values.yaml")) if m.kind == "Deployment"]
    body = copy.deepcopy(deployment.body)
    container = body["spec"]["template"]["spec"]["containers"][0]
    del container["readinessProbe"]
    del container["resources"]["limits"]
    container["securityContext"] = {"readOnlyRootFilesystem": False}
    body["spec"]["template"]["spec"]["securityContext"] = {}
    container["image"] = "ghcr.io/mercato/mercato:latest"

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
        for m in render(load_values("values.yaml"))
        if m.kind not in {"PodDisruptionBudget", "HorizontalPodAutoscaler", "NetworkPolicy"}
    ]

    problems = "\n".join(topology_problems(manifests))

    assert "no PodDisruptionBudget" in problems
    assert "no HorizontalPodAutoscaler" in problems
    assert "no NetworkPolicy" in problems


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


# ---- docker-compose.yml -----------------------------------------------------------------------------


def _compose() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "docker-compose.yml").read_text()))


def test_compose_pins_every_image_tag() -> None:
    services = _compose()["services"]

    for name, service in services.items():
        image = str(service.get("image", ""))
        if not image:
            assert "build" in service, f"{name}: neither image nor build"
            continue
        tag = image.rsplit("/", 1)[-1].partition(":")[2]
        assert tag, f"{name}: image {image} has no tag"
        assert tag != "latest", f"{name}: image {image} uses latest"
        assert not tag.startswith("${"), f"{name}: tag of {image} is not pinned in the file"


def test_compose_runs_the_whole_stack() -> None:
    services = _compose()["services"]

    assert {"postgres", "nats-1", "nats-2", "nats-3", "redis", "migrate", "mercato"} <= set(services)
    assert {"prometheus", "grafana", "otel-collector"} <= set(services)
    assert services["migrate"]["command"] == ["migrate"]
    assert services["mercato"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["mercato"]["read_only"] is True
    for name in ("nats-1", "nats-2", "nats-3"):
        assert "-js" in services[name]["command"] or "--jetstream" in services[name]["command"]


def test_compose_config_files_exist() -> None:
    services = _compose()["services"]
    for service in services.values():
        for volume in service.get("volumes", []):
            source = str(volume).split(":", 1)[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), source


def test_helm_renders_without_a_helm_binary() -> None:
    """helm-python-sdk bundles Helm's Go SDK; nothing is downloaded or executed from PATH."""
    assert helm.helm_sdk_version().startswith("v")
    assert Path(helm.__file__).parent.joinpath("lib").is_dir()
