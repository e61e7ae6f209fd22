"""Every catalog use case, one line each: the command class and the handler that runs it.

All handlers have one shape, `handler(cmd, deps)` (`unit_of_work.CatalogDeps`); `CatalogService.handle`
looks the command's class up here. The availability read model has no command: its consumer stages a
batch of level events on its unit of work and writes them in one statement at commit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from mercato.catalog.domain import commands
from mercato.catalog.service_layer import handlers
from mercato.catalog.service_layer.unit_of_work import CatalogDeps

COMMAND_HANDLERS: dict[type[Any], Callable[[Any, CatalogDeps], Awaitable[Any]]] = {
    commands.CreateCategory: handlers.create_category,
    commands.CreateProduct: handlers.create_product,
    commands.UpdateProduct: handlers.update_product,
    commands.DeleteProduct: handlers.delete_product,
    commands.CreateVariant: handlers.create_variant,
    commands.UpdateVariant: handlers.update_variant,
}
