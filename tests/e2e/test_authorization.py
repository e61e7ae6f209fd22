"""Every staff operation by every kind of caller: only the right permission (or an admin) gets through."""

from __future__ import annotations

import uuid
import weakref
from dataclasses import dataclass, field

import pytest

from mercato.platform.auth import Permission, Role
from tests.conftest import ref
from tests.e2e.api_client import GraphQLClient
from tests.e2e.conftest import SignIn


@dataclass(frozen=True)
class Operation:
    name: str
    permission: Permission
    query: str
    variables: dict[str, object] = field(default_factory=dict)


def _operations() -> list[Operation]:
    some_id = str(uuid.uuid4())
    money = {"amount": "1.00", "currency": "USD"}
    errors = "errors { code }"
    return [
        Operation(
            "categoryCreate",
            Permission.CATALOG_WRITE,
            f'mutation {{ categoryCreate(input: {{slug: "{ref("c")}", name: "C"}}) {{ {errors} }} }}',
        ),
        Operation(
            "productCreate",
            Permission.CATALOG_WRITE,
            f'mutation {{ productCreate(input: {{slug: "{ref("p")}", name: "P"}}) {{ {errors} }} }}',
        ),
        Operation(
            "productUpdate",
            Permission.CATALOG_WRITE,
            f'mutation {{ productUpdate(id: "{some_id}", input: {{name: "P"}}) {{ {errors} }} }}',
        ),
        Operation(
            "productDelete",
            Permission.CATALOG_WRITE,
            f'mutation {{ productDelete(id: "{some_id}") {{ {errors} }} }}',
        ),
        Operation(
            "variantCreate",
            Permission.CATALOG_WRITE,
            "mutation($p: ID!, $m: MoneyInput!) { "
            f'variantCreate(productId: $p, input: {{sku: "S-1", price: $m}}) {{ {errors} }} }}',
            {"p": some_id, "m": money},
        ),
        Operation(
            "variantUpdate",
            Permission.CATALOG_WRITE,
            f'mutation {{ variantUpdate(id: "{some_id}", input: {{}}) {{ {errors} }} }}',
        ),
        Operation(
            "warehouseCreate",
            Permission.INVENTORY_WRITE,
            f'mutation {{ warehouseCreate(input: {{code: "{ref("w")}", name: "W"}}) {{ {errors} }} }}',
        ),
        Operation(
            "stockAdjust",
            Permission.INVENTORY_WRITE,
            f'mutation {{ stockAdjust(input: {{sku: "S-1", warehouseId: "{some_id}", reason: RECEIVED, '
            f"delta: 1}}) {{ {errors} }} }}",
        ),
        Operation("warehouses", Permission.INVENTORY_READ, "query { warehouses { id } }"),
        Operation("stockLevels", Permission.INVENTORY_READ, 'query { stockLevels(sku: "S-1") { onHand } }'),
    ]


OPERATIONS = _operations()
# One set of callers per topology, keyed by its `sign_in` fixture itself: an `id()` could be reused by
# the next topology's fixture once this one is collected, handing it clients that were closed.
_signed_in: weakref.WeakKeyDictionary[SignIn, dict[tuple[Role, frozenset[Permission]], GraphQLClient]] = (
    weakref.WeakKeyDictionary()
)
CALLERS = [
    # (_case, role, permissions granted, expected top-level error code or None when allowed)
    ("anonymous", None, (), "UNAUTHENTICATED"),
    ("customer", Role.CUSTOMER, (), "PERMISSION_DENIED"),
    ("staff_without_the_permission", Role.STAFF, ("other",), "PERMISSION_DENIED"),
    ("staff_with_the_permission", Role.STAFF, ("same",), None),
    ("admin", Role.ADMIN, (), None),
]


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda o: o.name)
@pytest.mark.parametrize(("_case", "role", "grant", "expected"), CALLERS, ids=[c[0] for c in CALLERS])
async def test_staff_operation_by_caller(
    operation: Operation,
    _case: str,
    role: Role | None,
    grant: tuple[str, ...],
    expected: str | None,
    sign_in: SignIn,
    anon_api: GraphQLClient,
) -> None:
    if role is None:
        caller = anon_api
    else:
        others = [p for p in Permission if p is not operation.permission and p is not Permission.STAFF_MANAGE]
        permissions = {"same": [operation.permission], "other": others}.get(grant[0], []) if grant else []
        callers = _signed_in.setdefault(sign_in, {})
        key = (role, frozenset(permissions))
        if key not in callers:  # one account per kind of caller keeps the matrix fast
            callers[key] = await sign_in(role, permissions)
        caller = callers[key]
    body = await caller.execute(operation.query, operation.variables)
    codes = [e["extensions"]["code"] for e in body.get("errors", [])]
    assert codes == ([expected] if expected else [])


async def test_an_expired_or_forged_token_is_unauthenticated(anon_api: GraphQLClient) -> None:
    response = await anon_api.http.post(
        "/graphql",
        json={"query": "query { warehouses { id } }"},
        headers={"Authorization": "Bearer not.a.token"},
    )
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_customer_never_reaches_another_customers_cart(sign_in: SignIn) -> None:
    alice, bob = await sign_in(Role.CUSTOMER), await sign_in(Role.CUSTOMER)
    cart = (await alice.mutate("mutation { cartCreate { cart { id } errors { code } } }", {}, "cartCreate"))[
        "cart"
    ]
    query = "query($id: ID!) { cart(id: $id) { id } }"
    assert await alice.data(query, {"id": cart["id"]}) == {"cart": {"id": cart["id"]}}
    assert await bob.data(query, {"id": cart["id"]}) == {"cart": None}
    add = (
        'mutation($id: ID!) { cartLinesAdd(cartId: $id, lines: [{sku: "X-1", quantity: 1}]) '
        "{ errors { code } } }"
    )
    assert (await bob.data(add, {"id": cart["id"]}))["cartLinesAdd"]["errors"] == [{"code": "CART_NOT_FOUND"}]
