"""The customers resolvers, run through a schema of their own with a stand-in context (the gateway's
context and root schema are wired elsewhere)."""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any

import pytest
import strawberry

from mercato.customers import AddressFields
from mercato.customers.bootstrap import create_admin
from mercato.customers.client import InProcessCustomersClient
from mercato.customers.domain.commands import AddAddress, CreateToken, RegisterAccount
from mercato.gateway.graphql.customers.schema import CustomersMutations, CustomersQueries
from mercato.platform.auth import Principal
from mercato.platform.config import Settings
from mercato.platform.db import Database
from tests.service.customers.conftest import PASSWORD, PER_IP, fetch, new_email, new_ip, signed_up

SCHEMA = strawberry.Schema(query=CustomersQueries, mutation=CustomersMutations)

TOKEN_CREATE = """
mutation ($email: String!, $password: String!) {
  tokenCreate(input: {email: $email, password: $password}) {
    accessToken refreshToken expiresIn errors { field code message }
  }
}"""

ADDRESS_FIELDS = "id firstName lastName line1 line2 city postalCode country phone"
ADDRESS_INPUT = {
    "firstName": "Ada",
    "lastName": "Lovelace",
    "line1": "1 Main St",
    "city": "Boston",
    "country": "us",
}


async def run(
    client: InProcessCustomersClient,
    settings: Settings,
    query: str,
    principal: Principal | None = None,
    ip: str | None = None,
    **variables: Any,
) -> dict[str, Any]:
    request = SimpleNamespace(client=SimpleNamespace(host=ip)) if ip else None
    context = SimpleNamespace(
        clients=SimpleNamespace(customers=client), principal=principal, request=request, settings=settings
    )
    result = await SCHEMA.execute(query, variable_values=variables, context_value=context)
    assert result.errors is None, result.errors
    assert result.data is not None
    return result.data


async def test_sign_up_then_sign_in_then_refresh_then_revoke(
    client: InProcessCustomersClient, auth_settings: Settings
) -> None:
    email = new_email()
    registered = await run(
        client,
        auth_settings,
        "mutation ($email: String!, $password: String!) { accountRegister(input: {email: $email, "
        "password: $password}) { account { id email role permissions } errors { field code message } } }",
        email=email.upper(),
        password=PASSWORD,
    )
    signed_in = (await run(client, auth_settings, TOKEN_CREATE, email=email, password=PASSWORD))[
        "tokenCreate"
    ]
    refreshed = (
        await run(
            client,
            auth_settings,
            "mutation ($t: String!) { tokenRefresh(refreshToken: $t) { accessToken refreshToken expiresIn "
            "errors { code } } }",
            t=signed_in["refreshToken"],
        )
    )["tokenRefresh"]
    revoke = "mutation ($t: String!) { tokenRevoke(refreshToken: $t) { revoked errors { field code } } }"
    revoked = (await run(client, auth_settings, revoke, t=refreshed["refreshToken"]))["tokenRevoke"]
    unknown = (await run(client, auth_settings, revoke, t="nope"))["tokenRevoke"]

    account = registered["accountRegister"]["account"]
    assert registered["accountRegister"]["errors"] == []
    assert (account["email"], account["role"], account["permissions"]) == (email, "CUSTOMER", [])
    assert (signed_in["expiresIn"], signed_in["errors"]) == (900, [])
    principal = await client.authenticate(signed_in["accessToken"])
    assert str(principal.user_id) == account["id"]
    assert refreshed["errors"] == [] and refreshed["refreshToken"] != signed_in["refreshToken"]
    assert revoked == {"revoked": True, "errors": []}
    assert unknown == {"revoked": False, "errors": [{"field": "refreshToken", "code": "INVALID_TOKEN"}]}


