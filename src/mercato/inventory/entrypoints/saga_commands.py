"""The inventory's side of the checkout saga: runs the orders' stock commands, replies with events.

Consumes `orders.reserve_stock_requested`, `orders.commit_stock_requested`,
`orders.release_stock_requested` and `orders.restock_stock_requested` (a cancelled order). Success
replies are the inventory's own events (`reservation_created` / `_committed` / `_released` /
`_restocked`, all carrying `reference` = the order id). A refused reservation writes nothing of its
own, so the refusal is replied here: `inventory.stock_reservation_rejected`.

Every command runs in the consumer's unit of work (`InventoryService.handle_in`), i.e. in the
transaction that claims the message's inbox row: the command, its events and the inbox row commit
together, on one pooled connection, with one COMMIT. That unit of work may hold a whole batch of
messages (group commit), so a handler never commits nor rolls it back: a refusal leaves nothing of
its command in the transaction (the use cases refuse before writing, or undo their one row), and
anything else raised (the database unreachable, a broken invariant) propagates, for the consumer to
retry. Each command is idempotent anyway (ReserveStock by `reference`, the others by reservation
status), so a redelivery past the inbox would change nothing either.

Reserve, commit and release are batch handlers (`Subscription.batch_handlers`): a run of such messages
in a fetched batch goes to the inventory at once (`InventoryService.handle_batch_in`), in a constant
number of statements; each refused one is answered as it was one by one. Restock stays per message
(a cancellation: rare).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from mercato.inventory.domain.commands import (
    DEFAULT_RESERVATION_TTL_SECONDS,
    CommitReservation,
    ReleaseReservation,
    ReservationLine,
    ReserveStock,
    RestockReservation,
)
from mercato.inventory.domain.events import InventoryEvent
from mercato.inventory.domain.rules import InsufficientStock, ReservationNotActive, ReservationNotFound
from mercato.platform.errors import ClientError
from mercato.platform.events import Envelope
from mercato.platform.inbox import Subscription
from mercato.platform.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

RESERVE_STOCK_REQUESTED = "orders.reserve_stock_requested"
COMMIT_STOCK_REQUESTED = "orders.commit_stock_requested"
RELEASE_STOCK_REQUESTED = "orders.release_stock_requested"
RESTOCK_STOCK_REQUESTED = "orders.restock_stock_requested"


@dataclass(frozen=True, kw_only=True)
class StockReservationRejected(InventoryEvent):
    """A reservation asked by the saga was refused (aggregate_id: the reference). `reason` is the
    refusal's code (INSUFFICIENT_STOCK, or an input problem); `skus` those that fell short."""

    name: ClassVar[str] = "stock_reservation_rejected"
    reference: str
    reason: str
    skus: list[str]


class InventoryCommands(Protocol):
    """What the participant needs of the inventory: `InventoryService.handle_in` (bootstrap sits
    above the entrypoints, so it is handed in rather than imported)."""

    async def handle_in(self, cmd: Any, uow: UnitOfWork) -> Any: ...
    async def handle_batch_in(self, cmds: Sequence[Any], uow: UnitOfWork) -> list[Any]: ...


def saga_subscription(inventory: InventoryCommands) -> Subscription:
    async def reserve(envelopes: Sequence[Envelope], uow: UnitOfWork) -> None:
        cmds = [_reserve_command(envelope) for envelope in envelopes]
        outcomes = await inventory.handle_batch_in(cmds, uow)
        uow.add_events(
            [
                _rejected(cmd.reference, outcome)
                for cmd, outcome in zip(cmds, outcomes, strict=True)
                if isinstance(outcome, ClientError)
            ]
        )
        # Anything raised (the database unreachable...) propagates: the consumer retries it.

    async def commit(envelopes: Sequence[Envelope], uow: UnitOfWork) -> None:
        cmds = [CommitReservation(reservation_id=_reservation_id(e)) for e in envelopes]
        for cmd, outcome in zip(cmds, await inventory.handle_batch_in(cmds, uow), strict=True):
            if isinstance(outcome, ReservationNotActive | ReservationNotFound):
                # Released or expired before the commit came: that `reservation_released` event is
                # the saga's answer (it compensates); there is nothing more to say here.
                log.info("commit of %s refused: %s", cmd.reservation_id, outcome.message)

    async def release(envelopes: Sequence[Envelope], uow: UnitOfWork) -> None:
        cmds = [
            ReleaseReservation(
                reservation_id=_reservation_id(e),
                reason=str(e.payload.get("reason") or "order rejected")[:200],
            )
            for e in envelopes
        ]
        for cmd, outcome in zip(cmds, await inventory.handle_batch_in(cmds, uow), strict=True):
            if isinstance(outcome, ClientError):
                # Committed before the release came: `reservation_committed` is the saga's answer.
                log.warning("release of %s refused: %s", cmd.reservation_id, outcome.message)

    async def restock(envelope: Envelope, uow: UnitOfWork) -> None:
        reason = str(envelope.payload.get("reason") or "order cancelled")[:200]
        try:
            await inventory.handle_in(
                RestockReservation(reservation_id=_reservation_id(envelope), reason=reason), uow
            )
        except (ReservationNotActive, ReservationNotFound) as exc:
            # The saga asks only once it knows the commit landed; a person must look.
            log.error("restock of %s refused: %s", envelope.payload.get("reservation_id"), exc.message)

    return Subscription(
        name="saga_commands",
        source_context="orders",
        handlers={RESTOCK_STOCK_REQUESTED: restock},
        batch_handlers={
            RESERVE_STOCK_REQUESTED: reserve,
            COMMIT_STOCK_REQUESTED: commit,
            RELEASE_STOCK_REQUESTED: release,
        },
    )


def _reserve_command(envelope: Envelope) -> ReserveStock:
    p = envelope.payload
    lines = [ReservationLine(str(line["sku"]), int(line["quantity"])) for line in p["lines"]]
    ttl = int(p.get("ttl_seconds") or DEFAULT_RESERVATION_TTL_SECONDS)
    return ReserveStock(reference=str(p["reference"]), lines=lines, ttl_seconds=ttl)


def _reservation_id(envelope: Envelope) -> uuid.UUID:
    return uuid.UUID(str(envelope.payload["reservation_id"]))


def _rejected(reference: str, refusal: ClientError) -> StockReservationRejected:
    """The reply to a refused reservation: short of stock (naming the SKUs), or input the inventory
    refuses (a malformed SKU...), which no retry will change either."""
    skus = refusal.skus if isinstance(refusal, InsufficientStock) else []
    return StockReservationRejected(
        aggregate_id=reference, reference=reference, reason=refusal.code_name, skus=list(skus)
    )
