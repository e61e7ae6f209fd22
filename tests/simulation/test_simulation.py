"""The deterministic simulation of the checkout saga (docs/reliability.md): thousands of seeds, each
a shop's checkouts through the real saga with messages reordered, dropped, duplicated and delayed,
provider faults and crashes at any crash point, then `mercato verify`'s invariants. No engine: the
contexts run on memory stores (`tests/simulation/memory.py` says why).

`SIM_SEEDS` (default 2000: ~45 s of CPU, 1 to 3.5 min of wall time on the shared development
machine) sets how many seeds `make test` runs; `make simulate SEEDS=0-9999` runs more, and
`make simulate SEED=N TRACE=1` replays one.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence

import pytest

from mercato.inventory.domain.model import Reservation
from tests.simulation.memory import MemoryTransaction
from tests.simulation.run import failure_text, run_seed, run_seeds
from tests.simulation.stores import MemoryInventoryStore

SEEDS = int(os.environ.get("SIM_SEEDS", "2000"))
NO_INBOX = frozenset({"inventory.saga_commands"})


async def test_every_seed_keeps_the_invariants() -> None:
    # Given the seeds 0..SEEDS-1, when each runs to quiescence
    failures: list[str] = []
    failed, totals = await run_seeds(range(SEEDS), failures)

    # then no invariant is broken (a failure names its seed and the command that replays it)
    assert failed == [], "\n".join(failures)
    if SEEDS < 1000:
        return  # a short run (SIM_SEEDS) need not reach every crash point
    # and the seeds did what they are for: orders settled every way, under every kind of fault
    assert {"CONFIRMED", "REJECTED", "CANCELLED"} <= set(totals.statuses)
    assert min(totals.dropped, totals.duplicated, totals.provider_faults) > 0
    points = set(totals.crashes)
    expected = ("inventory.hold", "payments.payments.record_outcome_if_current", "orders.orders.save_saga")
    assert set(expected) <= points
    assert {"consumer.ack", "provider.after_call", "orders.commit", "payments.commit"} <= points


async def test_a_seed_replays_exactly() -> None:
    # Given a seed with faults, when it runs twice
    first, first_report = await run_seed(6)
    second, second_report = await run_seed(6)

    # then every delivery, fault and crash comes in the same order, with the same outcome
    assert first.trace == second.trace
    assert sum(first.stats.crashes.values()) > 0
    assert first_report.violations == second_report.violations


def _forgetful_open_reservations(
    self: MemoryInventoryStore, reservations: Sequence[Reservation]
) -> set[uuid.UUID]:
    """A planted bug: the reservations' references are not kept unique, so a redelivered ReserveStock
    reserves the units again (a participant that is not idempotent on duplicate delivery)."""
    self._statement("open_reservation")
    tx: MemoryTransaction = self.tx
    for reservation in reservations:
        tx.put("references", f"{reservation.reference}:{uuid.uuid4()}", reservation.id)
        tx.put("reservations", reservation.id, reservation)
    return {reservation.id for reservation in reservations}


async def test_the_simulation_finds_a_participant_that_is_not_idempotent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given an inventory whose saga consumer has no inbox and whose reservations forget their reference
    async def forgetful(self: MemoryInventoryStore, reservations: Sequence[Reservation]) -> set[uuid.UUID]:
        return _forgetful_open_reservations(self, reservations)

    monkeypatch.setattr(MemoryInventoryStore, "open_reservations", forgetful)

    # when seeds run until one fails
    failing = None
    for seed in range(200):
        sim, report = await run_seed(seed, without_inbox=NO_INBOX)
        if not report.ok:
            failing, trace, violations = seed, sim.trace, report.violations
            break

    # then a seed fails, on the stock its duplicate reservation holds, with the command replaying it
    assert failing is not None, "the planted bug went unnoticed for 200 seeds"
    assert any(v.check == "stock" for v in violations)
    assert f"seed={failing} FAILED" in failure_text(failing, report)
    assert f"make simulate SEED={failing}" in failure_text(failing, report)
    # and the replay of that seed goes through the same steps to the same violations
    again, again_report = await run_seed(failing, without_inbox=NO_INBOX)
    assert again.trace == trace
    assert again_report.violations == violations


async def test_without_its_inbox_the_inventory_is_still_idempotent() -> None:
    # Given the real inventory with its saga consumer's inbox switched off, when seeds run
    for seed in range(100):
        _, report = await run_seed(seed, without_inbox=NO_INBOX)

        # then nothing breaks: a redelivered command finds its reservation by reference
        assert report.ok, failure_text(seed, report)
