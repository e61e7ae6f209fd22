"""Repair tools for the operator (`mercato ops`): dead letters listed and replayed, stuck sagas listed
and driven on. Every change is audited: one JSON line per action in the audit file (who, when, what),
and the same line in the log.

A dead letter is a message a consumer gave up on after `max_deliveries` tries (`<schema>.dead_letters`,
see `platform.inbox`). Replaying publishes its body again on its subject under a new `Nats-Msg-Id`
(the original id may still be inside JetStream's dedup window) and deletes the row once the broker
acknowledged it: the stream delivers it to every consumer of that stream again, which is safe because
every consumer is idempotent (the inbox rows of those that applied it make it a no-op; the consumer that
parked it has no inbox row, its failed transactions rolled back, so it applies it now).

A stuck saga is an order whose saga deadline passed more than a grace ago: nothing drove it on (the
sweeper not running, or a step that keeps failing). Driving on runs the saga sweeper once, now: every due
saga gets its timeout (a re-send, or compensation once the retries are spent); the commands it writes
are published by the relay of a running orders process. A *parked* saga stopped re-sending an undo or
refund nobody confirmed (`SagaPolicy.park_after` re-sends) and waits for a person: it is listed with
its reason, and resuming it (the orders use case `ResumeSaga`) makes it due again.
"""

from __future__ import annotations

import getpass
import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from sqlalchemy import text

from mercato.app.invariants import MESSAGING_SCHEMAS, SETTLED
from mercato.platform.db import Database
from mercato.platform.messaging import Broker

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeadLetter:
    schema: str
    consumer: str
    event_id: uuid.UUID
    subject: str
    type: str
    error: str
    failed_at: datetime


@dataclass(frozen=True)
class StuckSaga:
    order_id: uuid.UUID
    status: str
    deadline: datetime | None
    late_seconds: float
    attempts: int
    age_seconds: float
    parked: str | None = None  # why the saga waits for a person; None: not parked


class Audit:
    """Append-only JSON lines: who did what to which messages or orders, and when."""

    def __init__(self, path: Path, actor: str | None = None) -> None:
        self.path = path
        self.actor = actor or getpass.getuser()

    def record(self, action: str, **details: object) -> dict[str, object]:
        entry: dict[str, object] = {"at": datetime.now(UTC).isoformat(), "actor": self.actor}
        entry.update(action=action, **details)
        line = json.dumps(entry, default=str, sort_keys=True)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as audit:
            audit.write(line + "\n")
        log.warning("audit: %s", line)
        return entry


async def dead_letters(db: Database, event_ids: Sequence[uuid.UUID] | None = None) -> list[DeadLetter]:
    """Every parked message (or those of `event_ids`), oldest first."""
    found: list[DeadLetter] = []
    async with db.connect() as conn:
        for schema in MESSAGING_SCHEMAS:
            rows = await conn.execute(
                text(
                    f"SELECT consumer, event_id, subject, body, error, failed_at FROM {schema}.dead_letters "
                    "WHERE CAST(:ids AS uuid[]) IS NULL OR event_id = ANY(CAST(:ids AS uuid[]))"
                ),
                {"ids": list(event_ids) if event_ids is not None else None},
            )
            for row in rows:
                try:
                    kind = str(orjson.loads(bytes(row.body)).get("type", "?"))
                except orjson.JSONDecodeError:
                    kind = "?"
                at = row.failed_at
                found.append(DeadLetter(schema, row.consumer, row.event_id, row.subject, kind, row.error, at))
    return sorted(found, key=lambda d: d.failed_at)


async def replay_dead_letters(
    db: Database, broker: Broker, audit: Audit, event_ids: Sequence[uuid.UUID] | None
) -> list[DeadLetter]:
    """Publish the parked messages again (all of them with `event_ids` None) and drop their rows; each
    replay audited. Returns what was replayed."""
    replayed: list[DeadLetter] = []
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    for letter in await dead_letters(db, event_ids):
        async with db.begin() as conn:
            row = (
                await conn.execute(
                    text(
                        f"SELECT body FROM {letter.schema}.dead_letters "
                        "WHERE consumer = :c AND event_id = :e FOR UPDATE SKIP LOCKED"
                    ),
                    {"c": letter.consumer, "e": letter.event_id},
                )
            ).first()
            if row is None:
                continue  # replayed by someone else meanwhile
            # Another id than the event's: the original may still be in JetStream's dedup window.
            msg_id = f"replay:{letter.event_id}:{stamp}"
            await broker.js.publish(letter.subject, bytes(row.body), headers={"Nats-Msg-Id": msg_id})
            await conn.execute(
                text(f"DELETE FROM {letter.schema}.dead_letters WHERE consumer = :c AND event_id = :e"),
                {"c": letter.consumer, "e": letter.event_id},
            )
        audit.record("dead-letter.replay", **asdict(letter), msg_id=msg_id)
        replayed.append(letter)
    return replayed


async def stuck_sagas(db: Database, grace: timedelta, now: datetime | None = None) -> list[StuckSaga]:
    """Orders whose saga deadline passed more than `grace` ago, unsettled with nothing awaited, or
    parked for a person."""
    async with db.connect() as conn:
        at = now or (await conn.execute(text("SELECT now()"))).scalar_one()
        rows = await conn.execute(
            text(
                "SELECT o.id, o.status, o.created_at, s.deadline, "
                "coalesce((s.state ->> 'attempts')::int, 0) AS attempts, s.state ->> 'parked' AS parked "
                "FROM orders.orders o LEFT JOIN orders.sagas s ON s.order_id = o.id "
                "WHERE (s.deadline IS NOT NULL AND s.deadline < CAST(:before AS timestamptz)) "
                "OR (o.status <> ALL(:settled) AND s.deadline IS NULL) "
                "OR s.state ->> 'parked' IS NOT NULL ORDER BY o.created_at"
            ),
            {"before": at - grace, "settled": list(SETTLED)},
        )
        return [
            StuckSaga(
                order_id=row.id,
                status=row.status,
                deadline=row.deadline,
                late_seconds=(at - row.deadline).total_seconds() if row.deadline else 0.0,
                attempts=row.attempts,
                age_seconds=(at - row.created_at).total_seconds(),
                parked=row.parked,
            )
            for row in rows
        ]
