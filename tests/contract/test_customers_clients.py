"""One behaviour suite for both `CustomersClient`s: in-process and gRPC (a real `grpc.aio` server on
a loopback port, over the session database and Redis). A caller must not be able to tell them apart,
and no caller can act for another user by writing a principal into a request body."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from redis.asyncio import Redis
from sqlalchemy import text

from mercato._gen.mercato.customers.v1 import customers_service_pb2, customers_service_pb2_grpc
from mercato.customers.adapters.passwords import Argon2Passwords
from mercato.customers.bootstrap import CustomersService, create_admin, customers_outbox
from mercato.customers.client import CustomersClient, InProcessCustomersClient
from mercato.customers.domain.addresses import AddressFields
from mercato.customers.domain.commands import (
    AddAddress,
    ChangePassword,
    CreateToken,
    DeleteAddress,
    RefreshToken,
    RegisterAccount,
    RequestPasswordReset,
    ResetPassword,
    RevokeAllTokens,
    RevokeToken,
    SetAccountActive,
    SetStaffPermissions,
    UpdateAddress,
)
from mercato.customers.domain.errors import (
    AccountRegisterErrorCode,
    AccountSetActiveErrorCode,
    AddressDeleteErrorCode,
    AddressUpdateErrorCode,
    PasswordChangeErrorCode,
    PasswordResetErrorCode,
    StaffPermissionsSetErrorCode,
    TokenCreateErrorCode,
    TokenRefreshErrorCode,
    TokenRevokeErrorCode,
)
from mercato.customers.domain.rules import AddressNotFound, EmailTaken, InvalidCredentials, TokenReused
from mercato.customers.entrypoints.grpc_server import principal_message, registration
from mercato.customers.grpc_client import GrpcCustomersClient
from mercato.platform.auth import Permission, Principal, Role, Unauthenticated
from mercato.platform.config import Settings
from mercato.platform.db import Database
from mercato.platform.errors import MercatoError, PermissionDenied, field_errors
from mercato.platform.events import Envelope
from mercato.platform.grpc.auth import current_principal, outgoing_metadata
from mercato.platform.grpc.client import create_channel
from mercato.platform.grpc.server import GrpcServer
from tests.conftest import ref

PASSWORD = "correct horse battery"
HOME = AddressFields(
    first_name="Ada", last_name="Lovelace", line1="12 St James's Sq", city="London", country="GB"
)


@pytest.fixture(scope="session")
def customers_service(db: Database, redis: Redis, settings: Settings) -> CustomersService:
    # The session settings carry an auth secret; cheap argon2id parameters keep the suite fast.
    return CustomersService(
        db,
        redis,
        settings,
        customers_outbox(settings.namespace),
        passwords=Argon2Passwords(time_cost=1, memory_cost=1024, parallelism=1),
    )


@pytest.fixture(scope="session")
async def customers_server(
    customers_service: CustomersService, settings: Settings
) -> AsyncIterator[GrpcServer]:
    server = GrpcServer([registration(customers_service)], secret=settings.auth_secret)
    await server.start()
    yield server
    await server.stop(grace=None)


@pytest.fixture(scope="session")
async def customers_channel(customers_server: GrpcServer) -> AsyncIterator[grpc.aio.Channel]:
    channel = create_channel(f"127.0.0.1:{customers_server.port}")
    yield channel
    await channel.close()


@pytest.fixture(scope="session")
def grpc_customers(customers_channel: grpc.aio.Channel, settings: Settings) -> GrpcCustomersClient:
    return GrpcCustomersClient(customers_channel, service="gateway", secret=settings.auth_secret)


@pytest.fixture
def local(customers_service: CustomersService) -> InProcessCustomersClient:
    return InProcessCustomersClient(customers_service)


@pytest.fixture(params=["in_process", "grpc"])
def client(
    request: pytest.FixtureRequest, local: InProcessCustomersClient, grpc_customers: GrpcCustomersClient
) -> CustomersClient:
    return grpc_customers if request.param == "grpc" else local


def new_email() -> str:
    return f"{ref('user')}@example.com"


async def signed_up(client: CustomersClient) -> Principal:
    email = new_email()
    await client.register(RegisterAccount(email, PASSWORD))
    return await client.authenticate((await client.create_token(CreateToken(email, PASSWORD))).access_token)


def described(exc: MercatoError) -> tuple[object, ...]:
    """Everything a caller can observe of an error."""
    errors = [(e.field, e.code, e.message) for e in field_errors(exc)]
    return (type(exc), exc.code, exc.field, exc.message, str(exc), errors)


async def test_an_account_signs_up_in_and_out(client: CustomersClient) -> None:
    email = new_email()
    account = await client.register(RegisterAccount(email, PASSWORD))
    assert (account.email, account.role, account.permissions, account.is_active) == (
        email,
        Role.CUSTOMER,
        frozenset(),
        True,
    )
    pair = await client.create_token(CreateToken(email, PASSWORD, ip=f"ip-{ref()}"))
    assert (pair.token_type, pair.expires_in > 0) == ("Bearer", True)
    principal = await client.authenticate(pair.access_token)
    assert (principal.user_id, principal.email, principal.role) == (account.id, email, Role.CUSTOMER)
    assert await client.me(principal) == account

    rotated = await client.refresh(RefreshToken(pair.refresh_token))
    assert rotated.refresh_token != pair.refresh_token
    await client.revoke(RevokeToken(rotated.refresh_token))
    await client.revoke(RevokeToken(rotated.refresh_token))  # revoking twice is fine
    with pytest.raises(MercatoError) as caught:
        await client.refresh(RefreshToken(rotated.refresh_token))
    assert caught.value.code is TokenRefreshErrorCode.INVALID_TOKEN


async def test_a_missing_account_is_none(client: CustomersClient) -> None:
    ghost = Principal(user_id=uuid.uuid4(), email="ghost@example.com", role=Role.CUSTOMER)
    assert await client.me(ghost) is None
    assert await client.addresses(ghost) == []


async def test_the_address_book_round_trips(client: CustomersClient) -> None:
    principal = await signed_up(client)
    added = await client.add_address(AddAddress(principal, HOME))
    assert (added.first_name, added.city, added.country, added.line2) == ("Ada", "London", "GB", "")
    moved = await client.update_address(
        UpdateAddress(
            principal,
            added.id,
            AddressFields("Ada", "King", "1 Ockham Park", "Ockham", "gb", postal_code="GU23"),
        )
    )
    assert (moved.id, moved.last_name, moved.country, moved.postal_code) == (added.id, "King", "GB", "GU23")
    assert await client.addresses(principal) == [moved]
    await client.delete_address(DeleteAddress(principal, added.id))
    assert await client.addresses(principal) == []


async def test_reads_return_equal_values(
    local: InProcessCustomersClient, grpc_customers: GrpcCustomersClient
) -> None:
    principal = await signed_up(local)
    await local.add_address(AddAddress(principal, HOME))
    assert await grpc_customers.me(principal) == await local.me(principal)
    assert await grpc_customers.addresses(principal) == await local.addresses(principal)
    token = (await local.create_token(CreateToken(principal.email, PASSWORD))).access_token
    assert await grpc_customers.authenticate(token) == await local.authenticate(token)


async def test_typed_errors_arrive_identical_on_both_clients(
    local: InProcessCustomersClient, grpc_customers: GrpcCustomersClient
) -> None:
    owner = await signed_up(local)
    other = await signed_up(local)
    theirs = await local.add_address(AddAddress(other, HOME))
    taken = new_email()
    await local.register(RegisterAccount(taken, PASSWORD))

    async def reused(c: CustomersClient) -> object:
        pair = await local.create_token(CreateToken(owner.email, PASSWORD))
        await local.refresh(RefreshToken(pair.refresh_token))
        return await c.refresh(RefreshToken(pair.refresh_token))

    calls: list[tuple[Callable[[CustomersClient], Awaitable[object]], type[MercatoError], object]] = [
        (
            lambda c: c.register(RegisterAccount(taken, PASSWORD)),
            EmailTaken,
            AccountRegisterErrorCode.EMAIL_TAKEN,
        ),
        (
            lambda c: c.register(RegisterAccount("not-an-email", "x")),
            MercatoError,
            AccountRegisterErrorCode.INVALID,
        ),
        (
            lambda c: c.create_token(CreateToken(taken, "wrong password")),
            InvalidCredentials,
            TokenCreateErrorCode.INVALID_CREDENTIALS,
        ),
        (reused, TokenReused, TokenRefreshErrorCode.TOKEN_REUSED),
        (lambda c: c.revoke(RevokeToken("nonsense")), MercatoError, TokenRevokeErrorCode.INVALID_TOKEN),
        (
            lambda c: c.update_address(UpdateAddress(owner, theirs.id, HOME)),
            AddressNotFound,
            AddressUpdateErrorCode.NOT_FOUND,
        ),
        (
            lambda c: c.delete_address(DeleteAddress(owner, theirs.id)),
            AddressNotFound,
            AddressDeleteErrorCode.NOT_FOUND,
        ),
        (lambda c: c.add_address(AddAddress(owner, AddressFields("", "", "", "", "XX"))), MercatoError, None),
        (lambda c: c.authenticate("not.a.token"), Unauthenticated, None),
    ]
    for call, cls, code in calls:
        seen = []
        for c in (local, grpc_customers):
            with pytest.raises(cls) as caught:
                await call(c)
            seen.append(described(caught.value))
        assert seen[0] == seen[1]
        if code is not None:
            assert code in {e.code for e in field_errors(caught.value)}
    # Nobody's address was touched by the refused calls.
    assert await local.addresses(other) == [theirs]


async def test_staff_permissions_are_granted_by_the_signed_actor_only(
    customers_service: CustomersService, local: InProcessCustomersClient, grpc_customers: GrpcCustomersClient
) -> None:
    admin_email = new_email()
    await create_admin(customers_service, admin_email, PASSWORD)
    admin = await local.authenticate(
        (await local.create_token(CreateToken(admin_email, PASSWORD))).access_token
    )
    for c in (local, grpc_customers):
        staff = await signed_up(local)
        granted = await c.set_staff_permissions(
            SetStaffPermissions.of(admin, staff.user_id, Role.STAFF, [Permission.CATALOG_WRITE])
        )
        assert (granted.id, granted.role, granted.permissions) == (
            staff.user_id,
            Role.STAFF,
            frozenset({Permission.CATALOG_WRITE}),
        )
        assert await c.me(staff) == granted
    customer = await signed_up(local)
    seen = []
    for c in (local, grpc_customers):
        with pytest.raises(PermissionDenied) as caught:
            await c.set_staff_permissions(SetStaffPermissions.of(customer, customer.user_id, Role.ADMIN, []))
        seen.append(described(caught.value))
    assert seen[0] == seen[1]
    assert caught.value.code is StaffPermissionsSetErrorCode.PERMISSION_DENIED


async def test_the_servicer_acts_for_the_signed_principal_not_the_request_body(
    local: InProcessCustomersClient, customers_channel: grpc.aio.Channel, settings: Settings
) -> None:
    mallory = await signed_up(local)
    victim = await signed_up(local)
    await local.add_address(AddAddress(victim, HOME))
    stub = customers_service_pb2_grpc.CustomersServiceStub(customers_channel)
    assert settings.auth_secret is not None
    forged = customers_service_pb2.ListAddressesRequest(principal=principal_message(victim))

    # A service token but no signed principal: the body alone is not enough.
    metadata = outgoing_metadata(
        "gateway", settings.auth_secret, audience="mercato.customers.v1.CustomersService"
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ListAddresses(forged, metadata=metadata, timeout=2)
    assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED

    # Signed as mallory, body naming the victim: mallory's own (empty) book, never the victim's.
    token = current_principal.set(mallory)
    try:
        metadata = outgoing_metadata(
            "gateway", settings.auth_secret, audience="mercato.customers.v1.CustomersService"
        )
    finally:
        current_principal.reset(token)
    reply = await stub.ListAddresses(forged, metadata=metadata, timeout=2)
    assert list(reply.addresses) == []
    delete = customers_service_pb2.DeleteAddressRequest(
        principal=principal_message(victim), address_id=str((await local.addresses(victim))[0].id)
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.DeleteAddress(delete, metadata=metadata, timeout=2)
    assert caught.value.code() is grpc.StatusCode.NOT_FOUND
    assert len(await local.addresses(victim)) == 1


async def test_a_call_without_a_service_token_is_refused(
    customers_channel: grpc.aio.Channel, local: InProcessCustomersClient
) -> None:
    stub = customers_service_pb2_grpc.CustomersServiceStub(customers_channel)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Register(
            customers_service_pb2.RegisterRequest(email=new_email(), password=PASSWORD), timeout=2
        )
    assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED
    forged = GrpcCustomersClient(customers_channel, service="gateway", secret="y" * 48)
    with pytest.raises(Unauthenticated):
        await forged.me(await signed_up(local))


async def test_the_health_service_answers_serving(customers_channel: grpc.aio.Channel) -> None:
    stub = health_pb2_grpc.HealthStub(customers_channel)
    for service in ("", "mercato.customers.v1.CustomersService"):
        reply = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=2)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


async def test_account_security_behaves_alike_on_both_clients(
    customers_service: CustomersService,
    local: InProcessCustomersClient,
    client: CustomersClient,
    db: Database,
) -> None:
    # Sign out everywhere: the earlier access token is refused at once.
    principal = await signed_up(local)
    pair = await local.create_token(CreateToken(principal.email, PASSWORD))
    await client.revoke_all(RevokeAllTokens(principal))
    with pytest.raises(Unauthenticated):
        await client.authenticate(pair.access_token)

    # Disabling needs customers:manage; the disabled account's token stops working.
    admin_email = new_email()
    await create_admin(customers_service, admin_email, PASSWORD)
    admin = await local.authenticate(
        (await local.create_token(CreateToken(admin_email, PASSWORD))).access_token
    )
    target_email = new_email()
    target = await local.register(RegisterAccount(target_email, PASSWORD))
    target_token = (await local.create_token(CreateToken(target_email, PASSWORD))).access_token
    with pytest.raises(PermissionDenied) as denied:
        await client.set_account_active(SetAccountActive(await signed_up(local), target.id, False))
    disabled = await client.set_account_active(SetAccountActive(admin, target.id, False))
    with pytest.raises(Unauthenticated):
        await client.authenticate(target_token)
    assert denied.value.code is AccountSetActiveErrorCode.PERMISSION_DENIED
    assert (disabled.id, disabled.is_active) == (target.id, False)

    # Password change: the current one is required.
    owner = await signed_up(local)
    with pytest.raises(MercatoError) as wrong:
        await client.change_password(ChangePassword(owner, "not the password", "a new passphrase"))
    await client.change_password(ChangePassword(owner, PASSWORD, "a new passphrase"))
    assert wrong.value.code is PasswordChangeErrorCode.INVALID_CREDENTIALS
    assert (await local.create_token(CreateToken(owner.email, "a new passphrase"))).token_type == "Bearer"

    # Password reset: the same answer for any email; a token works once.
    assert await client.request_password_reset(RequestPasswordReset(new_email())) is None
    assert await client.request_password_reset(RequestPasswordReset(owner.email)) is None
    async with db.connect() as conn:
        body = (
            await conn.execute(
                text(
                    "SELECT body FROM customers.outbox WHERE convert_from(body, 'UTF8')::jsonb ->> 'type' = "
                    "'customers.password_reset_requested' AND convert_from(body, 'UTF8')::jsonb ->> "
                    "'aggregate_id' = :a ORDER BY seq DESC LIMIT 1"
                ),
                {"a": str(owner.user_id)},
            )
        ).scalar_one()
    token = Envelope.from_json(bytes(body)).payload["token"]
    await client.reset_password(ResetPassword(token, "the third passphrase"))
    with pytest.raises(MercatoError) as spent:
        await client.reset_password(ResetPassword(token, "the fourth passphrase"))
    assert spent.value.code is PasswordResetErrorCode.INVALID_TOKEN
