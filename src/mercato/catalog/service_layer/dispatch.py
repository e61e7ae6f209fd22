"""Every catalog use case, one line each: the command class and the handler that runs it.

All handlers have one shape, `handler(cmd, deps)` (`unit_of_work.CatalogDeps`); `CatalogService.handle`
looks the command's class up here. `RecordAvailability` is not among them: the availability consumer
runs `handlers.record_availability` in its own unit of work (a batch of events, one transaction).
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