async def test_refusals_are_payload_errors_with_each_mutations_codes(
    client: InProcessCustomersClient, auth_settings: Settings
) -> None:
    email = new_email()
    await client.register(RegisterAccount(email, PASSWORD))
    register = (
        "mutation ($email: String!, $password: String!) { accountRegister(input: {email: $email, "
        "password: $password}) { account { id } errors { field code message } } }"
    )

    taken = (await run(client, auth_settings, register, email=email, password=PASSWORD))["accountRegister"]
    invalid = (await run(client, auth_settings, register, email="x", password="short"))["accountRegister"]
    wrong = await run(client, auth_settings, TOKEN_CREATE, email=email, password="wrong password")

    assert taken == {
        "account": None,
        "errors": [
            {"field": "email", "code": "EMAIL_TAKEN", "message": "an account with this email already exists"}
        ],
    }
    assert [(e["field"], e["code"]) for e in invalid["errors"]] == [
        ("email", "INVALID"),
        ("password", "OUT_OF_RANGE"),
    ]
    assert wrong["tokenCreate"] == {
        "accessToken": None,
        "refreshToken": None,
        "expiresIn": None,
        "errors": [
            {"field": None, "code": "INVALID_CREDENTIALS", "message": "the email or password is not correct"}
        ],
    }


async def test_the_peer_address_is_throttled(
    client: InProcessCustomersClient, auth_settings: Settings
) -> None:
    ip = new_ip()

    codes = [
        (await run(client, auth_settings, TOKEN_CREATE, ip=ip, email=new_email(), password=PASSWORD))[
            "tokenCreate"
        ]["errors"][0]["code"]
        for _ in range(PER_IP + 1)
    ]

    assert codes == ["INVALID_CREDENTIALS"] * PER_IP + ["TOO_MANY_ATTEMPTS"]


async def test_me_is_null_when_anonymous_and_shows_only_your_addresses(
    client: InProcessCustomersClient, auth_settings: Settings
) -> None:
    alice = await signed_up(client)
    bob = await signed_up(client)
    query = f"{{ me {{ id email role permissions addresses {{ {ADDRESS_FIELDS} }} }} }}"
    create = (
        f"mutation ($input: AddressInput!) {{ addressCreate(input: $input) {{ address {{ {ADDRESS_FIELDS} }} "
        "errors { field code message } } }"
    )
    created = (await run(client, auth_settings, create, alice, input=ADDRESS_INPUT))["addressCreate"]
    await run(client, auth_settings, create, bob, input={**ADDRESS_INPUT, "line1": "Bob's"})

    anonymous = await run(client, auth_settings, query)
    mine = (await run(client, auth_settings, query, alice))["me"]

    assert anonymous == {"me": None}
    assert created["errors"] == []
    assert mine == {
        "id": str(alice.user_id),
        "email": alice.email,
        "role": "CUSTOMER",
        "permissions": [],
        "addresses": [
            {
                "id": created["address"]["id"],
                "firstName": "Ada",
                "lastName": "Lovelace",
                "line1": "1 Main St",
                "line2": "",
                "city": "Boston",
                "postalCode": "",
                "country": "US",
                "phone": "",
            }
        ],
    }


