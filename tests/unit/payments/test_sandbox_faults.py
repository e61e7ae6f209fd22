"""The sandbox's injected faults (fault-injection runs): transient errors, lost answers, replayable draws."""

from __future__ import annotations

import asyncio

import pytest

from mercato.payments.adapters.sandbox import SandboxFaults, SandboxProvider, charge_id
from mercato.payments.domain.provider import ProviderError
from mercato.platform.types import Money


def usd(amount: int) -> Money:
    return Money(amount, "USD")


async def test_an_injected_error_makes_nothing_and_a_retry_is_drawn_again() -> None:
    always = SandboxProvider(faults=SandboxFaults(error_rate=1.0))
    with pytest.raises(ProviderError):
        await always.authorize("tok_success", usd(500), "ref-1")
    assert always.charge(charge_id("ref-1")) is None

    always.faults = SandboxFaults()  # the provider recovers: the same request goes through
    result = await always.authorize("tok_success", usd(500), "ref-1")
    assert (result.approved, result.provider_reference) == (True, charge_id("ref-1"))


async def test_a_lost_answer_made_the_change_and_the_replay_answers_it_at_once() -> None:
    losing = SandboxProvider(timeout_seconds=30.0, faults=SandboxFaults(timeout_rate=1.0))
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await losing.authorize("tok_success", usd(500), "ref-2")
    charge = losing.charge(charge_id("ref-2"))
    assert charge is not None and charge.status == "AUTHORIZED"

    losing.faults = SandboxFaults()
    async with asyncio.timeout(1.0):
        replay = await losing.authorize("tok_success", usd(500), "ref-2")
    assert (replay.approved, replay.provider_reference) == (True, charge_id("ref-2"))


async def test_a_seed_replays_the_same_faults() -> None:
    async def outcomes(seed: int) -> list[str]:
        sandbox = SandboxProvider(faults=SandboxFaults(error_rate=0.5, seed=seed))
        seen = []
        for n in range(20):
            try:
                await sandbox.authorize("tok_success", usd(100), f"ref-{n}")
                seen.append("ok")
            except ProviderError:
                seen.append("error")
        return seen

    first = await outcomes(11)
    assert first == await outcomes(11)
    assert set(first) == {"ok", "error"}


def test_rates_that_add_up_beyond_one_are_refused() -> None:
    with pytest.raises(ValueError, match="at most 1"):
        SandboxFaults(error_rate=0.7, timeout_rate=0.5)
