"""Shared value types: identifiers and money in integer minor units."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import NewType

ProductId = NewType("ProductId", uuid.UUID)
VariantId = NewType("VariantId", uuid.UUID)
CategoryId = NewType("CategoryId", uuid.UUID)
WarehouseId = NewType("WarehouseId", uuid.UUID)
ReservationId = NewType("ReservationId", uuid.UUID)
Sku = NewType("Sku", str)

# ISO 4217 minor-unit exponents for the currencies whose exponent is not 2.
_EXPONENTS: dict[str, int] = {
    "BIF": 0,
    "CLP": 0,
    "DJF": 0,
    "GNF": 0,
    "ISK": 0,
    "JPY": 0,
    "KMF": 0,
    "KRW": 0,
    "PYG": 0,
    "RWF": 0,
    "UGX": 0,
    "UYI": 0,
    "VND": 0,
    "VUV": 0,
    "XAF": 0,
    "XOF": 0,
    "XPF": 0,
    "BHD": 3,
    "IQD": 3,
    "JOD": 3,
    "KWD": 3,
    "LYD": 3,
    "OMR": 3,
    "TND": 3,
}
# Amounts are bounded so that any sum of a realistic order fits a PostgreSQL bigint.
MAX_MINOR_AMOUNT = 10**15


def new_id() -> uuid.UUID:
    """Random (v4) identifier: unguessable, so safe to expose in URLs."""
    return uuid.uuid4()


# No amount has more digits than this on either side of the point (MAX_MINOR_AMOUNT is 10**15).
_MAX_DIGITS = 19
# "19.99": ASCII digits, at most one point. With no more decimals than the currency has, integer
# arithmetic gives the Money the Decimal path would, several times faster (an import parses 100k's).
_PLAIN_AMOUNT = re.compile(r"([0-9]{1,15})(?:\.([0-9]{1,18}))?")


def currency_exponent(currency: str) -> int:
    return _EXPONENTS.get(currency, 2)


def is_valid_currency(currency: str) -> bool:
    return len(currency) == 3 and currency.isascii() and currency.isalpha() and currency.isupper()


class MoneyError(ValueError):
    """A money value that cannot exist (bad currency, out of range, too many decimals)."""


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in integer minor units (cents) of one currency. Never a float."""

    amount: int
    currency: str

    def __post_init__(self) -> None:
        if not is_valid_currency(self.currency):
            raise MoneyError(f"unknown currency code {self.currency!r}")
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise MoneyError("amount must be an integer number of minor units")
        if abs(self.amount) > MAX_MINOR_AMOUNT:
            raise MoneyError("amount is out of range")

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def __mul__(self, quantity: int) -> Money:
        return Money(self.amount * quantity, self.currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise MoneyError(f"cannot combine {self.currency} with {other.currency}")

    @property
    def is_negative(self) -> bool:
        return self.amount < 0

    def to_decimal_string(self) -> str:
        """Major units as a decimal string with the currency's exponent: 1999 USD -> "19.99"."""
        exponent = currency_exponent(self.currency)
        value = Decimal(self.amount).scaleb(-exponent)
        return f"{value:.{exponent}f}"

    @classmethod
    def from_decimal_string(cls, value: str, currency: str) -> Money:
        """Parse "19.99" in `currency` exactly; more decimals than the currency has is an error."""
        if not is_valid_currency(currency):
            raise MoneyError(f"unknown currency code {currency!r}")
        exponent = currency_exponent(currency)
        plain = _PLAIN_AMOUNT.fullmatch(value)
        if plain is not None and len(fraction := plain[2] or "") <= exponent:
            return cls(int(plain[1]) * 10**exponent + int(fraction.ljust(exponent, "0") or "0"), currency)
        if len(value) > 32:
            raise MoneyError("amount is too long")
        try:
            parsed = Decimal(value)
        except InvalidOperation as exc:
            raise MoneyError(f"{value!r} is not a decimal amount") from exc
        if not parsed.is_finite():
            raise MoneyError(f"{value!r} is not a decimal amount")
        # "1e999999999" is short, but scaling it overflows the decimal context (an exception no
        # caller expects), and "1e-999999999" would round to 0: no amount is that far from 1.
        if parsed and not -_MAX_DIGITS <= parsed.adjusted() <= _MAX_DIGITS:
            raise MoneyError("amount is out of range")
        minor = parsed.scaleb(currency_exponent(currency))
        if minor != minor.to_integral_value():
            raise MoneyError(f"{currency} has {currency_exponent(currency)} decimals at most")
        return cls(int(minor), currency)
