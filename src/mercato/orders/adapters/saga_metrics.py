"""Stuck and parked sagas, read from `orders.sagas` when /metrics is scraped and when the watchdog
looks.

A saga is stuck when its step's deadline passed more than a grace ago: the saga sweeper feeds every
due saga its timeout within seconds, so one still due after the grace means nothing is driving it
(the sweeper wedged or failing). One statement over the `sagas_deadline_idx` partial index. A parked
saga (no deadline: it waits for a person, `SagaPolicy.park_after`) is counted apart: the sweeper
would not drive it on, and the watchdog does not try.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from mercato.platform.business_metrics import saga_stuck_oldest, sagas_parked, sagas_stuck
from mercato.platform.db import Database

# The age of the awaited step, as a bounded label (upper bounds in seconds, then the rest).
AGES = (("under_5m", 300.0), ("5m_1h", 3_600.0), ("1h_1d", 86_400.0), ("over_1d", float("inf")))
UNKNOWN_STEP = "unknown"  # a saga last saved before the step was recorded

_STUCK = text(
    "SELECT coalesce(step, :unknown) AS step, "
    "extract(epoch FROM now() - coalesce(step_started_at, updated_at)) AS age "
    "FROM orders.sagas WHERE deadline IS NOT NULL AND deadline < now() - CAST(:grace AS interval)"
)
_PARKED = text(
    "SELECT coalesce(step, :unknown) AS step, count(*) AS n FROM orders.sagas "
    "WHERE (state ->> 'parked') IS NOT NULL AND deadline IS NULL GROUP BY 1"
)
_COUNT = text(
    "SELECT count(*) FROM orders.sagas "
    "WHERE deadline IS NOT NULL AND deadline < now() - CAST(:grace AS interval)"
)


def age_label(seconds: float) -> str:
    return next(label for label, bound in AGES if seconds < bound)


async def count_stuck(db: Database, grace_seconds: float) -> int:
    async with db.connect() as conn:
        found = await conn.execute(_COUNT, {"grace": timedelta(seconds=grace_seconds)})
        return int(found.scalar_one())


class StuckSagaSampler:
    """Sets `mercato_sagas_stuck{step, age}` and `mercato_saga_stuck_oldest_seconds{step}`; a series
    seen once is set to 0 when it empties, never left at its last count."""

    def __init__(self, db: Database, grace_seconds: float) -> None:
        self.db = db
        self.grace = timedelta(seconds=grace_seconds)
        self._seen: set[tuple[str, str]] = set()
        self._parked_seen: set[str] = set()

    async def __call__(self) -> None:
        async with self.db.connect() as conn:
            await conn.execute(text("SET LOCAL statement_timeout = 1000"))
            rows = (await conn.execute(_STUCK, {"grace": self.grace, "unknown": UNKNOWN_STEP})).all()
            parked = {
                str(row.step): int(row.n) for row in await conn.execute(_PARKED, {"unknown": UNKNOWN_STEP})
            }
        counts: dict[tuple[str, str], int] = {}
        oldest: dict[str, float] = {}
        for row in rows:
            age = float(row.age)
            key = (str(row.step), age_label(age))
            counts[key] = counts.get(key, 0) + 1
            oldest[key[0]] = max(oldest.get(key[0], 0.0), age)
        self._seen |= counts.keys()
        for key in self._seen:
            sagas_stuck.labels(*key).set(counts.get(key, 0))
        for step in {step for step, _ in self._seen}:
            saga_stuck_oldest.labels(step).set(oldest.get(step, 0.0))
        self._parked_seen |= parked.keys()
        for step in self._parked_seen:
            sagas_parked.labels(step).set(parked.get(step, 0))