async def test_address_mutations_refuse_anonymous_callers_and_foreign_ids(
    client: InProcessCustomersClient, auth_settings: Settings, db: Database
) -> None:
    alice = await signed_up(client)
    mallory = await signed_up(client)
    address = await client.add_address(
        AddAddress(alice, AddressFields("Ada", "Lovelace", "1 Main St", "Boston", "US"))
    )
    update = (
        "mutation ($id: ID!, $input: AddressInput!) { addressUpdate(id: $id, input: $input) "
        "{ address { id } errors { field code } } }"
    )
    delete = "mutation ($id: ID!) { addressDelete(id: $id) { deletedId errors { field code } } }"
    create = (
        "mutation ($input: AddressInput!) { addressCreate(input: $input) "
        "{ address { id } errors { field code message } } }"
    )

    anonymous = (await run(client, auth_settings, create, input=ADDRESS_INPUT))["addressCreate"]
    foreign_update = await run(
        client, auth_settings, update, mallory, id=str(address.id), input=ADDRESS_INPUT
    )
    foreign_delete = (await run(client, auth_settings, delete, mallory, id=str(address.id)))["addressDelete"]
    bad_id = (await run(client, auth_settings, delete, alice, id="not-an-id"))["addressDelete"]
    invalid = (
        await run(
            client, auth_settings, create, alice, input={**ADDRESS_INPUT, "postalCode": "!!", "country": "ZZ"}
        )
    )["addressCreate"]
    deleted = (await run(client, auth_settings, delete, alice, id=str(address.id)))["addressDelete"]

    assert anonymous == {
        "address": None,
        "errors": [
            {"field": None, "code": "UNAUTHENTICATED", "message": "sign in first: this needs an access token"}
        ],
    }
    assert foreign_update["addressUpdate"] == {
        "address": None,
        "errors": [{"field": "id", "code": "NOT_FOUND"}],
    }
    assert foreign_delete == {"deletedId": None, "errors": [{"field": "id", "code": "NOT_FOUND"}]}
    assert bad_id == {"deletedId": None, "errors": [{"field": "id", "code": "INVALID"}]}
    assert [(e["field"], e["code"]) for e in invalid["errors"]] == [
        ("postalCode", "INVALID"),
        ("country", "INVALID"),
    ]
    assert deleted == {"deletedId": str(address.id), "errors": []}
    assert await fetch(db, "SELECT id FROM customers.addresses WHERE account_id = :a", a=alice.user_id) == []


@pytest.mark.parametrize("as_admin", [True, False])
async def test_staff_permissions_set(
    client: InProcessCustomersClient, auth_settings: Settings, as_admin: bool
) -> None:
    service = client.service
    target = await signed_up(client)
    if as_admin:
        email = new_email("admin")
        await create_admin(service, email, PASSWORD)
        actor: Principal | None = await client.authenticate(
            (await client.create_token(CreateToken(email, PASSWORD, new_ip()))).access_token
        )
    else:
        actor = await signed_up(client)
    mutation = (
        "mutation ($u: ID!, $p: [Permission!]!) { staffPermissionsSet(userId: $u, role: STAFF, "
        "permissions: $p) { account { id role permissions } errors { field code } } }"
    )

    result = await run(client, auth_settings, mutation, actor, u=str(target.user_id), p=["CATALOG_WRITE"])
    anonymous = await run(client, auth_settings, mutation, None, u=str(target.user_id), p=[])
    unknown = await run(client, auth_settings, mutation, actor, u=str(uuid.uuid4()), p=[])

    assert anonymous["staffPermissionsSet"]["errors"] == [{"field": None, "code": "UNAUTHENTICATED"}]
    if as_admin:
        assert result["staffPermissionsSet"] == {
            "account": {"id": str(target.user_id), "role": "STAFF", "permissions": ["CATALOG_WRITE"]},
            "errors": [],
        }
        assert unknown["staffPermissionsSet"]["errors"] == [{"field": "userId", "code": "NOT_FOUND"}]
    else:
        assert result["staffPermissionsSet"] == {
            "account": None,
            "errors": [{"field": None, "code": "PERMISSION_DENIED"}],
        }
        assert unknown["staffPermissionsSet"]["errors"] == [{"field": None, "code": "PERMISSION_DENIED"}]


def test_the_schema_exposes_no_hash_and_one_error_enum_per_mutation() -> None:
    sdl = SCHEMA.as_str()

    assert "hash" not in sdl.lower()
    for enum in (
        "AccountRegisterErrorCode",
        "TokenCreateErrorCode",
        "TokenRefreshErrorCode",
        "TokenRevokeErrorCode",
        "AddressCreateErrorCode",
        "AddressUpdateErrorCode",
        "AddressDeleteErrorCode",
        "StaffPermissionsSetErrorCode",
    ):
        assert f"enum {enum} {{" in sdl
    assert "enum Permission {" in sdl and "enum Role {" in sdl
