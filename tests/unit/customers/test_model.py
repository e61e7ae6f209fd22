from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from mercato.customers.domain.addresses import MAX_ADDRESSES, Address, AddressFields
from mercato.customers.domain.model import Account, check_sign_up, normalize_email, plausible_email
from mercato.customers.domain.rules import AddressLimitReached, CannotDemoteSelf, NotAllowed
from mercato.customers.domain.tokens import (
    IssuedRefreshToken,
    StoredRefreshToken,
    Verdict,
    hash_refresh_token,
)
from mercato.platform.auth import ALL_PERMISSIONS, Permission, Role
from mercato.platform.errors import InputRejected, Problem
from mercato.platform.postal import COUNTRY_CODES

NOW = datetime(2030, 1, 1, tzinfo=UTC)
P = Permission


def account(role: Role = Role.CUSTOMER, *permissions: Permission, active: bool = True) -> Account:
    return Account(
        id=uuid.uuid4(),
        email=f"{uuid.uuid4().hex}@example.com",
        password_hash="$argon2id$not-checked-here",
        role=role,
        permissions=frozenset(permissions),
        is_active=active,
        created_at=NOW,
    )


# -- emails and passwords -------------------------------------------------------------------------


def test_emails_are_normalized_trimmed_and_lowercase() -> None:
    assert normalize_email("  Ada.Lovelace+shop@Example.COM \n") == "ada.lovelace+shop@example.com"
    assert check_sign_up(" Ada@Example.com", "password") == "ada@example.com"


@pytest.mark.parametrize(
    "email",
    ["a@b.co", "first.last+tag@sub.example.org", "o'brien@example.ie", "x@xn--bcher-kva.example"],
)
def test_plausible_emails(email: str) -> None:
    assert plausible_email(email)


@pytest.mark.parametrize(
    "email",
    ["", "a@b", "@example.com", "a@.com", ".a@example.com", "a.@example.com", "a@-x.com", "a b@example.com"],
)
def test_implausible_emails(email: str) -> None:
    assert not plausible_email(email)


def test_sign_up_problems_are_collected() -> None:
    with pytest.raises(InputRejected) as caught:
        check_sign_up("nope", "1234567")
    assert [(e.field, e.code) for e in caught.value.errors] == [
        ("email", Problem.INVALID),
        ("password", Problem.OUT_OF_RANGE),
    ]


def test_an_account_never_shows_its_hash() -> None:
    assert "argon2" not in repr(account())


# -- staff access ---------------------------------------------------------------------------------


def test_an_admin_grants_and_the_event_records_before_and_after() -> None:
    admin, target = account(Role.ADMIN), account()

    outcome = target.change_access(admin, Role.STAFF, frozenset({P.ORDERS_MANAGE, P.CATALOG_WRITE}), NOW)

    assert outcome is not None
    changed, event = outcome
    assert (changed.role, changed.permissions) == (Role.STAFF, frozenset({P.ORDERS_MANAGE, P.CATALOG_WRITE}))
    assert event.payload() == {
        "role": "STAFF",
        "permissions": ["catalog:write", "orders:manage"],
        "previous_role": "CUSTOMER",
        "previous_permissions": [],
        "changed_by": str(admin.id),
    }
    assert (event.aggregate_id, event.occurred_at) == (str(target.id), NOW)


@pytest.mark.parametrize(
    "actor",
    [
        account(),
        account(Role.STAFF, P.CATALOG_WRITE),
        account(Role.STAFF, P.STAFF_MANAGE, active=False),
        account(Role.ADMIN, active=False),
    ],
)
def test_only_active_staff_managers_change_access(actor: Account) -> None:
    with pytest.raises(NotAllowed):
        account().change_access(actor, Role.STAFF, frozenset(), NOW)


def test_a_manager_changes_only_permissions_they_hold() -> None:
    manager = account(Role.STAFF, P.STAFF_MANAGE, P.CATALOG_WRITE)
    holder = account(Role.STAFF, P.CATALOG_WRITE, P.PAYMENTS_REFUND)

    outcome = account().change_access(manager, Role.STAFF, frozenset({P.CATALOG_WRITE}), NOW)
    with pytest.raises(NotAllowed) as granting:
        account().change_access(manager, Role.STAFF, frozenset({P.PAYMENTS_REFUND}), NOW)
    with pytest.raises(NotAllowed) as removing:
        holder.change_access(manager, Role.STAFF, frozenset({P.CATALOG_WRITE}), NOW)
    removed_own = holder.change_access(manager, Role.STAFF, frozenset({P.PAYMENTS_REFUND}), NOW)

    assert outcome is not None and outcome[0].permissions == {P.CATALOG_WRITE}
    assert granting.value.field == removing.value.field == "permissions"
    assert removed_own is not None and removed_own[0].permissions == {P.PAYMENTS_REFUND}


