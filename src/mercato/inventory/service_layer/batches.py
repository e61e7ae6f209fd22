"""The saga's stock commands for many messages at once: a consumer's run of same-typed messages
(`platform.inbox`, set-based batch handlers) applied with a constant number of statements.

Each form takes the commands in fetch order and the caller's unit of work (`handler(cmds, uow)`,
listed in `dispatch.BATCHES_IN_UNIT_OF_WORK`), never commits nor rolls back, and returns one outcome
per command, in order: what it did, or the `ClientError` that refused it. A refused command leaves
nothing of its own in the transaction and does not keep the others from going through, so the caller
commits what they did and answers the refusals (the saga's `stock_reservation_rejected`).

Statements per batch, however many commands it holds:
  * reserve: one INSERT of every reservation row (a reference that exists is left as it is: the
    command is a repeat), one lock of every SKU involved, one DELETE of the refused rows (only if
    some were refused), one write of every allocation and stock row;
  * commit / release: one lock of every reservation, one lock of every SKU, one write of every status
    and stock row.
Locks follow `adapters/locks.py`: reservation rows first, then every stock row of the SKUs in one
statement. Units are allocated in fetch order against the locked book, all or nothing per
reservation, so a hot SKU shared by the whole batch is locked and written once and never goes below
zero: the book refuses any reservation it cannot hold whole.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence

from mercato.inventory.domain import commands
from mercato.inventory.domain.events import InventoryEvent
from mercato.inventory.domain.model import Reservation, check_release_reason
from mercato.inventory.domain.rules import InsufficientStock, ReservationNotFound
from mercato.inventory.domain.stock import Allocation, StockBook
from mercato.inventory.service_layer.unit_of_work import InventoryUnitOfWork
from mercato.platform.errors import ClientError

# Per command: the reservation it left (None: a repeat of a reference an earlier message of the batch
# or an earlier transaction reserved, nothing written), or the error that refused it.
ReserveOutcome = Reservation | ClientError | None
SettleOutcome = Reservation | ClientError

# A reservation's move to its next status and the event saying so; None when it is there already.
Transition = Callable[[Reservation], tuple[Reservation, InventoryEvent] | None]


async def reserve_stock_batch_in(
    cmds: Sequence[commands.ReserveStock], uow: InventoryUnitOfWork
) -> list[ReserveOutcome]:
    """`reserve_stock_in` for every command of `cmds` at once (see the module)."""
    outcomes: list[ReserveOutcome] = [None] * len(cmds)
    now = uow.clock()
    opened: dict[int, tuple[Reservation, dict[str, int]]] = {}
    references: set[str] = set()
    for index, cmd in enumerate(cmds):
        try:
            reservation, lines = Reservation.open(cmd, now)
        except ClientError as exc:
            outcomes[index] = exc
            continue
        if cmd.reference not in references:  # else a repeat within the batch: the first one reserves
            references.add(cmd.reference)
            opened[index] = (reservation, lines)
    if not opened:
        return outcomes
    inserted = await uow.store.open_reservations([r for r, _ in opened.values()])
    new = {index: entry for index, entry in opened.items() if entry[0].id in inserted}
    if not new:
        return outcomes
    book = await uow.store.lock_stock(sorted({sku for _, lines in new.values() for sku in lines}))
    held: list[Reservation] = []
    refused: list[uuid.UUID] = []
    for index, (reservation, lines) in new.items():  # in fetch order
        try:
            allocations = book.reserve(lines)  # all or nothing: a short SKU leaves the book untouched
        except InsufficientStock as exc:
            outcomes[index] = exc
            refused.append(reservation.id)
            continue
        outcomes[index] = reservation.with_allocations(allocations)
        held.append(reservation.with_allocations(allocations))
    # The refused rows go in one statement rather than a savepoint each: the transaction is the caller's.
    await uow.store.drop_reservations(refused)
    if held:
        await uow.store.hold(held, book)
        uow.add_events([reservation.created() for reservation in held])
    return outcomes


async def commit_reservations_in(
    cmds: Sequence[commands.CommitReservation], uow: InventoryUnitOfWork
) -> list[SettleOutcome]:
    """`commit_reservation_in` for every command of `cmds` at once (see the module)."""
    return await _settle(uow, [(cmd.reservation_id, Reservation.commit) for cmd in cmds], StockBook.commit)


async def release_reservations_in(
    cmds: Sequence[commands.ReleaseReservation], uow: InventoryUnitOfWork
) -> list[SettleOutcome]:
    """`release_reservation_in` for every command of `cmds` at once (see the module)."""

    def release(reason: str) -> Transition:
        return lambda reservation: reservation.release(reason)

    steps: list[tuple[uuid.UUID, Transition | ClientError]] = []
    for cmd in cmds:
        try:
            check_release_reason(cmd.reason)
        except ClientError as exc:
            steps.append((cmd.reservation_id, exc))
            continue
        steps.append((cmd.reservation_id, release(cmd.reason)))
    return await _settle(uow, steps, StockBook.release)


async def _settle(
    uow: InventoryUnitOfWork,
    steps: Sequence[tuple[uuid.UUID, Transition | ClientError]],
    move_stock: Callable[[StockBook, Sequence[Allocation]], None],
) -> list[SettleOutcome]:
    """Lock every reservation of `steps` (one statement), move each in order (a second step on one
    reservation sees the first's result), then lock the SKUs of those that moved and write their
    statuses with the stock rows (two statements). A step refused raises nothing: its error is its
    outcome, and it wrote nothing."""
    wanted = [rid for rid, step in steps if not isinstance(step, ClientError)]
    current = {r.id: r for r in await uow.store.lock_reservations(wanted)}
    outcomes: list[SettleOutcome] = []
    moved: list[tuple[Reservation, InventoryEvent]] = []  # (as it was locked, its event)
    for rid, step in steps:
        reservation = current.get(rid)
        if isinstance(step, ClientError) or reservation is None:
            outcomes.append(step if isinstance(step, ClientError) else ReservationNotFound())
            continue
        try:
            outcome = step(reservation)
        except ClientError as exc:  # not in a status it can move from: nothing written
            outcomes.append(exc)
            continue
        if outcome is None:
            outcomes.append(reservation)
            continue
        current[rid], event = outcome
        moved.append((reservation, event))
        outcomes.append(current[rid])
    if moved:
        book = await uow.store.lock_stock(sorted({sku for r, _ in moved for sku in r.skus}))
        for reservation, _ in moved:
            move_stock(book, reservation.allocations)
        await uow.store.save_status([current[r.id] for r, _ in moved], book)
        uow.add_events([event for _, event in moved])
    return outcomes
