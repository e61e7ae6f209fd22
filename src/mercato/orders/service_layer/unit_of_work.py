"""The orders' unit of work: one transaction, its store, and the events written with it.

The store (`adapters.repository.OrdersRepository`) is handed in as a factory, so this layer
depends on the `OrdersStore` port only (the service layer sits below the adapters).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, Self

from sqlalchemy.ext.asyncio import AsyncConnection

from mercato.orders.domain.model import Order
from mercato.orders.domain.saga_types import LockedSaga, SagaMove, SagaPolicy, SagaState
from mercato.platform.business_metrics import saga_step_duration
from mercato.platform.db import Database
from mercato.platform.outbox import Outbox
from mercato.platform.outbox_embed import EmbeddedEvents
from mercato.platform.unit_of_work import UnitOfWork

Clock = Callable[[], datetime]


class OrdersStore(Protocol):
    # Saga steps that ended in this transaction, (step, outcome, seconds): observed after the commit.
    finished_steps: list[tuple[str, str, float]]

    async def add(self, order: Order, saga: SagaState, events: EmbeddedEvents) -> bool:
        """Insert the order, its saga, first history entry and `events`; False if the id or the
        customer's idempotency key is taken (nothing written)."""
        ...

    async def by_key(self, customer_id: uuid.UUID, idempotency_key: str) -> Order | None: ...

    async def lock_saga(self, order_id: uuid.UUID) -> LockedSaga | None:
        """The saga, locked until the end of the transaction, with whose order it is."""
        ...

    async def lock_sagas(self, order_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, LockedSaga]:
        """The sagas of `order_ids` that exist, each locked until the end of the transaction, in
        order id order (`adapters/locks.py`), in one statement; keyed by order id."""
        ...

    async def claim_due(self, now: datetime, limit: int) -> list[LockedSaga]:
        """Lock up to `limit` sagas whose deadline is at or before `now`, skipping locked ones."""
        ...

    async def save_saga(
        self,
        before: SagaState,
        after: SagaState,
        now: datetime,
        *,
        events: EmbeddedEvents | None = None,
        actor: str | None = None,
        note: str | None = None,
    ) -> None:
        """Store `after` and `events`, in one statement; when its status differs from `before`, also
        the order's status and a history entry (with `actor` and `note`)."""
        ...

    async def save_sagas(
        self, moves: Sequence[SagaMove], now: datetime, *, events: EmbeddedEvents | None = None
    ) -> None:
        """`save_saga` for many steps of sagas locked in this transaction (in the order they were
        taken; one saga may move several times), and `events`, in one statement."""
        ...


StoreFactory = Callable[[AsyncConnection], OrdersStore]


class OrdersUnitOfWork(UnitOfWork):
    orders: OrdersStore

    def __init__(
        self,
        db: Database,
        outbox: Outbox,
        on_commit: Callable[[], None] | None = None,
        *,
        store: StoreFactory,
    ) -> None:
        super().__init__(db, outbox, on_commit)
        self._store_factory = store

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.orders = self._store_factory(self.conn)
        return self

    async def commit(self) -> None:
        await super().commit()
        # Only steps whose end committed are timed (a rolled-back batch retried alone counts once).
        finished, self.orders.finished_steps = self.orders.finished_steps, []
        for step, outcome, seconds in finished:
            saga_step_duration.labels(step, outcome).observe(seconds)

    async def rollback(self) -> None:
        self.orders.finished_steps = []
        await super().rollback()


@dataclass(frozen=True)
class OrdersDeps:
    """What every orders use case is handed: a fresh unit of work per call, the clock and the saga's
    policy. Handlers have one shape, `handler(cmd, deps)`, listed in `handlers.COMMAND_HANDLERS`."""

    uow: Callable[[], OrdersUnitOfWork]
    clock: Clock
    policy: SagaPolicy