def test_a_manager_neither_makes_admins_nor_touches_them() -> None:
    manager = account(Role.STAFF, P.STAFF_MANAGE)

    with pytest.raises(NotAllowed) as making:
        account().change_access(manager, Role.ADMIN, frozenset(), NOW)
    with pytest.raises(NotAllowed) as touching:
        account(Role.ADMIN).change_access(manager, Role.STAFF, frozenset(), NOW)
    with pytest.raises(NotAllowed):
        manager.change_access(manager, Role.ADMIN, frozenset(), NOW)

    assert (making.value.field, touching.value.field) == ("role", "user_id")


def test_an_admin_keeps_their_own_admin_role() -> None:
    admin = account(Role.ADMIN)

    with pytest.raises(CannotDemoteSelf):
        admin.change_access(admin, Role.STAFF, ALL_PERMISSIONS, NOW)
    assert admin.change_access(admin, Role.ADMIN, frozenset(), NOW) is None


def test_admins_store_no_grants_and_customers_hold_none() -> None:
    admin = account(Role.ADMIN)

    promoted = account(Role.STAFF, P.CATALOG_WRITE).change_access(admin, Role.ADMIN, ALL_PERMISSIONS, NOW)
    with pytest.raises(InputRejected) as caught:
        account().change_access(admin, Role.CUSTOMER, frozenset({P.CATALOG_WRITE}), NOW)

    assert promoted is not None
    assert (promoted[0].permissions, promoted[0].effective_permissions) == (frozenset(), ALL_PERMISSIONS)
    assert promoted[0].principal().has(P.PAYMENTS_REFUND)
    assert [(e.field, e.code) for e in caught.value.errors] == [("permissions", Problem.INVALID)]


def test_an_unchanged_access_is_no_change() -> None:
    staff = account(Role.STAFF, P.CATALOG_WRITE)

    assert staff.change_access(account(Role.ADMIN), Role.STAFF, frozenset({P.CATALOG_WRITE}), NOW) is None


# -- addresses ------------------------------------------------------------------------------------


def test_addresses_are_trimmed_and_the_country_upper_cased() -> None:
    fields = AddressFields(
        first_name=" Ada ", last_name=" Lovelace", line1=" 1 Main St ", city="Boston ", country=" us "
    ).cleaned()

    assert fields == AddressFields("Ada", "Lovelace", "1 Main St", "Boston", "US")


def test_country_codes_are_the_249_assigned_ones() -> None:
    assert len(COUNTRY_CODES) == 249
    assert {"US", "GB", "DE", "JP", "SS", "XK"} & COUNTRY_CODES == {"US", "GB", "DE", "JP", "SS"}


@pytest.mark.parametrize(
    ("phone", "ok"),
    [("+1 (617) 555-0100", True), ("0044.20.7946.0000", True), ("12345", False), ("+1 555 CALL", False)],
)
def test_phone_numbers(phone: str, ok: bool) -> None:
    fields = AddressFields("Ada", "Lovelace", "1 Main St", "Boston", "US", phone=phone)
    if ok:
        assert fields.cleaned().phone == phone
    else:
        with pytest.raises(InputRejected) as caught:
            fields.cleaned()
        assert [(e.field, e.code) for e in caught.value.errors] == [("phone", Problem.INVALID)]


def test_an_address_book_is_full_at_twenty() -> None:
    fields = AddressFields("Ada", "Lovelace", "1 Main St", "Boston", "US")
    owner = uuid.uuid4()

    last = Address.add(owner, fields, existing=MAX_ADDRESSES - 1, now=NOW)
    with pytest.raises(AddressLimitReached):
        Address.add(owner, fields, existing=MAX_ADDRESSES, now=NOW)

    assert (last.account_id, last.created_at, last.updated_at) == (owner, NOW, NOW)


# -- refresh tokens -------------------------------------------------------------------------------


def test_an_issued_refresh_token_keeps_only_its_hash_in_view() -> None:
    token = IssuedRefreshToken.issue(family_id=uuid.uuid4(), parent_id=None, now=NOW, ttl=timedelta(days=1))

    assert token.token_hash == hash_refresh_token(token.secret)
    assert len(token.token_hash) == 32 and len(token.secret) == 43
    assert token.expires_at == NOW + timedelta(days=1)
    assert token.secret not in repr(token)


def stored(
    *, used: datetime | None = None, revoked: datetime | None = None, expires: datetime = NOW
) -> StoredRefreshToken:
    return StoredRefreshToken(
        id=uuid.uuid4(),
        family_id=uuid.uuid4(),
        account_id=uuid.uuid4(),
        expires_at=expires,
        used_at=used,
        family_revoked_at=revoked,
    )


def test_refresh_token_verdicts() -> None:
    earlier = NOW - timedelta(seconds=1)

    assert stored().verdict(earlier) is Verdict.VALID
    assert stored().verdict(NOW) is Verdict.INVALID  # expired at its expiry instant
    assert stored(used=earlier).verdict(earlier) is Verdict.REUSED
    assert stored(used=earlier, expires=earlier).verdict(NOW) is Verdict.REUSED
    assert stored(revoked=earlier).verdict(earlier) is Verdict.INVALID
    assert stored(used=earlier, revoked=earlier).verdict(earlier) is Verdict.INVALID
