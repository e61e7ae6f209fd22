"""Checks of the rendered chart against what the code says each process needs and whom it calls.

The facts come from the code, not from a copy here: `ENGINES_OF` (the engines each context uses),
`service_process.CALLS` (contexts calling contexts) and `topology.GATEWAY_UPSTREAMS` (what the gateway
calls). A new gRPC call in the code without its chart counterpart (address, egress, ingress) fails
`make chart`.

Checked for every Deployment: its command; the environment it gets (ConfigMap + Secret references)
holds every setting its command needs and no engine URL it does not; each MERCATO_<X>_ADDRESS resolves
to a Service port that reaches X's gRPC container port; the NetworkPolicies admit each context's gRPC
port from exactly its callers, in both directions (the callee's ingress and the caller's egress).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from mercato.app.components import ENGINES_OF
from mercato.app.service_process import CALLS, ENGINE_VARIABLES
from mercato.app.topology import GATEWAY_UPSTREAMS

AUTH_SECRET = "MERCATO_AUTH_SECRET"
# Seals vaulted payment tokens: whatever hosts payments must get it (without it the key would be
# derived from the auth secret, for development only; docs/security.md "Payment data").
VAULT_KEY = "MERCATO_PAYMENTS_VAULT_KEY"
ALL_ENGINE_VARIABLES = frozenset(ENGINE_VARIABLES.values())


class ManifestLike(Protocol):
    @property
    def kind(self) -> str: ...

    @property
    def name(self) -> str: ...

    body: dict[str, Any]


def callees(component: str) -> frozenset[str]:
    """The contexts `component` calls over gRPC, as the code wires it."""
    if component == "gateway":
        return frozenset(GATEWAY_UPSTREAMS)
    return frozenset(CALLS.get(component, ()))


def callers(context: str, components: Iterable[str]) -> frozenset[str]:
    return frozenset(c for c in components if context in callees(c))


# Components that are no `mercato serve` process: the forecaster (`mercato ops forecast`), no engine.
TOOLS = {"forecaster": ["ops", "forecast"]}


def required_env(component: str, *, single: bool) -> frozenset[str]:
    """What `mercato serve <target>` refuses to start without (see cli._serve_graphql, service_process)."""
    if component in TOOLS:
        return frozenset()
    if single:
        return ALL_ENGINE_VARIABLES | {AUTH_SECRET, VAULT_KEY}
    if component == "gateway":
        engines = {ENGINE_VARIABLES["redis"]}
    else:
        engines = {ENGINE_VARIABLES[e] for e in ENGINES_OF[component]}
    addresses = {f"MERCATO_{c.upper()}_ADDRESS" for c in callees(component)}
    vault = {VAULT_KEY} if component == "payments" else set()
    return frozenset(engines | addresses | vault | {AUTH_SECRET})


@dataclass(frozen=True)
class Workload:
    """One Deployment's container as the checks need it."""

    component: str
    labels: dict[str, str]
    container: dict[str, Any]
    env: dict[str, str]  # name -> value, or "secret:<name>/<key>" for a Secret reference

    def port(self, name: str) -> int | None:
        for port in self.container.get("ports", []):
            if port.get("name") == name:
                return int(port["containerPort"])
        return None


def workloads(manifests: Iterable[ManifestLike]) -> dict[str, Workload]:
    manifests = list(manifests)
    configmaps = {m.name: dict(m.body.get("data") or {}) for m in manifests if m.kind == "ConfigMap"}
    out: dict[str, Workload] = {}
    for m in manifests:
        if m.kind != "Deployment":
            continue
        template = m.body["spec"]["template"]
        labels = dict(template["metadata"]["labels"])
        [container] = template["spec"]["containers"]
        env: dict[str, str] = {}
        for source in container.get("envFrom", []):
            env.update(configmaps.get(source.get("configMapRef", {}).get("name", ""), {}))
        for var in container.get("env", []):
            ref = (var.get("valueFrom") or {}).get("secretKeyRef")
            env[var["name"]] = f"secret:{ref['name']}/{ref['key']}" if ref else str(var.get("value", ""))
        component = labels.get("app.kubernetes.io/component", m.name)
        out[component] = Workload(component, labels, container, env)
    return out


def tool_problems(w: Workload) -> list[str]:
    args = [str(a) for a in w.container.get("args", [])]
    expected = TOOLS[w.component]
    return (
        []
        if args[: len(expected)] == expected
        else [f"{w.component}: args {args} do not start with {expected}"]
    )


def command_problems(w: Workload, *, single: bool) -> list[str]:
    args = [str(a) for a in w.container.get("args", [])]
    problems: list[str] = []
    if w.component == "gateway":
        expected = ["serve"] if single else ["serve", "gateway"]
        if args[: len(expected)] != expected or (not single and args[1:2] != ["gateway"]):
            problems.append(f"gateway: args {args} do not start with {expected}")
        if "--port" in args and w.port("http") != int(args[args.index("--port") + 1]):
            problems.append("gateway: --port is not the container's http port")
        return problems
    if args != ["serve", w.component]:
        problems.append(f"{w.component}: args {args} are not ['serve', '{w.component}']")
    if w.env.get("MERCATO_GRPC_HOST") != "0.0.0.0":
        problems.append(f"{w.component}: MERCATO_GRPC_HOST is not 0.0.0.0 (the server would be unreachable)")
    grpc = w.port("grpc")
    if grpc is None or w.env.get("MERCATO_GRPC_PORT") != str(grpc):
        problems.append(f"{w.component}: MERCATO_GRPC_PORT is not the container's grpc port")
    if w.env.get("MERCATO_HTTP_PORT") != str(w.port("http")):
        problems.append(f"{w.component}: MERCATO_HTTP_PORT is not the container's http port")
    tls = "MERCATO_GRPC_TLS_CERT_FILE" in w.env
    for kind in ("readinessProbe", "livenessProbe"):
        probe = w.container.get(kind) or {}
        if tls:  # the kubelet's gRPC probe has no TLS: a TLS-only server is probed on its HTTP port
            if (probe.get("httpGet") or {}).get("port") != "http":
                problems.append(f"{w.component}: {kind} is not an HTTP probe (gRPC is TLS-only)")
        elif grpc is None or (probe.get("grpc") or {}).get("port") != grpc:
            problems.append(f"{w.component}: {kind} is not a gRPC probe on its grpc port")
    return problems


