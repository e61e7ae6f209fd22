"""What a context declares for its event consumers: the subscriptions (which events, which handlers) and
the inbox and dead-letter tables each context keeps in its schema. `platform.inbox` runs them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Subscription:
    """`name` consumes events of `source_context` whose type is in `handlers`."""

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
