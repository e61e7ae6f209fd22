from __future__ import annotations

import asyncio

import pytest

from mercato.customers import AccountRegisterErrorCode, AdminCreateErrorCode, RegisterAccount
from mercato.customers.bootstrap import CustomersService, create_admin
from mercato.customers.client import InProcessCustomersClient
from mercato.platform.auth import ALL_PERMISSIONS, Role
from mercato.platform.db import Database
from mercato.platform.errors import Conflict, InputRejected
from tests.conftest import ref
from tests.service.customers.conftest import PASSWORD, FakeClock, account_row, new_email, outbox


async def test_register_stores_a_lowercase_email_an_argon2id_hash_and_an_event(
    client: InProcessCustomersClient, db: Database, clock: FakeClock
) -> None:
    local = ref("mixed")
    view = await client.register(RegisterAccount(f"  {local.upper()}@Example.COM ", PASSWORD))

    email = f"{local}@example.com"
    assert (view.email, view.role, view.permissions, view.is_active, view.created_at) == (
        email,
        Role.CUSTOMER,
        frozenset(),
        True,
        clock.now,
    )
    row = await account_row(db, email)
    assert (row.id, row.role, row.permissions, row.is_active) == (view.id, "CUSTOMER", [], True)
    assert row.password_hash.startswith("$argon2id$v=19$")
    assert PASSWORD not in row.password_hash
    events = await outbox(db, "customers.account_registered", view.id)
    assert [e.payload for e in events] == [{"email": email, "role": "CUSTOMER"}]


async def test_an_email_is_taken_whatever_its_case(client: InProcessCustomersClient, db: Database) -> None:
    email = new_email()
    first = await client.register(RegisterAccount(email, PASSWORD))

    with pytest.raises(Conflict) as caught:
        await client.register(RegisterAccount(email.upper(), "another password"))

    assert (caught.value.code, caught.value.field) == (AccountRegisterErrorCode.EMAIL_TAKEN, "email")
    row = await account_row(db, email)
    assert row.id == first.id
    assert len(await outbox(db, "customers.account_registered", first.id)) == 1


async def test_concurrent_sign_ups_of_one_email_create_one_account(
    service: CustomersService, db: Database
) -> None:
    email = new_email()
    outcomes = await asyncio.gather(
        *(service.handle(RegisterAccount(email=email, password=PASSWORD)) for _ in range(3)),
        return_exceptions=True,
    )

    refused = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(refused) == 2
    assert {o.code for o in refused} == {AccountRegisterErrorCode.EMAIL_TAKEN}
    assert (await account_row(db, email)) is not None


@pytest.mark.parametrize(
    ("email", "password", "expected"),
    [
        ("", "", [("email", "REQUIRED"), ("password", "REQUIRED")]),
        ("not-an-email", "short", [("email", "INVALID"), ("password", "OUT_OF_RANGE")]),
        ("a@b", PASSWORD, [("email", "INVALID")]),
        ("two@@example.com", PASSWORD, [("email", "INVALID")]),
        ("dots..in@example.com", PASSWORD, [("email", "INVALID")]),
        ("ünïcode@example.com", PASSWORD, [("email", "INVALID")]),
        ("nul\x00@example.com", PASSWORD, [("email", "INVALID")]),
        (("x" * 65) + "@example.com", PASSWORD, [("email", "INVALID")]),
        (("x" * 64) + "@" + ("d" * 60 + ".") * 4 + "com", PASSWORD, [("email", "TOO_LONG")]),
        ("ok@example.com", "p" * 129, [("password", "TOO_LONG")]),
    ],
)
async def test_invalid_sign_ups_are_refused_with_the_mutation_codes_and_write_nothing(
    client: InProcessCustomersClient, db: Database, email: str, password: str, expected: list[tuple[str, str]]
) -> None:
    with pytest.raises(InputRejected) as caught:
        await client.register(RegisterAccount(email, password))

    assert [(e.field, e.code) for e in caught.value.errors] == [
        (f, AccountRegisterErrorCode[c]) for f, c in expected
    ]
    if email and "\x00" not in email:  # PostgreSQL cannot even be asked about a NUL
        assert (await account_row(db, email.strip().lower())) is None


async def test_password_limits_are_inclusive(client: InProcessCustomersClient) -> None:
    shortest = await client.register(RegisterAccount(new_email(), "p" * 8))
    longest = await client.register(RegisterAccount(new_email(), "p" * 128))

    assert (shortest.role, longest.role) == (Role.CUSTOMER, Role.CUSTOMER)


async def test_create_admin_holds_every_permission_and_announces_the_role(
    service: CustomersService, db: Database
) -> None:
    email = new_email("admin")

    view = await create_admin(service, email, PASSWORD)

    assert (view.email, view.role, view.permissions) == (email, Role.ADMIN, ALL_PERMISSIONS)
    row = await account_row(db, email)
    assert (row.role, row.permissions) == ("ADMIN", [])
    events = await outbox(db, "customers.account_registered", view.id)
    assert [e.payload for e in events] == [{"email": email, "role": "ADMIN"}]


async def test_create_admin_refuses_a_taken_email_with_its_own_codes(
    service: CustomersService, client: InProcessCustomersClient, db: Database
) -> None:
    email = new_email()
    customer = await client.register(RegisterAccount(email, PASSWORD))

    with pytest.raises(Conflict) as caught:
        await create_admin(service, email, PASSWORD)

    assert caught.value.code is AdminCreateErrorCode.EMAIL_TAKEN
    assert (await account_row(db, email)).role == "CUSTOMER"
    assert [e.payload["role"] for e in await outbox(db, "customers.account_registered", customer.id)] == [
        "CUSTOMER"
    ]


async def test_views_and_reprs_never_show_the_password_hash(
    service: CustomersService, client: InProcessCustomersClient
) -> None:
    email = new_email()
    view = await client.register(RegisterAccount(email, PASSWORD))
    account = await service.handle(RegisterAccount(email=new_email(), password=PASSWORD))

    assert not hasattr(view, "password_hash")
    assert "argon2" not in repr(account)
    assert PASSWORD not in repr(RegisterAccount(email=email, password=PASSWORD))
