"""Wires the inventory together: the service facade that entrypoints and in-process clients use.

This is the only module that knows the concrete store and the wall clock (read here, at the edge).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, overload

from mercato.inventory.adapters import tables
from mercato.inventory.adapters.repository import InventoryRepository
from mercato.inventory.domain import commands
from mercato.inventory.domain.model import Adjustment, Reservation, Warehouse
from mercato.inventory.service_layer.dispatch import (
    BATCHES_IN_UNIT_OF_WORK,
    COMMAND_HANDLERS,
    IN_UNIT_OF_WORK,
)
from mercato.inventory.service_layer.queries import InventoryQueries
from mercato.inventory.service_layer.unit_of_work import Clock, InventoryDeps, InventoryUnitOfWork
from mercato.platform.clock import utc_now
from mercato.platform.config import Settings
from mercato.platform.db import Database
from mercato.platform.outbox import Outbox
from mercato.platform.unit_of_work import UnitOfWork


def inventory_outbox(namespace: str) -> Outbox:
    return Outbox(tables.outbox, namespace)


class InventoryService:
    def __init__(
        self,
        db: Database,
        outbox: Outbox,
        on_commit: Callable[[], None] | None = None,
        *,
        clock: Clock = utc_now,
    ) -> None:
        self.db = db
        self.outbox = outbox
        self.on_commit = on_commit
        self.clock = clock
        self.queries = InventoryQueries(db)
        self.deps = InventoryDeps(uow=self.unit_of_work, clock=clock)

    def unit_of_work(self) -> InventoryUnitOfWork:
        return InventoryUnitOfWork(
            self.db, self.outbox, self.on_commit, store=InventoryRepository, clock=self.clock
        )

    @overload
    async def handle(self, cmd: commands.CreateWarehouse) -> Warehouse: ...
    @overload
    async def handle(self, cmd: commands.AdjustStock) -> Adjustment: ...
    @overload
    async def handle(self, cmd: commands.ReserveStock) -> Reservation: ...
    @overload
    async def handle(self, cmd: commands.CommitReservation) -> Reservation: ...
    @overload
    async def handle(self, cmd: commands.ReleaseReservation) -> Reservation: ...
    @overload
    async def handle(self, cmd: commands.ExpireReservations) -> int: ...

    async def handle(self, cmd: Any) -> Any:
        """Run one command (one transaction, in a unit of work of its own)."""
        handler = COMMAND_HANDLERS.get(type(cmd))
        if handler is None:
            raise TypeError(f"inventory has no handler for {type(cmd).__name__}")
        return await handler(cmd, self.deps)

    async def handle_in(self, cmd: Any, uow: UnitOfWork) -> Any:
        """Run one saga command inside `uow`, an open unit of work of this service (the saga
        consumer's): nothing committed nor rolled back here, the caller commits. Refusals leave
        nothing of the command in the transaction (`service_layer.dispatch`)."""
        handler = IN_UNIT_OF_WORK.get(type(cmd))
        if handler is None:
            raise TypeError(f"inventory runs no {type(cmd).__name__} in a caller's unit of work")
        if not isinstance(uow, InventoryUnitOfWork):
            raise TypeError(f"{type(cmd).__name__} needs an InventoryUnitOfWork, not {type(uow).__name__}")
        return await handler(cmd, uow)

    async def handle_batch_in(self, cmds: Sequence[Any], uow: UnitOfWork) -> list[Any]:
        """Run saga commands of one class inside `uow` (the saga consumer's) in a constant number of
        statements: one outcome per command, in order, a refusal as its error (`service_layer.batches`).
        Nothing committed nor rolled back here; a refused command leaves nothing of its own."""
        if not cmds:
            return []
        handler = BATCHES_IN_UNIT_OF_WORK.get(type(cmds[0]))
        if handler is None or any(type(cmd) is not type(cmds[0]) for cmd in cmds):
            raise TypeError(f"inventory runs no batch of {sorted({type(c).__name__ for c in cmds})}")
        if not isinstance(uow, InventoryUnitOfWork):
            raise TypeError(f"a batch needs an InventoryUnitOfWork, not {type(uow).__name__}")
        return await handler(cmds, uow)

    async def expire_due(self, limit: int = 100) -> int:
        """One sweep with the service's clock: what a periodic sweeper calls."""
        return await self.handle(commands.ExpireReservations(now=self.clock(), limit=limit))


def build_inventory(
    db: Database, settings: Settings, on_commit: Callable[[], None] | None = None, *, clock: Clock = utc_now
) -> InventoryService:
    return InventoryService(db, inventory_outbox(settings.namespace), on_commit, clock=clock)
