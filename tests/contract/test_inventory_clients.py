"""One behaviour suite for both `InventoryClient`s: in-process and gRPC (a real `grpc.aio` server on
a loopback port, over the session database). A caller must not be able to tell them apart."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from mercato._gen.mercato.inventory.v1 import inventory_service_pb2, inventory_service_pb2_grpc
from mercato.inventory.bootstrap import InventoryService, build_inventory
from mercato.inventory.client import InProcessInventoryClient, InventoryClient
from mercato.inventory.domain.commands import (
    AdjustStock,
    CommitReservation,
    CreateWarehouse,
    ReleaseReservation,
    ReserveStock,
)
from mercato.inventory.domain.errors import (
    CommitReservationErrorCode,
    ReleaseReservationErrorCode,
    ReserveStockErrorCode,
    StockAdjustErrorCode,
    WarehouseCreateErrorCode,
)
from mercato.inventory.domain.model import ReservationStatus
from mercato.inventory.domain.rules import InsufficientStock
from mercato.inventory.entrypoints.grpc_server import registration
from mercato.inventory.grpc_client import GrpcInventoryClient
from mercato.platform.auth import Unauthenticated
from mercato.platform.config import Settings
from mercato.platform.db import Database
from mercato.platform.errors import ClientError, Conflict, MercatoError, NotFound, Unavailable, field_errors
from mercato.platform.grpc.client import CallPolicy, create_channel
from mercato.platform.grpc.server import GrpcServer
from tests.conftest import ref


@pytest.fixture(scope="session")
def inventory_service(db: Database, settings: Settings) -> InventoryService:
    return build_inventory(db, settings)


@pytest.fixture(scope="session")
async def inventory_server(
    inventory_service: InventoryService, settings: Settings
) -> AsyncIterator[GrpcServer]:
    server = GrpcServer([registration(inventory_service)], secret=settings.auth_secret)
    await server.start()
    yield server
    await server.stop(grace=None)


@pytest.fixture(scope="session")
async def inventory_channel(inventory_server: GrpcServer) -> AsyncIterator[grpc.aio.Channel]:
    channel = create_channel(f"127.0.0.1:{inventory_server.port}")
    yield channel
    await channel.close()


@pytest.fixture(scope="session")
def grpc_inventory(inventory_channel: grpc.aio.Channel, settings: Settings) -> GrpcInventoryClient:
    return GrpcInventoryClient(inventory_channel, service="orders", secret=settings.auth_secret)


@pytest.fixture(params=["in_process", "grpc"])
def client(
    request: pytest.FixtureRequest, inventory_service: InventoryService, grpc_inventory: GrpcInventoryClient
) -> InventoryClient:
    if request.param == "grpc":
        return grpc_inventory
    return InProcessInventoryClient(inventory_service)


def new_sku() -> str:
    return ref("SKU").upper()


async def stocked(client: InventoryClient, units: int) -> tuple[uuid.UUID, str]:
    warehouse = await client.create_warehouse(CreateWarehouse(code=ref("wh"), name="Main"))
    sku = new_sku()
    await client.adjust(
        AdjustStock(sku=sku, warehouse_id=warehouse.id, reason="RECEIVED", actor="test", delta=units)
    )
    return warehouse.id, sku


def described(exc: MercatoError) -> tuple[object, ...]:
    """Everything a caller can observe of an error."""
    errors = [(e.field, e.code, e.message) for e in field_errors(exc)]
    return (type(exc), exc.code, exc.field, exc.message, str(exc), errors, getattr(exc, "skus", None))


async def test_reads_return_equal_values(
    inventory_service: InventoryService, grpc_inventory: GrpcInventoryClient
) -> None:
    local = InProcessInventoryClient(inventory_service)
    _, sku = await stocked(local, 7)
    assert await grpc_inventory.availability([sku, "NO-SUCH"]) == await local.availability([sku, "NO-SUCH"])
    assert await grpc_inventory.stock(sku) == await local.stock(sku)
    assert await grpc_inventory.warehouses() == await local.warehouses()


async def test_a_reservation_lives_through_commit_and_release(client: InventoryClient) -> None:
    warehouse_id, sku = await stocked(client, 5)
    held = await client.reserve(ReserveStock(reference=ref("order"), lines=[(sku, 2)], ttl_seconds=600))
    assert held.status is ReservationStatus.ACTIVE
    assert [(a.sku, a.warehouse_id, a.quantity) for a in held.allocations] == [(sku, warehouse_id, 2)]
    assert await client.availability([sku]) == {sku: 3}
    assert (
        await client.reserve(ReserveStock(reference=held.reference, lines=[(sku, 2)], ttl_seconds=600))
        == held
    )

    committed = await client.commit(CommitReservation(reservation_id=held.id))
    assert committed.status is ReservationStatus.COMMITTED
    assert await client.commit(CommitReservation(reservation_id=held.id)) == committed  # idempotent

    other = await client.reserve(ReserveStock(reference=ref("order"), lines=[(sku, 1)]))
    released = await client.release(ReleaseReservation(reservation_id=other.id, reason="customer left"))
    assert (released.status, released.release_reason) == (ReservationStatus.RELEASED, "customer left")
    [level] = await client.stock(sku)
    assert (level.on_hand, level.reserved, level.available) == (3, 0, 3)


async def test_adjustments_come_back_as_recorded(client: InventoryClient) -> None:
    warehouse_id, sku = await stocked(client, 1)
    key = ref("key")
    counted = AdjustStock(
        sku=sku,
        warehouse_id=warehouse_id,
        reason="COUNTED",
        actor="staff",
        set_on_hand=9,
        idempotency_key=key,
    )
    first = await client.adjust(counted)
    assert (first.delta, first.on_hand_after, first.reason, first.set_on_hand) == (8, 9, "COUNTED", 9)
    again = await client.adjust(counted)
    assert again == first


async def test_insufficient_stock_is_a_conflict_with_the_reserve_code(client: InventoryClient) -> None:
    _, sku = await stocked(client, 1)
    with pytest.raises(Conflict) as caught:
        await client.reserve(ReserveStock(reference=ref("order"), lines=[(sku, 2)]))
    assert isinstance(caught.value, InsufficientStock)
    assert caught.value.code is ReserveStockErrorCode.INSUFFICIENT_STOCK
    assert caught.value.skus == [sku]


async def test_typed_errors_arrive_identical_on_both_clients(
    inventory_service: InventoryService, grpc_inventory: GrpcInventoryClient
) -> None:
    local = InProcessInventoryClient(inventory_service)
    warehouse_id, sku = await stocked(local, 2)
    taken = (await local.warehouses())[0].code
    held = await local.reserve(ReserveStock(reference=ref("order"), lines=[(sku, 1)]))
    await local.commit(CommitReservation(reservation_id=held.id))
    calls = [
        (
            lambda c: c.reserve(ReserveStock(reference=ref("o"), lines=[(sku, 5)])),
            ReserveStockErrorCode.INSUFFICIENT_STOCK,
        ),
        (
            lambda c: c.reserve(ReserveStock(reference="", lines=[("bad sku!", 0)])),
            ReserveStockErrorCode.REQUIRED,
        ),
        (
            lambda c: c.commit(CommitReservation(reservation_id=uuid.uuid4())),
            CommitReservationErrorCode.RESERVATION_NOT_FOUND,
        ),
        (
            lambda c: c.release(ReleaseReservation(reservation_id=held.id, reason="late")),
            ReleaseReservationErrorCode.RESERVATION_NOT_ACTIVE,
        ),
        (
            lambda c: c.create_warehouse(CreateWarehouse(code=taken, name="Again")),
            WarehouseCreateErrorCode.DUPLICATE_CODE,
        ),
        (
            lambda c: c.adjust(
                AdjustStock(sku=sku, warehouse_id=uuid.uuid4(), reason="RECEIVED", actor="t", delta=1)
            ),
            StockAdjustErrorCode.WAREHOUSE_NOT_FOUND,
        ),
        (
            lambda c: c.adjust(
                AdjustStock(sku=sku, warehouse_id=warehouse_id, reason="BOGUS", actor="t", delta=0)
            ),
            StockAdjustErrorCode.INVALID,
        ),
        (
            lambda c: c.adjust(
                AdjustStock(sku=sku, warehouse_id=warehouse_id, reason="DAMAGED", actor="t", delta=-5)
            ),
            StockAdjustErrorCode.INSUFFICIENT_STOCK,
        ),
    ]
    for call, code in calls:
        seen = []
        for client in (local, grpc_inventory):
            with pytest.raises(ClientError) as caught:
                await call(client)
            seen.append(described(caught.value))
        assert seen[0] == seen[1]
        assert code in {e.code for e in field_errors(caught.value)}


async def test_a_missing_reservation_is_not_found(client: InventoryClient) -> None:
    with pytest.raises(NotFound) as caught:
        await client.commit(CommitReservation(reservation_id=uuid.uuid4()))
    assert caught.value.code is CommitReservationErrorCode.RESERVATION_NOT_FOUND


async def test_a_call_without_a_service_token_is_refused(
    inventory_channel: grpc.aio.Channel, settings: Settings
) -> None:
    stub = inventory_service_pb2_grpc.InventoryServiceStub(inventory_channel)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ListWarehouses(inventory_service_pb2.ListWarehousesRequest(), timeout=2)
    assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED
    forged = GrpcInventoryClient(inventory_channel, service="orders", secret="y" * 48)
    with pytest.raises(Unauthenticated):
        await forged.warehouses()


async def test_the_health_service_answers_serving(inventory_channel: grpc.aio.Channel) -> None:
    stub = health_pb2_grpc.HealthStub(inventory_channel)
    for service in ("", "mercato.inventory.v1.InventoryService"):
        reply = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=2)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


async def test_a_stopped_server_yields_unavailable_within_the_deadline(
    inventory_service: InventoryService, settings: Settings
) -> None:
    server = GrpcServer([registration(inventory_service)], secret=settings.auth_secret)
    await server.start()
    await server.stop(grace=None)
    channel = create_channel(f"127.0.0.1:{server.port}")
    try:
        client = GrpcInventoryClient(
            channel, service="orders", secret=settings.auth_secret, policy=CallPolicy(timeout=0.5)
        )
        # The guard only stops a hang: a read is retried, but never past its 0.5 s deadline.
        async with asyncio.timeout(2):
            with pytest.raises(Unavailable):
                await client.availability(["ANY"])
            with pytest.raises(Unavailable):
                await client.create_warehouse(
                    CreateWarehouse(code=ref("wh"), name="x")
                )  # a write: tried once
    finally:
        await channel.close()
