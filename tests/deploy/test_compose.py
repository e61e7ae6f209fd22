"""docker-compose.yml and its Prometheus config, read with pyyaml (`docker compose config` needs the
compose plugin; it runs too when present).

Each Mercato service's environment is checked against what its command needs, as the code says
(tests/deploy/topologycheck.py reads it from the code), and every gRPC address against the service it
names.
"""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import pytest
import yaml

from tests.deploy import topologycheck
from tests.deploy.chartcheck import ROOT

CONTEXTS = ("catalog", "inventory", "cart", "customers", "payments", "orders", "search")
ENGINE_SERVICES = {
    "MERCATO_DATABASE_URL": "postgres",
    "MERCATO_NATS_URL": "nats-1",
    "MERCATO_REDIS_URL": "redis",
}


def _compose() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "docker-compose.yml").read_text()))


def _mercato_services() -> dict[str, dict[str, Any]]:
    """Services running the Mercato image, by the `mercato serve` target they run (or `migrate`)."""
    out: dict[str, dict[str, Any]] = {}
    for name, service in _compose()["services"].items():
        if "build" not in service:
            continue
        command = [str(c) for c in service["command"]]
        target = command[1] if command[0] == "serve" and len(command) > 1 and command[1][:2] != "--" else None
        out[target or command[0]] = {"name": name, **service}
    return out


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


def test_compose_runs_the_whole_distributed_stack() -> None:
    services = _compose()["services"]
    mercato = _mercato_services()

    assert {"postgres", "nats-1", "nats-2", "nats-3", "redis", "migrate", "gateway", *CONTEXTS} <= set(
        services
    )
    assert {"prometheus", "grafana", "otel-collector"} <= set(services)
    assert set(mercato) == {"migrate", "gateway", *CONTEXTS}
    assert services["migrate"]["command"] == ["migrate"]
    assert services["gateway"]["command"] == [
        "serve", "gateway", "--host", "0.0.0.0", "--port", "8000", "--workers", "1"
    ]  # fmt: skip
    for name in CONTEXTS:
        assert services[name]["command"] == ["serve", name]
    for name in ("nats-1", "nats-2", "nats-3"):
        assert "-js" in services[name]["command"] or "--jetstream" in services[name]["command"]


@pytest.mark.parametrize("target", ["gateway", *CONTEXTS])
def test_each_process_gets_what_its_command_needs_and_no_other_engine(target: str) -> None:
    service = _mercato_services()[target]
    env = service["environment"]

    needed = topologycheck.required_env(target, single=False)
    assert needed <= set(env), f"{target} lacks {sorted(needed - set(env))}"
    assert set(env) & topologycheck.ALL_ENGINE_VARIABLES == needed & topologycheck.ALL_ENGINE_VARIABLES
    assert len(env["MERCATO_AUTH_SECRET"].removeprefix("${MERCATO_AUTH_SECRET:-").rstrip("}")) >= 32
    if target != "gateway":
        assert env["MERCATO_GRPC_HOST"] == "0.0.0.0"
        assert env["MERCATO_HTTP_HOST"] == "0.0.0.0"


@pytest.mark.parametrize("target", ["gateway", *CONTEXTS, "migrate"])
def test_each_process_waits_for_what_it_connects_to(target: str) -> None:
    services = _compose()["services"]
    service = _mercato_services()[target]
    depends = service["depends_on"]
    env = service["environment"]

    for var, engine in ENGINE_SERVICES.items():
        if var in env and target != "migrate":
            assert depends[engine]["condition"] == "service_healthy", f"{target} -> {engine}"
    for var, value in env.items():
        if var.endswith("_ADDRESS"):
            host, _, port = value.rpartition(":")
            callee = services[host]
            assert callee["command"] == [
                "serve",
                var.removeprefix("MERCATO_").removesuffix("_ADDRESS").lower(),
            ]
            assert callee["environment"]["MERCATO_GRPC_PORT"] == port
            assert depends[host]["condition"] == "service_healthy"
            assert "healthcheck" in callee
    if target in CONTEXTS and target != "cart":
        assert depends["migrate"]["condition"] == "service_completed_successfully"
    if target == "migrate":
        assert depends["postgres"]["condition"] == "service_healthy"


