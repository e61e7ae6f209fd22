"""The gRPC plumbing on its own: error mapping both ways, which calls are retried, deadlines, and the
principal travelling with a call."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

import grpc
import pytest
from grpc_status.rpc_status import aio as rpc_status_aio

from mercato._gen.mercato.catalog.v1 import catalog_service_pb2, catalog_service_pb2_grpc
from mercato._gen.mercato.common.v1 import errors_pb2
from mercato.catalog.entrypoints.grpc_server import SERVICE_NAME, registration
from mercato.catalog.grpc_client import GrpcCatalogClient
from mercato.platform.auth import Permission, Principal, Role, Unauthenticated
from mercato.platform.errors import (
    ClientError,
    Conflict,
    FieldError,
    InputRejected,
    MercatoError,
    NotFound,
    Problem,
    Unavailable,
)
from mercato.platform.grpc import auth
from mercato.platform.grpc.client import CallPolicy, ServiceCaller, create_channel
from mercato.platform.grpc.errors import INTERNAL_MESSAGE, from_status, to_status
from mercato.platform.grpc.server import GrpcServer
from tests.integration.fake_catalog import FakeCatalog

SECRET = "s" * 48


class Codes(Enum):
    INVALID = "INVALID"
    REQUIRED = "REQUIRED"
    GONE = "GONE"
    TAKEN = "TAKEN"


class Taken(Conflict):
    def __init__(self, what: str) -> None:
        self.what = what
        super().__init__(f"{what} is taken", code="TAKEN", field="name")


def round_trip(exc: BaseException, known: tuple[type[MercatoError], ...] = ()) -> MercatoError:
    code, message, trailers = to_status(exc)
    return from_status(code, message, trailers, codes=Codes, known={c.__name__: c for c in known})


# --- error mapping ----------------------------------------------------------------------------


def test_a_platform_error_keeps_class_code_field_and_message() -> None:
    back = round_trip(NotFound("no such thing", code=Codes.GONE, field="id"))
    assert type(back) is NotFound
    assert (back.code, back.field, back.message, str(back)) == (
        Codes.GONE,
        "id",
        "no such thing",
        "no such thing",
    )


def test_a_code_is_resolved_by_name_against_the_callers_enum() -> None:
    assert round_trip(ClientError("bad", code="GONE")).code is Codes.GONE
    assert round_trip(ClientError("bad", code="NOT_IN_ENUM")).code == "NOT_IN_ENUM"
    assert round_trip(ClientError("bad")).code is None


def test_a_known_domain_class_comes_back_with_its_attributes() -> None:
    back = round_trip(Taken("shoes"), known=(Taken,))
    assert type(back) is Taken
    assert isinstance(back, Taken)
    assert (back.what, back.code, back.field, back.message) == (
        "shoes",
        Codes.TAKEN,
        "name",
        "shoes is taken",
    )


def test_an_unknown_domain_class_comes_back_as_its_platform_class() -> None:
    back = round_trip(Taken("shoes"))
    assert type(back) is Conflict
    assert (back.code, back.field) == (Codes.TAKEN, "name")


def test_input_rejected_keeps_every_field_error() -> None:
    errors = [
        FieldError("slug", Problem.REQUIRED, "slug is required"),
        FieldError("name", Codes.GONE, "gone"),
    ]
    back = round_trip(InputRejected(errors))
    assert isinstance(back, InputRejected)
    assert [(e.field, e.code, e.message) for e in back.errors] == [
        ("slug", Codes.REQUIRED, "slug is required"),
        ("name", Codes.GONE, "gone"),
    ]
    assert str(back) == "slug is required; gone"


def test_the_status_code_comes_from_the_error_class() -> None:
    assert to_status(Conflict("x"))[0] is grpc.StatusCode.FAILED_PRECONDITION
    assert to_status(Unauthenticated("x"))[0] is grpc.StatusCode.UNAUTHENTICATED
    assert to_status(Unavailable("x"))[0] is grpc.StatusCode.UNAVAILABLE


def test_an_unexpected_exception_is_internal_and_leaks_nothing() -> None:
    code, message, trailers = to_status(RuntimeError("password=hunter2 at /srv/db.py"))
    assert (code, message, trailers) == (grpc.StatusCode.INTERNAL, INTERNAL_MESSAGE, ())
    back = from_status(code, message, trailers)
    assert type(back) is MercatoError
    assert "hunter2" not in str(back)


def test_a_transport_failure_and_a_missed_deadline_are_unavailable() -> None:
    assert type(from_status(grpc.StatusCode.UNAVAILABLE, "connection refused", ())) is Unavailable
    assert type(from_status(grpc.StatusCode.DEADLINE_EXCEEDED, "", ())) is Unavailable


# --- tokens -----------------------------------------------------------------------------------


def test_service_and_principal_tokens_cannot_stand_in_for_each_other() -> None:
    principal = Principal(uuid.uuid4(), "a@example.com", Role.STAFF, frozenset({Permission.CATALOG_WRITE}))
    aud = {"audience": SERVICE_NAME}
    service_token = auth.issue_service_token("gateway", SECRET, **aud)
    principal_token = auth.issue_principal_token(principal, SECRET, **aud)
    assert auth.verify_service_token(service_token, SECRET, **aud) == "gateway"
    assert auth.verify_principal_token(principal_token, SECRET, **aud) == principal
    for verify, token in (
        (auth.verify_service_token, principal_token),
        (auth.verify_principal_token, service_token),
    ):
        with pytest.raises(Unauthenticated):
            verify(token, SECRET, **aud)
    with pytest.raises(Unauthenticated):
        auth.verify_service_token(service_token, "t" * 48, **aud)
    with pytest.raises(Unauthenticated):
        expired = auth.issue_service_token("gateway", SECRET, ttl_seconds=-1, **aud)
        auth.verify_service_token(expired, SECRET, **aud)


def test_tokens_made_for_one_service_are_refused_by_another() -> None:
    principal = Principal(uuid.uuid4(), "a@example.com", Role.ADMIN, frozenset(Permission))
    elsewhere = "mercato.payments.v1.PaymentsService"
    with pytest.raises(Unauthenticated):
        auth.verify_service_token(
            auth.issue_service_token("gateway", SECRET, audience=SERVICE_NAME), SECRET, audience=elsewhere
        )
    with pytest.raises(Unauthenticated):
        token = auth.issue_principal_token(principal, SECRET, audience=SERVICE_NAME)
        auth.verify_principal_token(token, SECRET, audience=elsewhere)
    assert auth.audience_of("/mercato.catalog.v1.CatalogService/ListProducts") == SERVICE_NAME


async def test_a_server_refuses_a_token_minted_for_another_service(fake: Fake) -> None:
    stub = catalog_service_pb2_grpc.CatalogServiceStub(fake.channel)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ListCategories(
            catalog_service_pb2.ListCategoriesRequest(),
            metadata=auth.outgoing_metadata("gateway", SECRET, audience="mercato.orders.v1.OrdersService"),
            timeout=2,
        )
    assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED


# --- retries and deadlines --------------------------------------------------------------------


def failing(code: grpc.StatusCode, calls: list[float]) -> Callable[..., Awaitable[Any]]:
    async def method(request: Any, **options: Any) -> Any:
        calls.append(options["timeout"])
        raise grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details="down")

    return method


def caller(policy: CallPolicy, pauses: list[float]) -> ServiceCaller:
    async def sleep(seconds: float) -> None:
        pauses.append(seconds)

    return ServiceCaller(service="test", target_name="thing", secret=SECRET, policy=policy, sleep=sleep)


async def test_a_read_is_retried_with_growing_jittered_backoff() -> None:
    calls: list[float] = []
    pauses: list[float] = []
    policy = CallPolicy(timeout=5, max_attempts=4, backoff_initial=0.1, backoff_max=0.3)
    with pytest.raises(Unavailable):
        await caller(policy, pauses).call(failing(grpc.StatusCode.UNAVAILABLE, calls), None, retryable=True)
    assert len(calls) == 4
    assert len(pauses) == 3
    assert all(0 <= p <= cap for p, cap in zip(pauses, (0.1, 0.2, 0.3), strict=True))


async def test_a_write_without_an_idempotency_key_is_tried_once() -> None:
    calls: list[float] = []
    pauses: list[float] = []
    with pytest.raises(Unavailable):
        await caller(CallPolicy(), pauses).call(
            failing(grpc.StatusCode.UNAVAILABLE, calls), None, retryable=False
        )
    assert (len(calls), pauses) == (1, [])


async def test_only_unavailable_is_retried() -> None:
    calls: list[float] = []
    with pytest.raises(MercatoError):
        await caller(CallPolicy(), []).call(failing(grpc.StatusCode.INTERNAL, calls), None, retryable=True)
    assert len(calls) == 1


async def test_every_attempt_gets_what_is_left_of_one_deadline() -> None:
    calls: list[float] = []
    with pytest.raises(Unavailable):
        await caller(CallPolicy(timeout=2.0), []).call(
            failing(grpc.StatusCode.UNAVAILABLE, calls), None, retryable=True
        )
    assert calls[0] <= 2.0
    assert calls == sorted(calls, reverse=True)


def test_a_caller_needs_a_secret() -> None:
    with pytest.raises(Unauthenticated):
        ServiceCaller(service="test", target_name="thing", secret=None)


# --- against a real server --------------------------------------------------------------------


@dataclass
class Fake:
    catalog: FakeCatalog
    client: GrpcCatalogClient
    channel: grpc.aio.Channel


@pytest.fixture
async def fake() -> AsyncIterator[Fake]:
    catalog = FakeCatalog(mode="principal")
    server = GrpcServer([registration(catalog)], secret=SECRET)
    await server.start()
    channel = create_channel(f"127.0.0.1:{server.port}")
    client = GrpcCatalogClient(channel, service="gateway", secret=SECRET, policy=CallPolicy(timeout=0.3))
    yield Fake(catalog, client, channel)
    await channel.close()
    await server.stop(grace=None)


async def test_the_principal_and_the_caller_reach_the_servicer(fake: Fake) -> None:
    [anonymous] = await fake.client.categories()
    assert anonymous.name == "gateway:-"
    token = auth.current_principal.set(Principal(uuid.uuid4(), "staff@example.com", Role.ADMIN))
    try:
        [signed_in] = await fake.client.categories()
    finally:
        auth.current_principal.reset(token)
    assert signed_in.name == "gateway:staff@example.com"


async def test_a_slow_server_is_cut_off_at_the_deadline(fake: Fake) -> None:
    fake.catalog.queries.mode = "hang"  # 5 s: an answer at all would mean the 0.3 s deadline was ignored
    with pytest.raises(Unavailable):
        await fake.client.categories()


async def test_a_server_bug_arrives_as_internal_without_details(fake: Fake) -> None:
    fake.catalog.queries.mode = "boom"
    with pytest.raises(MercatoError) as caught:
        await fake.client.categories()
    assert type(caught.value) is MercatoError
    assert str(caught.value) == INTERNAL_MESSAGE


async def test_an_engine_fault_arrives_as_unavailable_not_internal(fake: Fake) -> None:
    # Given a servicer whose database pool had no connection free (a store overloaded or down)
    fake.catalog.queries.mode = "no connection"
    # Then the caller gets UNAVAILABLE (which it may retry), without the pool's details
    with pytest.raises(Unavailable) as caught:
        await fake.client.categories()
    assert "QueuePool" not in str(caught.value)


async def test_a_standard_client_reads_the_rich_status(fake: Fake) -> None:
    """Non-Python or non-Mercato callers decode errors with the stock `grpc_status` helper."""
    fake.catalog.queries.mode = "conflict"
    stub = catalog_service_pb2_grpc.CatalogServiceStub(fake.channel)
    call = stub.ListCategories(
        catalog_service_pb2.ListCategoriesRequest(),
        metadata=auth.outgoing_metadata("probe", SECRET, audience=SERVICE_NAME),
        timeout=2,
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    assert caught.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    status = await rpc_status_aio.from_call(call)
    [detail] = status.details
    details = errors_pb2.ErrorDetails()
    assert detail.Unpack(details)
    assert [(d.reason, d.field, d.message) for d in details.errors] == [("TAKEN", "slug", "already there")]
