from __future__ import annotations

import uuid
from collections.abc import Awaitable

import pytest

from mercato.customers import StaffPermissionsSetErrorCode
from mercato.customers.bootstrap import CustomersService, create_admin
from mercato.customers.client import InProcessCustomersClient
from mercato.customers.domain.commands import CreateToken, RegisterAccount, SetStaffPermissions
from mercato.platform.auth import ALL_PERMISSIONS, Permission, Principal, Role
from mercato.platform.db import Database
from mercato.platform.errors import ClientError, InputRejected
from tests.service.customers.conftest import PASSWORD, account_row, new_email, new_ip, outbox, signed_up

P = Permission


async def _admin(service: CustomersService, client: InProcessCustomersClient) -> Principal:
    email = new_email("admin")
    await create_admin(service, email, PASSWORD)
    return await client.authenticate(
        (await client.create_token(CreateToken(email, PASSWORD, new_ip()))).access_token
    )


async def _staff(
    service: CustomersService, client: InProcessCustomersClient, *permissions: Permission
) -> Principal:
    """A staff member holding `permissions`, signed in after the grant."""
    admin = await _admin(service, client)
    email = new_email("staff")
    account = await client.register(RegisterAccount(email, PASSWORD))
    await client.set_staff_permissions(SetStaffPermissions.of(admin, account.id, Role.STAFF, permissions))
    return await client.authenticate(
        (await client.create_token(CreateToken(email, PASSWORD, new_ip()))).access_token
    )


async def _state(db: Database, email: str) -> tuple[str, list[str]]:
    row = await account_row(db, email)
    return row.role, row.permissions


async def _refusal(call: Awaitable[object]) -> StaffPermissionsSetErrorCode:
    with pytest.raises(ClientError) as caught:
        await call
    assert isinstance(caught.value.code, StaffPermissionsSetErrorCode)
    return caught.value.code


async def test_an_admin_makes_a_customer_staff_and_the_change_is_announced(
    service: CustomersService, client: InProcessCustomersClient, db: Database
) -> None:
    admin = await _admin(service, client)
    customer = await signed_up(client)

    view = await client.set_staff_permissions(
        SetStaffPermissions.of(admin, customer.user_id, Role.STAFF, [P.INVENTORY_WRITE, P.CATALOG_WRITE])
    )

    assert (view.role, view.permissions) == (Role.STAFF, frozenset({P.CATALOG_WRITE, P.INVENTORY_WRITE}))
    assert await _state(db, customer.email) == ("STAFF", ["catalog:write", "inventory:write"])
    events = await outbox(db, "customers.staff_permissions_changed", customer.user_id)
    assert [e.payload for e in events] == [
        {
            "role": "STAFF",
            "permissions": ["catalog:write", "inventory:write"],
            "previous_role": "CUSTOMER",
            "previous_permissions": [],
            "changed_by": str(admin.user_id),
        }
    ]
    # The next sign-in of the new staff member carries the grants.
    pair = await client.create_token(CreateToken(customer.email, PASSWORD, new_ip()))
    assert (await client.authenticate(pair.access_token)).permissions == view.permissions


async def test_customers_and_staff_without_staff_manage_are_refused(
    service: CustomersService, client: InProcessCustomersClient, db: Database
) -> None:
    customer = await signed_up(client)
    clerk = await _staff(service, client, P.CATALOG_WRITE)
    target = await signed_up(client)

    by_customer = await _refusal(
        client.set_staff_permissions(SetStaffPermissions.of(customer, target.user_id, Role.STAFF, []))
    )
    by_clerk = await _refusal(
        client.set_staff_permissions(SetStaffPermissions.of(clerk, target.user_id, Role.STAFF, []))
    )
    by_self = await _refusal(
        client.set_staff_permissions(SetStaffPermissions.of(customer, customer.user_id, Role.ADMIN, []))
    )

    assert by_customer is by_clerk is by_self is StaffPermissionsSetErrorCode.PERMISSION_DENIED
    assert await _state(db, target.email) == ("CUSTOMER", [])
    assert await _state(db, customer.email) == ("CUSTOMER", [])
    assert await outbox(db, "customers.staff_permissions_changed", target.user_id) == []