@pytest.mark.parametrize("target", ["gateway", *CONTEXTS, "migrate"])
def test_mercato_containers_are_hardened(target: str) -> None:
    service = _mercato_services()[target]

    assert service["read_only"] is True
    assert service["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in service["security_opt"]


def test_prometheus_scrapes_every_mercato_process() -> None:
    config = yaml.safe_load((ROOT / "deploy/compose/prometheus.yml").read_text())
    services = _mercato_services()

    [job] = [j for j in config["scrape_configs"] if j["job_name"] == "mercato"]
    targets = {t: group["labels"]["component"] for group in job["static_configs"] for t in group["targets"]}
    assert job["metrics_path"] == "/metrics"
    assert targets == {
        f"{services[name]['name']}:{services[name]['environment']['MERCATO_HTTP_PORT']}": name
        for name in ("gateway", *CONTEXTS)
    }


def test_compose_config_files_exist() -> None:
    services = _compose()["services"]
    for service in services.values():
        for volume in service.get("volumes", []):
            source = str(volume).split(":", 1)[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), source


def _compose_plugin() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "compose", "version"], capture_output=True, check=False).returncode == 0


@pytest.mark.skipif(not _compose_plugin(), reason="the docker compose plugin is not installed")
def test_docker_compose_accepts_the_file() -> None:
    result = subprocess.run(
        ["docker", "compose", "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr


def _user(url: str) -> str:
    return url.split("://", 1)[1].split(":", 1)[0]


def test_each_process_signs_in_to_each_engine_as_a_user_of_its_own() -> None:
    services = _mercato_services()
    users: dict[str, dict[str, str]] = {}
    for target in ("gateway", *CONTEXTS):
        env = services[target]["environment"]
        users[target] = {var: _user(env[var]) for var in ENGINE_SERVICES if var in env}

    for var in ENGINE_SERVICES:
        per_process = [u[var] for u in users.values() if var in u]
        assert len(set(per_process)) == len(per_process), f"{var}: shared users {per_process}"
    assert users["catalog"] == {
        "MERCATO_DATABASE_URL": "mercato_catalog",
        "MERCATO_NATS_URL": "catalog",
        "MERCATO_REDIS_URL": "catalog",
    }
    # No process but the migration holds the owner of the schemas.
    assert "mercato" not in {u.get("MERCATO_DATABASE_URL") for u in users.values()}


def test_the_migration_connects_as_the_owner_and_creates_every_contexts_role() -> None:
    services = _mercato_services()
    env = services["migrate"]["environment"]

    own = {var: env[var] for var in env if var.endswith("_DATABASE_URL") and var != "MERCATO_DATABASE_URL"}

    assert _user(env["MERCATO_DATABASE_URL"]) == "mercato"
    assert own == {
        f"MERCATO_{c.upper()}_DATABASE_URL": services[c]["environment"]["MERCATO_DATABASE_URL"]
        for c in CONTEXTS
        if "MERCATO_DATABASE_URL" in services[c]["environment"]
    }


def test_nats_and_redis_load_their_users_and_know_every_password() -> None:
    services = _compose()["services"]
    acl = (ROOT / "deploy/compose/redis-users.acl").read_text().splitlines()
    redis_passwords = {line.split()[1]: line.split()[3].removeprefix(">") for line in acl if " on " in line}
    urls = [
        url
        for s in _mercato_services().values()
        for var, url in s["environment"].items()
        if var.endswith("_URL") and "DATABASE" not in var
    ]

    for name in ("nats-1", "nats-2", "nats-3"):
        assert services[name]["command"][:2] == ["-c", "/etc/nats/nats-auth.conf"]
        assert "./deploy/compose/nats-auth.conf:/etc/nats/nats-auth.conf:ro" in services[name]["volumes"]
    assert "--aclfile" in services["redis"]["command"]
    assert "user default off" in acl
    nats_env = services["nats-1"]["environment"]
    for url in urls:
        user, password = url.split("://", 1)[1].split("@", 1)[0].split(":", 1)
        if url.startswith("nats://"):
            assert nats_env[f"NATS_{user.upper()}_PASSWORD"] == password, url
        else:
            assert redis_passwords[user] == password, url
