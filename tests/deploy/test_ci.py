"""The CI workflow: valid YAML with the jobs of the pipeline, every `run` step a `make` target that the
Makefile defines, the staging deploy by the digest the image job pushed."""

from __future__ import annotations

import re
import subprocess
from typing import Any

import pytest
import yaml

from tests.deploy.chartcheck import ROOT

WORKFLOW = ROOT / ".github/workflows/ci.yml"


def _workflow() -> dict[str, Any]:
    return dict(yaml.safe_load(WORKFLOW.read_text()))


def _make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([a-z][a-z0-9-]*):(?!=)", text, re.MULTILINE))


def _run_steps() -> list[tuple[str, str]]:
    return [
        (job_name, str(step["run"]))
        for job_name, job in _workflow()["jobs"].items()
        for step in job["steps"]
        if "run" in step
    ]


MAKE_CALL = re.compile(r"make (?:-s )?([a-z][a-z0-9-]*)(?: [^\n]*)?")


def _make(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["make", "-s", *args], cwd=ROOT, capture_output=True, text=True, check=False)


def test_the_pipeline_has_every_stage() -> None:
    workflow = _workflow()
    jobs = workflow["jobs"]
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true

    assert set(triggers) >= {"push", "pull_request"}
    assert set(jobs) == {"lint", "proto", "test", "chart", "image", "deploy-staging"}
    assert set(jobs["image"]["needs"]) == {"test", "proto", "chart"}
    assert jobs["deploy-staging"]["needs"] == "image"
    assert jobs["deploy-staging"]["if"] == "github.ref == 'refs/heads/main' && github.event_name == 'push'"


def test_every_run_step_is_a_make_target_of_the_makefile() -> None:
    targets = _make_targets()
    steps = _run_steps()

    assert steps
    for job, command in steps:
        match = MAKE_CALL.fullmatch(command.strip())
        assert match, f"{job}: `{command}` is not one make call"
        assert match.group(1) in targets, f"{job}: make {match.group(1)} is not a Makefile target"


def test_each_job_runs_its_target() -> None:
    runs = set()
    for job, command in _run_steps():
        match = MAKE_CALL.fullmatch(command.strip())
        assert match
        runs.add((job, match.group(1)))

    assert {
        ("lint", "lint"),
        ("proto", "proto-breaking"),
        ("test", "ci-nats"),
        ("test", "test"),
        ("chart", "chart"),
        ("deploy-staging", "deploy"),
        ("deploy-staging", "smoke"),
    } <= runs


def test_tests_run_against_postgresql_redis_and_nats_jetstream() -> None:
    job = _workflow()["jobs"]["test"]

    assert set(job["services"]) == {"postgres", "redis"}
    assert job["env"]["MERCATO_DATABASE_URL"].startswith("postgresql://")
    assert job["env"]["MERCATO_NATS_URL"] == "nats://127.0.0.1:4222"
    assert job["env"]["MERCATO_REDIS_URL"].startswith("redis://")
    commands = [s.get("run") for s in job["steps"] if "run" in s]
    assert commands == ["make ci-nats", "make test"]


def test_buf_breaking_compares_with_the_base_and_has_the_history_for_it() -> None:
    job = _workflow()["jobs"]["proto"]
    [checkout] = [s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/checkout")]
    [step] = [s for s in job["steps"] if s.get("run") == "make proto-breaking"]

    assert checkout["with"]["fetch-depth"] == 0
    assert "github.event.pull_request.base.sha" in step["env"]["PROTO_BASE"]
    assert "github.event.before" in step["env"]["PROTO_BASE"]
    dry = _make("-n", "proto-breaking", "PROTO_BASE=0123abc")
    assert "--against '.git#ref=0123abc,subdir=proto'" in dry.stdout


def test_the_image_digest_flows_from_the_push_to_the_staging_deploy() -> None:
    jobs = _workflow()["jobs"]
    [build] = [
        s for s in jobs["image"]["steps"] if str(s.get("uses", "")).startswith("docker/build-push-action")
    ]

    assert build["id"] == "build"
    assert jobs["image"]["outputs"]["digest"] == "${{ steps.build.outputs.digest }}"
    assert jobs["image"]["permissions"]["packages"] == "write"
    assert jobs["deploy-staging"]["env"]["IMAGE_DIGEST"] == "${{ needs.image.outputs.digest }}"
    assert jobs["deploy-staging"]["env"]["DEPLOY_VALUES"] == "deploy/helm/mercato/values-staging.yaml"


def test_make_deploy_installs_the_chart_by_digest_and_refuses_without_one() -> None:
    digest = "sha256:" + "0" * 64

    dry = _make("-n", "deploy", f"IMAGE_DIGEST={digest}", "IMAGE=ghcr.io/acme/mercato")
    refused = _make("deploy", "IMAGE_DIGEST=", "HELM=false")

    assert "upgrade --install mercato deploy/helm/mercato" in dry.stdout
    assert f"--set image.digest={digest}" in dry.stdout
    assert "--set image.repository=ghcr.io/acme/mercato" in dry.stdout
    assert "-f deploy/helm/mercato/values-staging.yaml" in dry.stdout
    assert "--atomic --wait" in dry.stdout
    assert refused.returncode != 0
    assert "IMAGE_DIGEST" in refused.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["SMOKE_URL=http://127.0.0.1:8000"], "deploy/scripts/smoke.py --url http://127.0.0.1:8000"),
        (["KUBE_NAMESPACE=shop"], "deploy/scripts/smoke.py --namespace shop --service mercato-gateway"),
    ],
)
def test_make_smoke_targets_a_url_or_the_release_service(args: list[str], expected: str) -> None:
    assert expected in _make("-n", "smoke", *args).stdout


def test_make_image_meta_prints_the_version_and_a_commit_tag() -> None:
    lines = dict(line.split("=", 1) for line in _make("image-meta").stdout.splitlines())
    version = re.search(r'^version = "(.*)"', (ROOT / "pyproject.toml").read_text(), re.MULTILINE)

    assert version is not None
    assert lines["version"] == version.group(1)
    assert re.fullmatch(re.escape(version.group(1)) + r"-[0-9a-f]{12}", lines["tag"])
