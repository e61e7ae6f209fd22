"""Every context dispatches its commands the same way: one `COMMAND_HANDLERS` table whose handlers
all take `(cmd, deps)`, covering every command of its `domain/commands.py` but the few that run
elsewhere on purpose (listed here, each with its reason)."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import Any

import pytest

from mercato.cart.domain import commands as cart_commands
from mercato.cart.service_layer.dispatch import COMMAND_HANDLERS as CART
from mercato.catalog.domain import commands as catalog_commands
from mercato.catalog.service_layer.dispatch import COMMAND_HANDLERS as CATALOG
from mercato.customers.domain import commands as customers_commands
from mercato.customers.service_layer.handlers import COMMAND_HANDLERS as CUSTOMERS
from mercato.inventory.domain import commands as inventory_commands
from mercato.inventory.service_layer.dispatch import COMMAND_HANDLERS as INVENTORY
from mercato.orders.domain import commands as orders_commands
from mercato.orders.service_layer.dispatch import COMMAND_HANDLERS as ORDERS
from mercato.payments.domain import commands as payments_commands
from mercato.payments.service_layer.dispatch import COMMAND_HANDLERS as PAYMENTS

Table = dict[type[Any], Callable[[Any, Any], Awaitable[Any]]]

CONTEXTS: list[tuple[str, ModuleType, Table, set[str]]] = [
    # A variant is part of a CreateProduct, not a command of its own; availability is recorded by
    # the consumer, in its batch's unit of work.
    ("catalog", catalog_commands, CATALOG, {"NewVariant"}),
    ("inventory", inventory_commands, INVENTORY, set()),
    ("cart", cart_commands, CART, set()),
    ("customers", customers_commands, CUSTOMERS, set()),
    ("orders", orders_commands, ORDERS, set()),
    # The payment vault has its own entry (`PaymentsService.vault_payment_method`).
    ("payments", payments_commands, PAYMENTS, {"VaultPaymentMethod"}),
]


def _commands(module: ModuleType) -> set[str]:
    return {
        name
        for name, value in vars(module).items()
        if inspect.isclass(value) and dataclasses.is_dataclass(value) and value.__module__ == module.__name__
    }


@pytest.mark.parametrize(("context", "module", "table", "elsewhere"), CONTEXTS, ids=[c[0] for c in CONTEXTS])
def test_every_command_has_one_handler_of_the_one_shape(
    context: str, module: ModuleType, table: Table, elsewhere: set[str]
) -> None:
    assert {command.__name__ for command in table} == _commands(module) - elsewhere
    shapes = {
        command.__name__: list(inspect.signature(handler).parameters) for command, handler in table.items()
    }
    assert shapes == {name: ["cmd", "deps"] for name in shapes}
    assert all(inspect.iscoroutinefunction(handler) for handler in table.values())
