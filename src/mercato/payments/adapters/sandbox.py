"""The built-in sandbox provider: behaves like a card processor, driven by test tokens, without SQL.

Tokens (for `authorize`):
  tok_success, or any token starting with `tok_ok`  approved
  tok_decline                                       declined (DECLINED)
  tok_insufficient_funds                            declined (INSUFFICIENT_FUNDS)
  tok_provider_error                                raises ProviderError; nothing is recorded
  tok_timeout                                       the charge is made, then the answer never comes
                                                    (sleeps `timeout_seconds`); asking again with the
                                                    same reference answers at once
  anything else                                     declined (DECLINED): an unknown card

Faults for fault-injection runs (`SandboxFaults`, off by default; `MERCATO_PAYMENTS_SANDBOX_*`): a
share of calls fails with ProviderError before anything is made, a share makes the change and then
loses the answer (sleeps `timeout_seconds`, like `tok_timeout`, for every kind of call), and each
call may take a random extra latency. Unlike the tokens these are transient: the same request asked
again is drawn again, so a retry goes through.

Every answer is derived from the request, so that any process answers a reference the same way:
the charge id is `ch_` + uuid5(reference), a capture's, void's or refund's id likewise from its
reference, and the outcome of an authorization from its token. Payments' own operations and
intents carry the idempotency and the state checks (an operation is recorded under its key before
the provider is asked, and an intent is checked before each call), so the provider needs no books
of its own for anything payments asks.

A small book per process (bounded, least recently used dropped first) adds what a real provider
would refuse from its history, for tests that go behind payments' back or call the sandbox
directly: a capture, void or refund of a declined or voided charge, above the authorization or the
capture, a reference reused for another request, and the replay of a `tok_timeout` reference. A
process whose book does not know a well-formed charge (another replica, a restart) answers from the
request alone, which is what payments' checks already allowed; a charge id the sandbox never
derives (`ch_nope`) is always unknown.
"""

from __future__ import annotations

import asyncio
import random
import re
import uuid
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Generic, TypeVar

from mercato.payments.domain.provider import DeclineCode, ProviderError, ProviderResult
from mercato.platform.types import Money

# Test card tokens, not secrets.
SUCCESS_TOKEN = "tok_success"  # noqa: S105
SUCCESS_PREFIX = "tok_ok"
ERROR_TOKEN = "tok_provider_error"  # noqa: S105
TIMEOUT_TOKEN = "tok_timeout"  # noqa: S105
DECLINE_TOKENS = {
    "tok_decline": DeclineCode.DECLINED,
    "tok_insufficient_funds": DeclineCode.INSUFFICIENT_FUNDS,
}
# Fixed forever: changing it would give a re-asked reference another charge id.
NAMESPACE = uuid.UUID("6f1d5a0e-4c57-5b8e-9a51-3c0f6f3a9d42")
_PREFIX = {"AUTHORIZE": "ch", "CAPTURE": "cap", "VOID": "void", "REFUND": "re"}
_CHARGE_ID = re.compile(r"ch_[0-9a-f]{32}")
BOOK_SIZE = 10_000  # charges (and as many answers) remembered per process


def _derived(kind: str, reference: str) -> str:
    return f"{_PREFIX[kind]}_{uuid.uuid5(NAMESPACE, f'{kind}:{reference}').hex}"


def charge_id(reference: str) -> str:
    """The id of the charge an authorization under `reference` makes, whichever process asks."""
    return _derived("AUTHORIZE", reference)


@dataclass(frozen=True)
class SandboxCharge:
    """A charge as the sandbox's book holds it; `status` is AUTHORIZED, DECLINED, CAPTURED,
    VOIDED, PARTIALLY_REFUNDED or REFUNDED."""

    reference: str
    token: str
    amount: Money
    status: str
    captured: int = 0
    refunded: int = 0


# A request as a replay is compared: (kind, token or charge, amount in minor units, currency).
Request = tuple[str, str, int | None, str | None]
K = TypeVar("K")
V = TypeVar("V")