def env_problems(w: Workload, *, single: bool) -> list[str]:
    needed = required_env(w.component, single=single)
    problems = [f"{w.component}: needs {name}" for name in sorted(needed - set(w.env))]
    extra = (ALL_ENGINE_VARIABLES & set(w.env)) - needed
    problems += [f"{w.component}: gets {name} but uses no such engine" for name in sorted(extra)]
    return problems


def _selects(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def address_problems(
    w: Workload, manifests: Iterable[ManifestLike], pods: Mapping[str, Workload]
) -> list[str]:
    services = {m.name: m.body for m in manifests if m.kind == "Service"}
    problems: list[str] = []
    for name, value in sorted(w.env.items()):
        if not (name.startswith("MERCATO_") and name.endswith("_ADDRESS")):
            continue
        context = name.removeprefix("MERCATO_").removesuffix("_ADDRESS").lower()
        # gRPC target syntax: `dns:///host:port` (every address the name resolves to) or `host:port`.
        host, _, port = value.removeprefix("dns:///").rpartition(":")
        service = services.get(host.split(".")[0])
        if service is None or not port.isdigit():
            problems.append(f"{w.component}: {name}={value} names no Service of the release")
            continue
        sport = next((p for p in service["spec"]["ports"] if p["port"] == int(port)), None)
        if sport is None:
            problems.append(f"{w.component}: {name}={value}: the Service has no port {port}")
            continue
        target = pods.get(context)
        if target is None or not _selects(service["spec"]["selector"], target.labels):
            problems.append(f"{w.component}: {name}={value}: the Service does not select the {context} pods")
            continue
        grpc, wanted = target.port("grpc"), sport.get("targetPort", sport["port"])
        if grpc is None or wanted not in ("grpc", grpc):
            problems.append(f"{w.component}: {name}={value}: does not reach {context}'s grpc port")
    return problems


def _policies(
    manifests: Iterable[ManifestLike], labels: Mapping[str, str], direction: str
) -> list[dict[str, Any]]:
    """The rules of `direction` (ingress/egress) of every NetworkPolicy that selects a pod with `labels`."""
    rules: list[dict[str, Any]] = []
    for m in manifests:
        if m.kind != "NetworkPolicy":
            continue
        spec = m.body["spec"]
        if not _selects(spec["podSelector"].get("matchLabels") or {}, labels):
            continue
        rules += spec.get(direction) or []
    return rules


def _admits(rules: list[dict[str, Any]], port: int, peer_key: str, peer: Mapping[str, str]) -> bool:
    for rule in rules:
        ports = [p.get("port") for p in rule.get("ports") or []]
        if ports and port not in ports:
            continue
        peers = rule.get(peer_key)
        if not peers:
            return True  # no peers listed: any address
        for p in peers:
            if "ipBlock" in p or (p.get("namespaceSelector") or {}).get("matchLabels"):
                continue  # addresses or named namespaces: taken as never the release's own pods
            if _selects((p.get("podSelector") or {}).get("matchLabels") or {}, peer):
                return True
    return False


def network_problems(manifests: Iterable[ManifestLike], pods: Mapping[str, Workload]) -> list[str]:
    """Each context's gRPC port: reachable from exactly its callers (ingress and the callers' egress)."""
    manifests = list(manifests)
    if not any(m.kind == "NetworkPolicy" for m in manifests):
        return []
    problems: list[str] = []
    for context, target in sorted(pods.items()):
        grpc = target.port("grpc")
        if grpc is None:
            continue
        expected = callers(context, pods)
        ingress = _policies(manifests, target.labels, "ingress")
        for source_name, source in sorted(pods.items()):
            if source_name == context:
                continue
            admitted = _admits(ingress, grpc, "from", source.labels)
            egress = _admits(_policies(manifests, source.labels, "egress"), grpc, "to", target.labels)
            allowed = source_name in expected
            if admitted != allowed:
                problems.append(f"{context}: gRPC ingress from {source_name} is {_word(admitted, allowed)}")
            if egress != allowed:
                problems.append(f"{source_name}: gRPC egress to {context} is {_word(egress, allowed)}")
    return problems


def _word(actual: bool, expected: bool) -> str:
    return f"{'open' if actual else 'closed'} but should be {'open' if expected else 'closed'}"


def check(manifests: Iterable[ManifestLike], *, single: bool) -> list[str]:
    manifests = list(manifests)
    pods = workloads(manifests)
    problems: list[str] = []
    for w in pods.values():
        problems += tool_problems(w) if w.component in TOOLS else command_problems(w, single=single)
        problems += env_problems(w, single=single)
        problems += address_problems(w, manifests, pods)
    expected = {"gateway"} if single else {"gateway", *ENGINES_OF}
    problems += [f"no {name} Deployment" for name in sorted(expected - set(pods))]
    return problems + network_problems(manifests, pods)
