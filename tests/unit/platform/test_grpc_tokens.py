"""Outgoing service and principal tokens are signed once and reused while half their life is left."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt

from mercato.platform.auth import Permission, Principal, Role
from mercato.platform.grpc import auth
from mercato.platform.grpc.client import ServiceCaller

SECRET = "s" * 48
ORDERS = "mercato.orders.v1.OrdersService"
CATALOG = "mercato.catalog.v1.CatalogService"
ADA = Principal(uuid.uuid4(), "ada@example.com", Role.CUSTOMER)


class Clock:
    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now


def claims(token: str) -> dict[str, Any]:
    decoded: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return decoded


def test_a_service_token_is_reused_until_half_its_life_is_gone_then_renewed() -> None:
    clock = Clock()
    tokens = auth.OutgoingTokens("gateway", SECRET, clock=clock)
    first = tokens.service_token(ORDERS)
    clock.now += 29.9
    assert tokens.service_token(ORDERS) == first
    clock.now += 0.1  # 30 s of its 60 gone
    renewed = tokens.service_token(ORDERS)
    assert renewed != first
    assert claims(renewed)["iat"] == claims(first)["iat"] + 30
    assert claims(renewed)["exp"] == claims(renewed)["iat"] + auth.DEFAULT_TTL_SECONDS
    # Verification is unchanged: the reused token is a valid token of the caller, for that service only
    assert auth.verify_service_token(first, SECRET, audience=ORDERS) == "gateway"


def test_each_audience_has_its_own_service_token() -> None:
    tokens = auth.OutgoingTokens("gateway", SECRET, clock=Clock())
    orders, catalog = tokens.service_token(ORDERS), tokens.service_token(CATALOG)
    assert orders != catalog
    assert (claims(orders)["aud"], claims(catalog)["aud"]) == (ORDERS, CATALOG)


def test_a_principal_token_is_reused_for_the_same_principal_only() -> None:
    clock = Clock()
    tokens = auth.OutgoingTokens("gateway", SECRET, clock=clock)
    first = tokens.principal_token(ADA, ORDERS)
    assert tokens.principal_token(ADA, ORDERS) == first
    assert auth.verify_principal_token(first, SECRET, audience=ORDERS) == ADA
    # A change of permissions is another principal: a new token at once, stating them
    promoted = Principal(ADA.user_id, ADA.email, Role.STAFF, frozenset({Permission.ORDERS_MANAGE}))
    other = tokens.principal_token(promoted, ORDERS)
    assert other != first
    assert auth.verify_principal_token(other, SECRET, audience=ORDERS) == promoted
    assert tokens.principal_token(ADA, CATALOG) != first
    clock.now += 30
    assert tokens.principal_token(ADA, ORDERS) != first


def test_principal_tokens_are_a_bounded_lru() -> None:
    tokens = auth.OutgoingTokens("gateway", SECRET, max_principals=2, clock=Clock())
    people = [Principal(uuid.uuid4(), f"p{i}@example.com", Role.CUSTOMER) for i in range(3)]
    first = [tokens.principal_token(p, ORDERS) for p in people[:2]]
    assert tokens.principal_token(people[0], ORDERS) == first[0]  # used: now the most recent
    tokens.principal_token(people[2], ORDERS)  # evicts people[1], the least recent
    assert tokens.principal_token(people[0], ORDERS) == first[0]
    assert tokens.principal_token(people[1], ORDERS) != first[1]


class Recorder:
    """Stands in for a generated stub's method: records the metadata of each call."""

    _method = f"/{ORDERS}/GetOrder".encode()

    def __init__(self) -> None:
        self.metadata: list[dict[str, str]] = []

    async def __call__(self, request: object, **options: Any) -> str:
        self.metadata.append(dict(options["metadata"]))
        return "reply"


async def test_two_calls_carry_one_signed_token() -> None:
    caller = ServiceCaller(service="gateway", target_name="orders", secret=SECRET)
    method = Recorder()
    reset = auth.current_principal.set(ADA)
    try:
        for _ in range(2):
            assert await caller.call(method, object(), retryable=True) == "reply"
    finally:
        auth.current_principal.reset(reset)
    first, second = method.metadata
    assert first[auth.AUTHORIZATION_KEY] == second[auth.AUTHORIZATION_KEY]
    assert first[auth.PRINCIPAL_KEY] == second[auth.PRINCIPAL_KEY]
    token = auth.bearer(first)
    assert auth.verify_service_token(token, SECRET, audience=ORDERS) == "gateway"
    assert auth.verify_principal_token(first[auth.PRINCIPAL_KEY], SECRET, audience=ORDERS) == ADA
