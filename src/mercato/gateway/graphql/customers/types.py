"""Customers types of the GraphQL API: accounts, addresses, and the inputs that change them.

No type here has a field for a password hash or a token hash; views do not even carry them.
"""

from __future__ import annotations

from enum import Enum

import strawberry

from mercato.customers.domain.addresses import AddressFields
from mercato.customers.service_layer.queries import AccountView, AddressView
from mercato.gateway.graphql.orders.types import OrderConnection, customer_orders
from mercato.platform.auth import Permission, Principal, Role


def _expose(enum: type[Enum]) -> None:
    # Role and Permission belong to the platform, so another context's GraphQL module may expose
    # them too; registering twice would give the schema two definitions of one name.
    if not hasattr(enum, "__strawberry_definition__"):
        strawberry.enum(enum)


_expose(Role)
_expose(Permission)


@strawberry.type(description="A postal address of the signed-in account's address book.")
class Address:
    id: strawberry.ID
    first_name: str
    last_name: str
    line1: str
    line2: str
    city: str
    postal_code: str
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 code, e.g. US.")
    phone: str

    @classmethod
    def of(cls, view: AddressView) -> Address:
        return cls(
            id=strawberry.ID(str(view.id)),
            first_name=view.first_name,
            last_name=view.last_name,
            line1=view.line1,
            line2=view.line2,
            city=view.city,
            postal_code=view.postal_code,
            country=view.country,
            phone=view.phone,
        )


@strawberry.type(description="An account as staff and its owner see it (never its addresses).")
class Account:
    id: strawberry.ID
    email: str
    role: Role
    permissions: list[Permission] = strawberry.field(
        description="What the account may do; an admin holds every permission."
    )

    @classmethod
    def of(cls, view: AccountView) -> Account:
        return cls(
            id=strawberry.ID(str(view.id)),
            email=view.email,
            role=view.role,
            permissions=sorted(view.permissions, key=lambda p: p.value),
        )


@strawberry.type(description="The signed-in account, with its address book.")
class MyAccount:
    id: strawberry.ID
    email: str
    role: Role
    permissions: list[Permission]
    principal: strawberry.Private[Principal]

    @classmethod
    def of(cls, view: AccountView, principal: Principal) -> MyAccount:
        return cls(
            id=strawberry.ID(str(view.id)),
            email=view.email,
            role=view.role,
            permissions=sorted(view.permissions, key=lambda p: p.value),
            principal=principal,
        )

    @strawberry.field(description="Oldest first; at most 20.")
    async def addresses(self, info: strawberry.Info) -> list[Address]:
        return [Address.of(a) for a in await info.context.clients.customers.addresses(self.principal)]

    @strawberry.field(description="Your orders, newest first, a page at a time (at most 100).")
    async def orders(
        self, info: strawberry.Info, first: int = 20, after: str | None = None
    ) -> OrderConnection:
        return await customer_orders(info, self.principal.user_id, first, after)


@strawberry.input
class AddressInput:
    first_name: str
    last_name: str
    line1: str
    city: str
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 code, e.g. US.")
    line2: str = ""
    postal_code: str = ""
    phone: str = ""

    def to_fields(self) -> AddressFields:
        return AddressFields(
            first_name=self.first_name,
            last_name=self.last_name,
            line1=self.line1,
            line2=self.line2,
            city=self.city,
            postal_code=self.postal_code,
            country=self.country,
            phone=self.phone,
        )


@strawberry.input
class AccountRegisterInput:
    email: str
    password: str


@strawberry.input
class TokenCreateInput:
    email: str
    password: str
    cart_id: strawberry.ID | None = strawberry.field(
        default=None, description="An anonymous cart to merge into the customer's cart on sign-in."
    )
