from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest

from mercato.customers import (
    MAX_ADDRESSES,
    AddressCreateErrorCode,
    AddressDeleteErrorCode,
    AddressFields,
    AddressUpdateErrorCode,
)
from mercato.customers.client import InProcessCustomersClient
from mercato.customers.domain.commands import AddAddress, DeleteAddress, UpdateAddress
from mercato.platform.auth import Principal, Role
from mercato.platform.db import Database
from mercato.platform.errors import ClientError, InputRejected, NotFound
from tests.service.customers.conftest import FakeClock, fetch, signed_up

HOME = AddressFields(
    first_name=" Ada ",
    last_name="Lovelace",
    line1="12 St James's Square",
    city="London",
    country="gb",
    postal_code="SW1Y 4JH",
    phone="+44 20 7946 0000",
)
WORK = AddressFields(first_name="Ada", last_name="Lovelace", line1="1 Main St", city="Boston", country="US")


async def _rows(db: Database, owner: uuid.UUID) -> list[tuple[str, str]]:
    rows = await fetch(
        db,
        "SELECT line1, country FROM customers.addresses WHERE account_id = :o ORDER BY created_at",
        o=owner,
    )
    return [(r.line1, r.country) for r in rows]


async def test_add_list_update_delete(
    client: InProcessCustomersClient, db: Database, clock: FakeClock
) -> None:
    me = await signed_up(client)

    home = await client.add_address(AddAddress(me, HOME))
    clock.advance(1)
    work = await client.add_address(AddAddress(me, WORK))
    clock.advance(1)
    moved = await client.update_address(UpdateAddress(me, home.id, WORK))
    await client.delete_address(DeleteAddress(me, work.id))

    assert (home.first_name, home.country, home.line2, home.postal_code, home.phone) == (
        "Ada",
        "GB",
        "",
        "SW1Y 4JH",
        "+44 20 7946 0000",
    )
    assert (moved.id, moved.line1, moved.country, moved.phone, moved.created_at, moved.updated_at) == (
        home.id,
        "1 Main St",
        "US",
        "",
        home.created_at,
        home.created_at + timedelta(seconds=2),
    )
    assert [a.id for a in await client.addresses(me)] == [home.id]
    assert [(a.line1, a.city) for a in await client.addresses(me)] == [("1 Main St", "Boston")]


async def test_a_customer_cannot_see_or_touch_another_customers_addresses(
    client: InProcessCustomersClient, db: Database
) -> None:
    alice = await signed_up(client)
    mallory = await signed_up(client)
    alices = await client.add_address(AddAddress(alice, HOME))

    with pytest.raises(NotFound) as updating:
        await client.update_address(UpdateAddress(mallory, alices.id, WORK))
    with pytest.raises(NotFound) as deleting:
        await client.delete_address(DeleteAddress(mallory, alices.id))
    with pytest.raises(NotFound) as unknown:
        await client.update_address(UpdateAddress(mallory, uuid.uuid4(), WORK))

    assert (updating.value.code, updating.value.field) == (AddressUpdateErrorCode.NOT_FOUND, "id")
    assert (deleting.value.code, deleting.value.field) == (AddressDeleteErrorCode.NOT_FOUND, "id")
    # Someone else's address looks exactly like one that does not exist.
    assert (unknown.value.code, unknown.value.message) == (updating.value.code, updating.value.message)
    assert await client.addresses(mallory) == []
    assert await _rows(db, alice.user_id) == [("12 St James's Square", "GB")]


async def test_the_address_book_holds_at_most_twenty(client: InProcessCustomersClient, db: Database) -> None:
    me = await signed_up(client)
    for _ in range(MAX_ADDRESSES):
        await client.add_address(AddAddress(me, WORK))

    with pytest.raises(ClientError) as caught:
        await client.add_address(AddAddress(me, HOME))

    assert MAX_ADDRESSES == 20
    assert caught.value.code is AddressCreateErrorCode.ADDRESS_LIMIT_REACHED
    assert len(await _rows(db, me.user_id)) == 20


async def test_the_limit_holds_under_concurrent_adds(client: InProcessCustomersClient, db: Database) -> None:
    me = await signed_up(client)
    for _ in range(MAX_ADDRESSES - 2):
        await client.add_address(AddAddress(me, WORK))

    outcomes = await asyncio.gather(
        *(client.add_address(AddAddress(me, HOME)) for _ in range(5)), return_exceptions=True
    )

    refused = [o for o in outcomes if isinstance(o, ClientError)]
    assert len(refused) == 3
    assert {o.code for o in refused} == {AddressCreateErrorCode.ADDRESS_LIMIT_REACHED}
    assert len(await _rows(db, me.user_id)) == 20


async def test_invalid_addresses_are_refused_field_by_field_and_write_nothing(
    client: InProcessCustomersClient, db: Database
) -> None:
    me = await signed_up(client)
    bad = AddressFields(
        first_name="",
        last_name="x" * 101,
        line1="line\x00one",
        city=" ",
        country="XX",
        postal_code="!!",
        phone="12",
    )

    with pytest.raises(InputRejected) as caught:
        await client.add_address(AddAddress(me, bad))

    assert [(e.field, e.code) for e in caught.value.errors] == [
        ("first_name", AddressCreateErrorCode.REQUIRED),
        ("last_name", AddressCreateErrorCode.TOO_LONG),
        ("line1", AddressCreateErrorCode.INVALID),
        ("city", AddressCreateErrorCode.REQUIRED),
        ("postal_code", AddressCreateErrorCode.INVALID),
        ("phone", AddressCreateErrorCode.INVALID),
        ("country", AddressCreateErrorCode.INVALID),
    ]
    assert await _rows(db, me.user_id) == []


async def test_an_update_with_invalid_fields_changes_nothing(
    client: InProcessCustomersClient, db: Database
) -> None:
    me = await signed_up(client)
    home = await client.add_address(AddAddress(me, HOME))

    with pytest.raises(InputRejected) as caught:
        await client.update_address(
            UpdateAddress(me, home.id, AddressFields("Ada", "L", "1 Main St", "Boston", ""))
        )

    assert [(e.field, e.code) for e in caught.value.errors] == [("country", AddressUpdateErrorCode.REQUIRED)]
    assert await _rows(db, me.user_id) == [("12 St James's Square", "GB")]


async def test_a_principal_without_an_account_cannot_add(client: InProcessCustomersClient) -> None:
    ghost = Principal(user_id=uuid.uuid4(), email="ghost@example.com", role=Role.CUSTOMER)

    with pytest.raises(ClientError) as caught:
        await client.add_address(AddAddress(ghost, WORK))

    assert caught.value.code is AddressCreateErrorCode.UNAUTHENTICATED
    assert await client.addresses(ghost) == []
