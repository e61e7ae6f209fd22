"""Every inventory use case, one line each: the command class and the handler that runs it.

All handlers have one shape, `handler(cmd, deps)` (`unit_of_work.InventoryDeps`), and open their own
unit of work; `InventoryService.handle` looks the command's class up in `COMMAND_HANDLERS`. The saga's
commands also run inside a unit of work the saga consumer opened and commits (`IN_UNIT_OF_WORK`,
`handler_in(cmd, uow)`, through `InventoryService.handle_in`; see `handlers`), and the consumer's runs of
many at once in a constant number of statements (`BATCHES_IN_UNIT_OF_WORK`, `handler(cmds, uow)`, through
`InventoryService.handle_batch_in`; see `batches`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from mercato.inventory.domain import commands
from mercato.inventory.service_layer import batches, handlers, restock
from mercato.inventory.service_layer.unit_of_work import InventoryDeps, InventoryUnitOfWork

COMMAND_HANDLERS: dict[type[Any], Callable[[Any, InventoryDeps], Awaitable[Any]]] = {
    commands.CreateWarehouse: handlers.create_warehouse,
    commands.AdjustStock: handlers.adjust_stock,
    commands.ReserveStock: handlers.reserve_stock,
    commands.CommitReservation: handlers.commit_reservation,
    commands.ReleaseReservation: handlers.release_reservation,
    commands.ExpireReservations: handlers.expire_reservations,
    commands.RestockReservation: restock.restock_reservation,
}

IN_UNIT_OF_WORK: dict[type[Any], Callable[[Any, InventoryUnitOfWork], Awaitable[Any]]] = {
    commands.ReserveStock: handlers.reserve_stock_in,
    commands.CommitReservation: handlers.commit_reservation_in,
    commands.ReleaseReservation: handlers.release_reservation_in,
    commands.RestockReservation: restock.restock_reservation_in,
}

BATCHES_IN_UNIT_OF_WORK: dict[
    type[Any], Callable[[Sequence[Any], InventoryUnitOfWork], Awaitable[list[Any]]]
] = {
    commands.ReserveStock: batches.reserve_stock_batch_in,
    commands.CommitReservation: batches.commit_reservations_in,
    commands.ReleaseReservation: batches.release_reservations_in,
}