async def test_a_staff_manager_grants_only_what_they_hold_and_never_admin(
    service: CustomersService, client: InProcessCustomersClient, db: Database
) -> None:
    manager = await _staff(service, client, P.STAFF_MANAGE, P.CATALOG_WRITE)
    admin = await _admin(service, client)
    target = await signed_up(client)

    granted = await client.set_staff_permissions(
        SetStaffPermissions.of(manager, target.user_id, Role.STAFF, [P.CATALOG_WRITE])
    )
    beyond = await _refusal(
        client.set_staff_permissions(
            SetStaffPermissions.of(manager, target.user_id, Role.STAFF, [P.PAYMENTS_REFUND])
        )
    )
    to_admin = await _refusal(
        client.set_staff_permissions(SetStaffPermissions.of(manager, target.user_id, Role.ADMIN, []))
    )
    self_to_admin = await _refusal(
        client.set_staff_permissions(SetStaffPermissions.of(manager, manager.user_id, Role.ADMIN, []))
    )
    demote_admin = await _refusal(
        client.set_staff_permissions(SetStaffPermissions.of(manager, admin.user_id, Role.STAFF, []))
    )

    assert granted.permissions == frozenset({P.CATALOG_WRITE})
    assert {beyond, to_admin, self_to_admin, demote_admin} == {StaffPermissionsSetErrorCode.PERMISSION_DENIED}
    assert await _state(db, target.email) == ("STAFF", ["catalog:write"])
    assert await _state(db, manager.email) == ("STAFF", ["catalog:write", "staff:manage"])
    assert (await account_row(db, admin.email)).role == "ADMIN"


async def test_a_manager_cannot_remove_a_permission_they_do_not_hold(
    service: CustomersService, client: InProcessCustomersClient, db: Database
) -> None:
    manager = await _staff(service, client, P.STAFF_MANAGE)
    refunder = await _staff(service, client, P.PAYMENTS_REFUND)

    code = await _refusal(
        client.set_staff_permissions(SetStaffPermissions.of(manager, refunder.user_id, Role.STAFF, []))
    )

    assert code is StaffPermissionsSetErrorCode.PERMISSION_DENIED
    assert await _state(db, refunder.email) == ("STAFF", ["payments:refund"])


async def test_an_admin_cannot_demote_themself(
    service: CustomersService, client: InProcessCustomersClient, db: Database
) -> None:
    admin = await _admin(service, client)

    code = await _refusal(
        client.set_staff_permissions(
            SetStaffPermissions.of(admin, admin.user_id, Role.STAFF, list(ALL_PERMISSIONS))
        )
    )

    assert code is StaffPermissionsSetErrorCode.CANNOT_DEMOTE_SELF
    assert await _state(db, admin.email) == ("ADMIN", [])
    assert await outbox(db, "customers.staff_permissions_changed", admin.user_id) == []


async def test_authority_is_read_from_the_database_not_from_the_token(
    service: CustomersService, client: InProcessCustomersClient, db: Database
) -> None:
    admin = await _admin(service, client)
    demoted = await _staff(service, client, P.STAFF_MANAGE)
    target = await signed_up(client)
    await client.set_staff_permissions(SetStaffPermissions.of(admin, demoted.user_id, Role.STAFF, []))

    # `demoted` still holds an access token that claims STAFF_MANAGE.
    code = await _refusal(
        client.set_staff_permissions(SetStaffPermissions.of(demoted, target.user_id, Role.STAFF, []))
    )
    forged = Principal(user_id=uuid.uuid4(), email="nobody@example.com", role=Role.ADMIN)
    unknown_actor = await _refusal(
        client.set_staff_permissions(SetStaffPermissions.of(forged, target.user_id, Role.STAFF, []))
    )

    assert demoted.has(P.STAFF_MANAGE)
    assert code is unknown_actor is StaffPermissionsSetErrorCode.PERMISSION_DENIED
    assert await _state(db, target.email) == ("CUSTOMER", [])


async def test_unknown_accounts_and_invalid_grants_are_refused(
    service: CustomersService, client: InProcessCustomersClient, db: Database
) -> None:
    admin = await _admin(service, client)
    customer = await signed_up(client)

    unknown = await _refusal(
        client.set_staff_permissions(SetStaffPermissions.of(admin, uuid.uuid4(), Role.STAFF, []))
    )
    with pytest.raises(InputRejected) as caught:
        await client.set_staff_permissions(
            SetStaffPermissions.of(admin, customer.user_id, Role.CUSTOMER, [P.CATALOG_WRITE])
        )

    assert unknown is StaffPermissionsSetErrorCode.NOT_FOUND
    assert [(e.field, e.code) for e in caught.value.errors] == [
        ("permissions", StaffPermissionsSetErrorCode.INVALID)
    ]
    assert await _state(db, customer.email) == ("CUSTOMER", [])


async def test_promoting_to_admin_drops_grants_and_a_no_op_writes_no_event(
    service: CustomersService, client: InProcessCustomersClient, db: Database
) -> None:
    admin = await _admin(service, client)
    target = await signed_up(client)

    promoted = await client.set_staff_permissions(
        SetStaffPermissions.of(admin, target.user_id, Role.ADMIN, [P.CATALOG_WRITE])
    )
    again = await client.set_staff_permissions(SetStaffPermissions.of(admin, target.user_id, Role.ADMIN, []))

    assert promoted.permissions == again.permissions == ALL_PERMISSIONS
    assert await _state(db, target.email) == ("ADMIN", [])
    events = await outbox(db, "customers.staff_permissions_changed", target.user_id)
    assert [(e.payload["previous_role"], e.payload["role"]) for e in events] == [("CUSTOMER", "ADMIN")]
