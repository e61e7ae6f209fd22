"""Events a store writes into the outbox itself, inside the statement that writes its change.

`UnitOfWork.commit` inserts the events of a transaction in an INSERT of their own. A store whose change
is one statement (a data-modifying CTE) can carry the rows in that statement instead, one round trip
less: it asks the unit of work for `embed_events(...)`, adds `outbox_insert_sql(schema)` as a branch of
its CTE with `EmbeddedEvents.params()`, and reports `embedded(...)` once the statement ran. The rows
then commit, and are handed to the relay, with the rest of the transaction's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mercato.platform.events import DomainEvent
from mercato.platform.outbox import OutboxRow, outbox_insert_sql

__all__ = ["EmbeddedEvents", "outbox_insert_sql"]


@dataclass(frozen=True)
class EmbeddedEvents:
    """Events whose outbox rows a store inserts itself, in a statement of its own (`outbox_insert_sql`),
    rather than the unit of work in an INSERT of their own at commit: one statement less."""

    events: tuple[DomainEvent, ...]
    rows: tuple[OutboxRow, ...]
    publish_after: float

    @staticmethod
    def joined(parts: Sequence[EmbeddedEvents]) -> EmbeddedEvents | None:
        """`parts` as one set of rows for one statement, in their order (each part keeps the trace it
        was embedded under); None when there are none."""
        if not parts:
            return None
        events = tuple(e for part in parts for e in part.events)
        rows = tuple(r for part in parts for r in part.rows)
        return EmbeddedEvents(events, rows, parts[0].publish_after)

    def params(self) -> dict[str, object]:
        return {
            "outbox_ids": [r.id for r in self.rows],
            "outbox_subjects": [r.subject for r in self.rows],
            "outbox_bodies": [r.body for r in self.rows],
            "outbox_after": self.publish_after,
        }
