from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from mercato.customers.domain.model import Account
from mercato.customers.service_layer.access_tokens import issue_access_token, verify_access_token
from mercato.platform.auth import ALL_PERMISSIONS, Permission, Principal, Role, Unauthenticated
from mercato.platform.config import Settings

NOW = datetime(2030, 1, 1, tzinfo=UTC)
SECRET = "k" * 64  # long enough for HS512 too, to test that HS512 is refused
SETTINGS = Settings(auth_secret=SECRET, access_token_ttl_seconds=600, _env_file=None)
STAFF = Account(
    id=uuid.uuid4(),
    email="staff@example.com",
    password_hash="-",
    role=Role.STAFF,
    permissions=frozenset({Permission.INVENTORY_WRITE, Permission.CATALOG_WRITE}),
    created_at=NOW,
)


def test_an_access_token_carries_the_principal_and_exact_claims() -> None:
    token = issue_access_token(STAFF, SETTINGS, NOW)

    principal = verify_access_token(token, SETTINGS, now=NOW)
    claims = jwt.decode(
        token, SECRET, algorithms=["HS256"], options={"verify_exp": False, "verify_iat": False}
    )

    assert principal == Principal(STAFF.id, "staff@example.com", Role.STAFF, STAFF.permissions)
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    assert {k: v for k, v in claims.items() if k != "jti"} == {
        "sub": str(STAFF.id),
        "email": "staff@example.com",
        "role": "STAFF",
        "perms": ["catalog:write", "inventory:write"],
        "ver": 0,
        "iat": int(NOW.timestamp()),
        "exp": int(NOW.timestamp()) + 600,
        "typ": "access",
    }
    assert len(claims["jti"]) == 32
    assert (
        claims["jti"]
        != jwt.decode(issue_access_token(STAFF, SETTINGS, NOW), options={"verify_signature": False})["jti"]
    )


def test_an_admins_token_lists_every_permission() -> None:
    admin = Account(
        id=uuid.uuid4(), email="a@example.com", password_hash="-", role=Role.ADMIN, created_at=NOW
    )

    principal = verify_access_token(issue_access_token(admin, SETTINGS, NOW), SETTINGS, now=NOW)

    assert principal.permissions == ALL_PERMISSIONS


def test_a_token_expires_at_exp_exactly() -> None:
    token = issue_access_token(STAFF, SETTINGS, NOW)

    assert verify_access_token(token, SETTINGS, now=NOW + timedelta(seconds=599)).user_id == STAFF.id
    with pytest.raises(Unauthenticated, match="expired"):
        verify_access_token(token, SETTINGS, now=NOW + timedelta(seconds=600))


def test_without_a_clock_the_wall_clock_decides() -> None:
    fresh = issue_access_token(STAFF, SETTINGS, datetime.now(UTC))
    stale = issue_access_token(STAFF, SETTINGS, NOW - timedelta(days=3650))

    assert verify_access_token(fresh, SETTINGS).user_id == STAFF.id
    with pytest.raises(Unauthenticated, match="expired"):
        verify_access_token(stale, SETTINGS)


def _forge(claims: dict[str, object], key: str = SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=algorithm)


def _valid_claims(**changes: object) -> dict[str, object]:
    claims: dict[str, object] = {
        "sub": str(STAFF.id),
        "email": STAFF.email,
        "role": "STAFF",
        "perms": [],
        "ver": 3,
        "iat": int(NOW.timestamp()),
        "exp": int(NOW.timestamp()) + 600,
        "jti": "j",
        "typ": "access",
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _unsigned(claims: dict[str, object]) -> str:
    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


@pytest.mark.parametrize(
    "token",
    [
        _forge(_valid_claims(), key="o" * 64),  # another secret
        _forge(_valid_claims(), algorithm="HS512"),  # another algorithm, right secret
        _unsigned(_valid_claims()),  # alg: none
        _forge(_valid_claims(typ="refresh")),
        _forge(_valid_claims(jti=None)),
        _forge(_valid_claims(perms=["root:everything"])),
        _forge(_valid_claims(role="OWNER")),
        _forge(_valid_claims(sub="not-a-uuid")),
        _forge(_valid_claims(perms="catalog:write")),
        _forge(_valid_claims(exp="tomorrow")),
        _forge(_valid_claims(ver=None)),  # issued before token versions, or forged without one
        _forge(_valid_claims(ver="3")),
        _forge(_valid_claims(ver=True)),
        "",
        "not.a.jwt",
        "x" * 5_000,
    ],
)
def test_forged_or_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(Unauthenticated):
        verify_access_token(token, SETTINGS, now=NOW)


def test_a_tampered_payload_breaks_the_signature() -> None:
    header, _, signature = issue_access_token(STAFF, SETTINGS, NOW).split(".")
    admin_claims = _valid_claims(role="ADMIN")
    payload = base64.urlsafe_b64encode(json.dumps(admin_claims).encode()).rstrip(b"=").decode()

    with pytest.raises(Unauthenticated, match="invalid access token"):
        verify_access_token(f"{header}.{payload}.{signature}", SETTINGS, now=NOW)


def test_without_a_secret_nothing_is_issued_nor_accepted() -> None:
    unset = Settings(_env_file=None)

    with pytest.raises(RuntimeError, match="MERCATO_AUTH_SECRET"):
        issue_access_token(STAFF, unset, NOW)
    with pytest.raises(Unauthenticated):
        verify_access_token(issue_access_token(STAFF, SETTINGS, NOW), unset, now=NOW)
