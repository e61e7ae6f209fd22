"""What a context declares for its event consumers: the subscriptions (which events, which handlers) and
the inbox and dead-letter tables each context keeps in its schema. `platform.inbox` runs them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Column, DateTime, LargeBinary, MetaData, PrimaryKeyConstraint, Table, Text, func
from sqlalchemy.dialects.postgresql import UUID

from mercato.platform.events import Envelope
from mercato.platform.unit_of_work import UnitOfWork


def inbox_table(metadata: MetaData) -> Table:
    return Table(
        "inbox",
        metadata,
        Column("consumer", Text, nullable=False),
        Column("event_id", UUID(as_uuid=True), nullable=False),
        Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        PrimaryKeyConstraint("consumer", "event_id"),
    )


def dead_letter_table(metadata: MetaData) -> Table:
    return Table(
        "dead_letters",
        metadata,
        Column("consumer", Text, nullable=False),
        Column("event_id", UUID(as_uuid=True), nullable=False),
        Column("subject", Text, nullable=False),
        Column("body", LargeBinary, nullable=False),
        Column("error", Text, nullable=False),
        Column("failed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        PrimaryKeyConstraint("consumer", "event_id"),
    )


Handler = Callable[[Envelope, UnitOfWork], Awaitable[None]]
# Applies several messages of one event type at once (a run of a fetched batch, in fetch order), with
# a constant number of statements however many there are. Batch-safe as a `Handler` is, and more: a
# refusal of one message leaves nothing of that message and fails none of the others.
BatchHandler = Callable[[Sequence[Envelope], UnitOfWork], Awaitable[None]]


@dataclass(frozen=True)
class Subscription:
    """`name` consumes events of `source_context` whose type is in `handlers` or `batch_handlers`."""

    name: str
    source_context: str
    handlers: dict[str, Handler]
    # Seconds between the starts of two fetches (0: fetch again at once): a consumer that can lag a
    # little gathers what arrived meanwhile into one batch, one transaction, instead of many.
    fetch_interval: float = 0.0
    # False: every handler is idempotent by itself (a version check: an older or repeated event changes
    # nothing), so a message claims no inbox row: a redelivery runs its handler again, to no effect.
    # One INSERT less per batch; only for handlers whose whole effect is such a guarded write.
    inbox: bool = True
    # Which handled events are worth a transaction (None: all). One it does not want (its handler would
    # change nothing) is acknowledged as an event without a handler: no inbox row, no SQL.
    wants: Callable[[Envelope], bool] | None = None
    # Messages per batch and batches in flight at once, where not the process's settings
    # (`consumer_batch_size`, `consumer_concurrency`). A consumer whose handlers wait on something slow
    # outside the database (payments on the provider, tens to hundreds of ms a call) overlaps those
    # waits with small batches side by side; one large batch would call it message after message.
    batch_size: int | None = None
    concurrency: int | None = None
    # Event type -> the handler of many messages of that type at once (set-based: one statement for
    # all of them). A consumer runs every run of consecutive new messages of such a type through it,
    # and a lone message (or the one-at-a-time retry of a failed batch) as a run of one. A type listed
    # here needs no entry in `handlers`; if it has one, this one is used.
    batch_handlers: dict[str, BatchHandler] = field(default_factory=dict)

    def handles(self, event_type: str) -> bool:
        return event_type in self.batch_handlers or event_type in self.handlers

    def event_types(self) -> list[str]:
        """Every event type this subscription handles, one at a time or in runs (its filter subjects)."""
        return sorted({*self.handlers, *self.batch_handlers})

    def runs(self, envelopes: Sequence[Envelope]) -> list[list[int]]:
        """The positions of `envelopes` (messages to handle, in fetch order) cut into runs: consecutive
        messages of one type with a batch handler together, every other message alone."""
        runs: list[list[int]] = []
        for index, envelope in enumerate(envelopes):
            batched = envelope.type in self.batch_handlers
            if batched and runs and envelopes[runs[-1][-1]].type == envelope.type:
                runs[-1].append(index)
            else:
                runs.append([index])
        return runs

    async def apply(self, envelopes: Sequence[Envelope], uow: UnitOfWork) -> None:
        """Handle `envelopes` (claimed, in fetch order) on `uow` run by run, as a consumer's batch does:
        for a driver that claims messages itself (tests, the simulation)."""
        for run in self.runs(envelopes):
            await self.apply_run([envelopes[i] for i in run], uow)

    async def apply_run(self, run: Sequence[Envelope], uow: UnitOfWork) -> None:
        """One run (`runs`): its batch handler with all of it, or its one message's handler."""
        batch = self.batch_handlers.get(run[0].type)
        if batch is not None:
            await batch(run, uow)
            return
        [envelope] = run
        await self.handlers[envelope.type](envelope, uow)

    def one_at_a_time(self) -> dict[str, Handler]:
        """A per-message handler for every type this subscription handles (a batch handler called
        with one message): for a driver that applies messages one by one, as the simulation does."""
        handlers = dict(self.handlers)
        for event_type, batch in self.batch_handlers.items():
            handlers[event_type] = _one_of(batch)
        return handlers


def _one_of(batch: BatchHandler) -> Handler:
    async def handle(envelope: Envelope, uow: UnitOfWork) -> None:
        await batch([envelope], uow)

    return handle
