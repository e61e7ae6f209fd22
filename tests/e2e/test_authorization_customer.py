"""Customer-owned resources by every kind of caller: only the owner reaches them; nobody else learns
they exist (staff and admins included: carts and address books are private)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from mercato.platform.auth import Permission, Role
from tests.e2e.api_client import GraphQLClient
from tests.e2e.conftest import SignIn

ADDRESS = {"firstName": "Ada", "lastName": "Lovelace", "line1": "1 Way", "city": "London", "country": "GB"}


@dataclass(frozen=True)
class Owned:
    cart: str
    address: str


@pytest.fixture(scope="module")
async def owner(sign_in: SignIn) -> tuple[GraphQLClient, Owned]:
    client = await sign_in(Role.CUSTOMER)
    cart = await client.mutate("mutation { cartCreate { cart { id } errors { code } } }", {}, "cartCreate")
    address = await client.mutate(
        "mutation($a: AddressInput!) { addressCreate(input: $a) { address { id } errors { code } } }",
        {"a": ADDRESS},
        "addressCreate",
    )
    return client, Owned(cart=cart["cart"]["id"], address=address["address"]["id"])


OPERATIONS: dict[str, tuple[str, str]] = {
    # name: (mutation, payload field); every one targets the owner's cart or address
    "cartLinesAdd": (
        'mutation($c: ID!) { cartLinesAdd(cartId: $c, lines: [{sku: "NOPE-1", quantity: 1}]) '
        "{ errors { code } } }",
        "cartLinesAdd",
    ),
    "cartLinesUpdate": (
        'mutation($c: ID!) { cartLinesUpdate(cartId: $c, lines: [{sku: "NOPE-1", quantity: 1}]) '
        "{ errors { code } } }",
        "cartLinesUpdate",
    ),
    "cartLinesRemove": (
        'mutation($c: ID!) { cartLinesRemove(cartId: $c, skus: ["NOPE-1"]) { errors { code } } }',
        "cartLinesRemove",
    ),
    "checkoutComplete": (
        'mutation($c: ID!) { checkoutComplete(cartId: $c, paymentToken: "tok_success", '
        'shippingAddress: {firstName: "A", lastName: "B", line1: "C", city: "D", country: "GB"}, '
        'idempotencyKey: "authz") { errors { code } } }',
        "checkoutComplete",
    ),
    "addressUpdate": (
        "mutation($a: ID!) { addressUpdate(id: $a, input: "
        '{firstName: "X", lastName: "Y", line1: "Z", city: "W", country: "GB"}) { errors { code } } }',
        "addressUpdate",
    ),
    "addressDelete": (
        "mutation($a: ID!) { addressDelete(id: $a) { errors { code } } }",
        "addressDelete",
    ),
}

NOT_FOUND = {
    "cartLinesAdd": "CART_NOT_FOUND",
    "cartLinesUpdate": "CART_NOT_FOUND",
    "cartLinesRemove": "CART_NOT_FOUND",
    "checkoutComplete": "CART_NOT_FOUND",
    "addressUpdate": "NOT_FOUND",
    "addressDelete": "NOT_FOUND",
}
ANONYMOUS = {
    **NOT_FOUND,
    "checkoutComplete": "UNAUTHENTICATED",
    "addressUpdate": "UNAUTHENTICATED",
    "addressDelete": "UNAUTHENTICATED",
}
# The owner gets through authorization; what remains is the operation's own verdict on this input.
OWNER = {
    "cartLinesAdd": "UNKNOWN_SKU",
    "cartLinesUpdate": "LINE_NOT_FOUND",
    "cartLinesRemove": None,
    "checkoutComplete": "CART_EMPTY",
    "addressUpdate": None,
    "addressDelete": None,
}
CALLERS = [
    # (_case, role, permissions, expected codes by operation)
    ("anonymous", None, (), ANONYMOUS),
    ("owner", Role.CUSTOMER, (), OWNER),
    ("another_customer", Role.CUSTOMER, (), NOT_FOUND),
    ("staff_without_orders_manage", Role.STAFF, (Permission.CATALOG_WRITE,), NOT_FOUND),
    ("staff_with_orders_manage", Role.STAFF, (Permission.ORDERS_MANAGE,), NOT_FOUND),
    ("admin", Role.ADMIN, (), NOT_FOUND),
]
# addressDelete by the owner must run last: it removes the address the others target.
ORDER = [
    "cartLinesAdd",
    "cartLinesUpdate",
    "cartLinesRemove",
    "checkoutComplete",
    "addressUpdate",
    "addressDelete",
]


@pytest.mark.parametrize(("_case", "role", "grant", "expected"), CALLERS, ids=[c[0] for c in CALLERS])
async def test_customer_owned_operations_by_caller(
    _case: str,
    role: Role | None,
    grant: tuple[Permission, ...],
    expected: dict[str, str | None],
    owner: tuple[GraphQLClient, Owned],
    sign_in: SignIn,
    anon_api: GraphQLClient,
) -> None:
    owner_client, owned = owner
    if _case == "owner":
        caller = owner_client
    elif role is None:
        caller = anon_api
    else:
        caller = await sign_in(role, grant)
    operations = ORDER if _case == "owner" else [o for o in ORDER if o != "addressDelete"] + ["addressDelete"]
    for name in operations:
        query, field = OPERATIONS[name]
        variables = {"a": owned.address} if name.startswith("address") else {"c": owned.cart}
        body: dict[str, Any] = await caller.execute(query, variables)
        assert "errors" not in body, (name, body)
        codes = [e["code"] for e in body["data"][field]["errors"]]
        assert codes == ([expected[name]] if expected[name] else []), (name, codes)
