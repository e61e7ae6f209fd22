from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable

import httpx
import pytest
from starlette.types import ASGIApp

from mercato.app.runtime import Runtime
from mercato.app.topology import GrpcTopology
from mercato.customers.bootstrap import create_admin
from mercato.customers.domain.commands import CreateToken, RegisterAccount, SetStaffPermissions
from mercato.gateway.app import create_app
from mercato.platform.auth import Permission, Principal, Role
from mercato.platform.config import Settings
from mercato.platform.db import Database
from tests.conftest import ref
from tests.e2e.api_client import GraphQLClient

PASSWORD = "correct horse battery staple"
SignIn = Callable[..., Awaitable[GraphQLClient]]


@pytest.fixture(scope="package")
async def runtime(settings: Settings, db: Database) -> AsyncIterator[Runtime]:
    """The in-process topology with relays, consumers and sweepers running (schema migrated by `db`).

    Package-scoped: its reservation sweeper must not outlive these tests, since service tests drive
    reservations with a fake clock."""
    # Every shopper here signs in from 127.0.0.1: lift the per-IP sign-in throttle (tested on its own in
    # tests/service/customers) so that it does not depend on how many tests ran before.
    # The gRPC deadline is raised too: 200 concurrent checkouts on a loaded 2-core CI machine must be slow,
    # not refused (the deadline itself is tested in tests/integration/test_grpc_platform.py).
    rt = Runtime(
        settings.model_copy(update={"login_attempts_per_ip": 1_000_000, "grpc_deadline_seconds": 60.0})
    )
    await rt.start()
    yield rt
    await rt.stop()


TOPOLOGIES = ["in-process", "grpc"]


@pytest.fixture(scope="package", params=TOPOLOGIES)
async def app(request: pytest.FixtureRequest, settings: Settings, runtime: Runtime) -> AsyncIterator[ASGIApp]:
    """The GraphQL gateway, once on in-process clients and once with every call going over gRPC:
    every test that uses it runs against both topologies."""
    if request.param == "in-process":
        yield create_app(settings, runtime)
        return
    topology = GrpcTopology(runtime)
    clients = await topology.start()
    yield create_app(settings, runtime, clients)
    await topology.stop()


@pytest.fixture(scope="package")
async def clients(app: ASGIApp) -> AsyncIterator[list[httpx.AsyncClient]]:
    opened: list[httpx.AsyncClient] = []
    yield opened
    for http in opened:
        await http.aclose()


@pytest.fixture(scope="package")
def sign_in(app: ASGIApp, runtime: Runtime, clients: list[httpx.AsyncClient]) -> SignIn:
    """A GraphQL client signed in as a new account of `role` holding `permissions`."""

    async def make(role: Role = Role.CUSTOMER, permissions: Iterable[Permission] = ()) -> GraphQLClient:
        email = f"{ref('user')}@example.com"
        if role is Role.ADMIN:
            await create_admin(runtime.customers, email, PASSWORD)
        else:
            account = await runtime.customers_client.register(RegisterAccount(email, PASSWORD))
            if role is Role.STAFF:
                admin = await _admin_principal(runtime)
                await runtime.customers_client.set_staff_permissions(
                    SetStaffPermissions.of(admin, account.id, role, frozenset(permissions))
                )
        tokens = await runtime.customers_client.create_token(CreateToken(email, PASSWORD))
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://mercato.test",
            headers={"Authorization": f"Bearer {tokens.access_token}"},
        )
        clients.append(http)
        return GraphQLClient(http)

    return make


async def _admin_principal(runtime: Runtime) -> Principal:
    email = f"{ref('admin')}@example.com"
    await create_admin(runtime.customers, email, PASSWORD)
    tokens = await runtime.customers_client.create_token(CreateToken(email, PASSWORD))
    return await runtime.customers_client.authenticate(tokens.access_token)


@pytest.fixture(scope="package")
async def api(sign_in: SignIn) -> GraphQLClient:
    """Signed in as an administrator: every staff operation is allowed."""
    return await sign_in(Role.ADMIN)


@pytest.fixture(scope="package")
async def anon_api(app: ASGIApp, clients: list[httpx.AsyncClient]) -> GraphQLClient:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mercato.test")
    clients.append(http)
    return GraphQLClient(http)


@pytest.fixture(scope="package")
async def inprocess_api(
    settings: Settings, runtime: Runtime, clients: list[httpx.AsyncClient]
) -> GraphQLClient:
    """An administrator on the in-process topology only: for measurements that follow the asyncio task
    (statement counts), which gRPC handlers, running in tasks of their own, would escape."""
    email = f"{ref('admin')}@example.com"
    await create_admin(runtime.customers, email, PASSWORD)
    tokens = await runtime.customers_client.create_token(CreateToken(email, PASSWORD))
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(settings, runtime)),
        base_url="http://mercato.test",
        headers={"Authorization": f"Bearer {tokens.access_token}"},
    )
    clients.append(http)
    return GraphQLClient(http)
