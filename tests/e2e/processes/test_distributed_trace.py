"""One checkout through `mercato up` is one trace (issue 13's acceptance): the gateway's request, the
gRPC calls it makes, the orders process placing the order, and every hop of the saga over NATS
(inventory reserving and committing, payments charging, orders confirming, the cart emptied) share
one trace id, exported by each process over OTLP to a collector the test runs. Every log line any
process writes about the order carries that trace id."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from mercato.app.launcher import Launcher
from mercato.platform.config import Settings
from tests.e2e.api_client import GraphQLClient
from tests.e2e.otlp_collector import Collector
from tests.e2e.processes.topology import launched
from tests.e2e.test_checkout import ADDRESS, CHECKOUT, cart_with, stocked_sku

# The services whose spans one checkout must reach: the gateway and the three saga participants.
SAGA_SERVICES = {"mercato-gateway", "mercato-orders", "mercato-inventory", "mercato-payments"}


@pytest.fixture(scope="module")
async def collector() -> AsyncIterator[Collector]:
    collecting = Collector()
    await collecting.start()
    yield collecting
    await collecting.stop()


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("traced-logs")


@pytest.fixture(scope="module")
async def launcher(
    installation: Settings,
    collector: Collector,
    log_dir: Path,
) -> AsyncIterator[Launcher]:
    """`mercato up` with every process exporting its spans to the collector, logging at DEBUG (the
    level at which the consumers log each message they handle) as JSON into its log file."""
    exporting = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{collector.port}",
        "OTEL_BSP_SCHEDULE_DELAY": "200",
    }
    debug = installation.model_copy(update={"log_level": "DEBUG"})
    async with launched(debug, log_dir, exporting) as topology:
        yield topology


async def test_one_checkout_is_one_trace_across_the_processes_and_its_log_lines_carry_it(
    launcher: Launcher,
    collector: Collector,
    log_dir: Path,
    staff: GraphQLClient,
    shopper: GraphQLClient,
) -> None:
    # Given a stocked SKU in the shopper's cart
    sku = await stocked_sku(staff, units=3, price="9.00")
    cart = await cart_with(shopper, sku, 1)

    # When the shopper checks out, the request starting a trace of its own (a W3C traceparent)
    trace_id = secrets.token_hex(16)
    traceparent = f"00-{trace_id}-{secrets.token_hex(8)}-01"
    variables = {"cart": cart, "token": "tok_success", "address": ADDRESS, "key": str(uuid.uuid4())}
    response = await shopper.http.post(
        "/graphql", json={"query": CHECKOUT, "variables": variables}, headers={"traceparent": traceparent}
    )
    order = response.json()["data"]["checkoutComplete"]["order"]
    spans = await collector.wait_for(trace_id, SAGA_SERVICES)

    # Then the order is confirmed and the gateway, orders, inventory and payments processes all
    # exported spans of that one trace, the NATS hops among them
    assert order["status"] == "CONFIRMED", order
    services = {s.service for s in spans}
    assert services >= SAGA_SERVICES, sorted(services)
    processed = {s.name for s in spans if s.attributes.get("messaging.system") == "nats"}
    assert {"process orders.reserve_stock_requested", "process inventory.reservation_created"} <= processed
    assert any(name.startswith("process payments.") for name in processed), sorted(processed)
    # and every span of the trace hangs from another of its spans or from the caller's
    ids = {s.span_id for s in spans} | {traceparent.split("-")[2]}
    assert all(s.parent_id in ids for s in spans), [s.name for s in spans if s.parent_id not in ids]

    # And every log line about the order, in any process, carries the trace id
    about = [(process, line) for process, line in _log_lines(log_dir) if order["id"] in json.dumps(line)]
    assert {process for process, _ in about} >= {"orders", "inventory", "payments"}, about
    assert {line.get("trace_id") for _, line in about} == {trace_id}, [
        (process, line.get("message")) for process, line in about if line.get("trace_id") != trace_id
    ]


def _log_lines(log_dir: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(process, JSON line) for every JSON line in the processes' log files (`<process>.log`)."""
    for path in sorted(log_dir.glob("*.log")):
        for raw in path.read_text(errors="replace").splitlines():
            if raw.startswith("{"):
                try:
                    yield path.stem, json.loads(raw)
                except ValueError:
                    continue
