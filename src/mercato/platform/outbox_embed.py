"""Events a store writes into the outbox itself, inside the statement that writes its change.

`UnitOfWork.commit` inserts the events of a transaction in an INSERT of their own. A store whose change
is one statement (a data-modifying CTE) can carry the rows in that statement instead, one round trip
less: it asks the unit of work for `embed_events(...)`, adds `outbox_insert_sql(schema)` as a branch of
its CTE with `EmbeddedEvents.params()`, and reports `embedded(...)` once the statement ran. The rows
then commit, and are handed to the relay, with the rest of the transaction's.
"""

from __future__ import annotations

from dataclasses import dataclass

from mercato.platform.events import DomainEvent
from mercato.platform.outbox import OutboxRow


def outbox_insert_sql(schema: str) -> str:
    """An INSERT of `EmbeddedEvents.params()` into `schema`'s outbox, for a branch of a data-modifying
    CTE: a store that writes its change in one statement writes the change's events in it too. The
    rows are inserted in their order (their `seq`, the order the poll publishes them in)."""
    return (
        f"INSERT INTO {schema}.outbox (id, subject, body, next_attempt_at) "
        "SELECT e.id, e.subject, e.body, now() + make_interval(secs => :outbox_after) "
        "FROM unnest(CAST(:outbox_ids AS uuid[]), CAST(:outbox_subjects AS text[]), "
        "CAST(:outbox_bodies AS bytea[])) WITH ORDINALITY AS e(id, subject, body, n)"
    )


@dataclass(frozen=True)
class EmbeddedEvents:
    """Events whose outbox rows a store inserts itself, in a statement of its own (`outbox_insert_sql`),
    rather than the unit of work in an INSERT of their own at commit: one statement less."""

    events: tuple[DomainEvent, ...]
    rows: tuple[OutboxRow, ...]
    publish_after: float

    def params(self) -> dict[str, object]:
        return {
            "outbox_ids": [r.id for r in self.rows],
            "outbox_subjects": [r.subject for r in self.rows],
            "outbox_bodies": [r.body for r in self.rows],
            "outbox_after": self.publish_after,
        }
