#!/usr/bin/env python3
# ruff: noqa: T201 - a command-line tool: it reports on stdout
"""Smoke test of a running Mercato through its gateway (`make smoke`; CI runs it after a deploy).

1. /readyz answers 200 and, in the distributed topology, reports every gRPC upstream SERVING — the
   gateway reaches each context (Services, NetworkPolicies, service tokens).
2. A products query (catalog, with availability from its read model of the inventory's levels).
3. cartCreate, then one line of an available SKU if there is one (cart, and cart -> catalog pricing).

Standard library only: CI's deploy job runs it with the runner's python3. Either `--url` of a gateway,
or `--namespace` and `--service`: it port-forwards to the Service with kubectl.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

PRODUCTS = (
    "{ products(first: 5) { edges { node { name variants { sku quantityAvailable price { amount currency } }"
    " } } } }"
)
CART_CREATE = "mutation { cartCreate { cart { id itemCount } errors { field code message } } }"
CART_LINES_ADD = (
    "mutation($cartId: ID!, $sku: String!) { cartLinesAdd(cartId: $cartId, lines: [{sku: $sku, quantity: 1}])"
    " { cart { id itemCount total { amount currency } } errors { field code message } } }"
)


class SmokeFailure(Exception):
    pass


def request(url: str, body: dict[str, Any] | None = None, timeout: float = 10) -> tuple[int, Any]:
    if not url.startswith(("http://", "https://")):
        raise SmokeFailure(f"not an http(s) URL: {url}")
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers={"content-type": "application/json"})  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - checked above
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        payload = exc.read()
        try:
            return exc.code, json.loads(payload or b"null")
        except ValueError:
            return exc.code, payload.decode(errors="replace")


def graphql(base: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    status, body = request(f"{base}/graphql", {"query": query, "variables": variables or {}})
    if status != 200 or not isinstance(body, dict) or body.get("errors") or not body.get("data"):
        raise SmokeFailure(f"GraphQL answered {status}: {body}")
    return dict(body["data"])


def wait_ready(base: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            status, body = request(f"{base}/readyz", timeout=5)
        except OSError as exc:
            status, body = 0, str(exc)
        upstreams = body.get("upstreams", {}) if isinstance(body, dict) else {}
        if status == 200 and all(state == "SERVING" for state in upstreams.values()):
            return dict(body)
        last = (status, body)
        time.sleep(2)
    raise SmokeFailure(f"not ready after {timeout:.0f}s: {last}")


def run(base: str, timeout: float) -> None:
    ready = wait_ready(base, timeout)
    print(f"ready: {json.dumps(ready, sort_keys=True)}")

    products = graphql(base, PRODUCTS)["products"]["edges"]
    print(f"products: {len(products)} on the first page")

    created = graphql(base, CART_CREATE)["cartCreate"]
    if created["errors"] or not created["cart"]:
        raise SmokeFailure(f"cartCreate: {created}")
    cart_id = created["cart"]["id"]
    print(f"cart: {cart_id}")

    skus = [
        v["sku"] for e in products for v in e["node"]["variants"] if (v.get("quantityAvailable") or 0) > 0
    ]
    if not skus:
        print("no available SKU: cart lines skipped")
        return
    added = graphql(base, CART_LINES_ADD, {"cartId": cart_id, "sku": skus[0]})["cartLinesAdd"]
    if added["errors"] or not added["cart"] or added["cart"]["itemCount"] != 1:
        raise SmokeFailure(f"cartLinesAdd: {added}")
    print(f"cart line: {skus[0]}, total {added['cart']['total']}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def port_forward(namespace: str, service: str, port: str) -> Iterator[str]:
    local = free_port()
    proc = subprocess.Popen(
        ["kubectl", "-n", namespace, "port-forward", f"svc/{service}", f"{local}:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        yield f"http://127.0.0.1:{local}"
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="gateway base URL, e.g. http://127.0.0.1:8000")
    parser.add_argument("--namespace", help="port-forward to --service in this namespace")
    parser.add_argument("--service", default="mercato-gateway")
    parser.add_argument("--service-port", default="80")
    parser.add_argument("--timeout", type=float, default=120, help="seconds to wait for /readyz")
    args = parser.parse_args()
    if not args.url and not args.namespace:
        parser.error("give --url or --namespace")
    try:
        if args.url:
            run(args.url.rstrip("/"), args.timeout)
        else:
            with port_forward(args.namespace, args.service, args.service_port) as base:
                run(base, args.timeout)
    except SmokeFailure as exc:
        print(f"smoke test FAILED: {exc}", file=sys.stderr)
        return 1
    print("smoke test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