class _Book(Generic[K, V]):
    """A dict that forgets its least recently used entries beyond `size`."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)


@dataclass(frozen=True)
class SandboxFaults:
    """Transient faults drawn for every call (rates in [0, 1]; their sum at most 1)."""

    error_rate: float = 0.0  # ProviderError, nothing made
    timeout_rate: float = 0.0  # made, then the answer is lost
    jitter_ms: int = 0  # extra latency, uniform in [0, jitter_ms]
    seed: int | None = None  # the same draws in the same order of calls

    def __post_init__(self) -> None:
        if min(self.error_rate, self.timeout_rate) < 0 or self.error_rate + self.timeout_rate > 1:
            raise ValueError("sandbox fault rates must be >= 0 and add up to at most 1")


class SandboxProvider:
    name = "sandbox"

    def __init__(
        self,
        *,
        latency_ms: int = 0,
        timeout_seconds: float = 60.0,
        book_size: int = BOOK_SIZE,
        faults: SandboxFaults | None = None,
    ) -> None:
        self.latency_ms = latency_ms
        self.faults = faults or SandboxFaults()
        self._draws = random.Random(self.faults.seed)
        # How long a `tok_timeout` authorization keeps the caller waiting: longer than any caller's
        # timeout, so the caller gives up first.
        self.timeout_seconds = timeout_seconds
        self._charges: _Book[str, SandboxCharge] = _Book(book_size)
        self._answers: _Book[str, tuple[Request, ProviderResult]] = _Book(2 * book_size)

    def charge(self, charge: str) -> SandboxCharge | None:
        """The charge as this process's book knows it (None: not made here, or forgotten)."""
        return self._charges.get(charge)

    async def _latency(self) -> bool:
        """Wait the call's latency; raise the injected error, or say whether to lose the answer."""
        faults = self.faults
        extra = self._draws.uniform(0, faults.jitter_ms) if faults.jitter_ms else 0.0
        if self.latency_ms or extra:
            await asyncio.sleep((self.latency_ms + extra) / 1000)
        if not (faults.error_rate or faults.timeout_rate):
            return False
        draw = self._draws.random()
        if draw < faults.error_rate:
            raise ProviderError("sandbox: injected provider error")
        return draw < faults.error_rate + faults.timeout_rate

    async def _lose_answer(self) -> None:
        """Made the change, lost the answer: the caller gives up first and must ask again."""
        await asyncio.sleep(self.timeout_seconds)

    def _replay(self, reference: str, request: Request) -> ProviderResult | None:
        seen = self._answers.get(reference)
        if seen is None:
            return None
        if seen[0] != request:
            return ProviderResult.declined(DeclineCode.REFERENCE_REUSED, "sandbox: reference reused")
        return seen[1]

    async def authorize(self, token: str, amount: Money, reference: str) -> ProviderResult:
        lose_answer = await self._latency()
        if token == ERROR_TOKEN:
            raise ProviderError("sandbox: simulated provider error")
        replayed = self._replay(reference, ("AUTHORIZE", token, amount.amount, amount.currency))
        if replayed is not None:
            return replayed  # at once, a `tok_timeout` too: the answer the first call lost
        approved = token in (SUCCESS_TOKEN, TIMEOUT_TOKEN) or token.startswith(SUCCESS_PREFIX)
        decline = None if approved else DECLINE_TOKENS.get(token, DeclineCode.DECLINED)
        charge = charge_id(reference)
        result = (
            ProviderResult.ok(charge)
            if decline is None
            else ProviderResult.declined(decline, f"sandbox: {token}", charge)
        )
        self._charges.put(
            charge, SandboxCharge(reference, token, amount, "AUTHORIZED" if approved else "DECLINED")
        )
        self._answers.put(reference, (("AUTHORIZE", token, amount.amount, amount.currency), result))
        if token == TIMEOUT_TOKEN or lose_answer:
            # Made the charge, lost the answer: the caller must ask again with the same reference.
            await self._lose_answer()
        return result

    async def capture(self, charge: str, amount: Money, reference: str) -> ProviderResult:
        return await self._change("CAPTURE", charge, amount, reference)

    async def void(self, charge: str, reference: str) -> ProviderResult:
        return await self._change("VOID", charge, None, reference)

    async def refund(self, charge: str, amount: Money, reference: str) -> ProviderResult:
        return await self._change("REFUND", charge, amount, reference)

    async def _change(self, kind: str, charge: str, amount: Money | None, reference: str) -> ProviderResult:
        lose_answer = await self._latency()
        if not _CHARGE_ID.fullmatch(charge):
            return ProviderResult.declined(DeclineCode.UNKNOWN_CHARGE, f"sandbox: no charge {charge}")
        request: Request = (
            kind,
            charge,
            amount.amount if amount is not None else None,
            amount.currency if amount is not None else None,
        )
        replayed = self._replay(reference, request)
        if replayed is not None:
            return replayed
        provider_reference = _derived(kind, reference)
        book = self._charges.get(charge)
        decline, after = (None, None) if book is None else _apply(kind, book, amount)
        if after is not None:
            self._charges.put(charge, after)
        result = (
            ProviderResult.ok(provider_reference)
            if decline is None
            else ProviderResult.declined(decline, f"sandbox: {kind.lower()} refused", provider_reference)
        )
        self._answers.put(reference, (request, result))
        if lose_answer:
            await self._lose_answer()
        return result


def _apply(
    kind: str, charge: SandboxCharge, amount: Money | None
) -> tuple[DeclineCode | None, SandboxCharge | None]:
    """The charge after `kind` of `amount` (None: all of it), or why it is refused."""
    if amount is not None and amount.currency != charge.amount.currency:
        return DeclineCode.AMOUNT_EXCEEDED, None
    value = amount.amount if amount is not None else charge.amount.amount
    if kind in ("CAPTURE", "VOID") and charge.status != "AUTHORIZED":
        return DeclineCode.INVALID_CHARGE_STATE, None
    if kind == "CAPTURE":
        if value > charge.amount.amount:
            return DeclineCode.AMOUNT_EXCEEDED, None
        return None, replace(charge, status="CAPTURED", captured=value)
    if kind == "VOID":
        return None, replace(charge, status="VOIDED")
    if charge.status not in ("CAPTURED", "PARTIALLY_REFUNDED"):
        return DeclineCode.INVALID_CHARGE_STATE, None
    if charge.refunded + value > charge.captured:
        return DeclineCode.AMOUNT_EXCEEDED, None
    refunded = charge.refunded + value
    status = "REFUNDED" if refunded == charge.captured else "PARTIALLY_REFUNDED"
    return None, replace(charge, status=status, refunded=refunded)
