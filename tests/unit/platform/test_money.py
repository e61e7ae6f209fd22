from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mercato.platform.types import MAX_MINOR_AMOUNT, Money, MoneyError, currency_exponent

amounts = st.integers(min_value=-MAX_MINOR_AMOUNT // 4, max_value=MAX_MINOR_AMOUNT // 4)
currencies = st.sampled_from(["USD", "EUR", "JPY", "KWD", "GBP"])


@given(amounts, currencies)
def test_decimal_string_round_trips_exactly(amount: int, currency: str) -> None:
    money = Money(amount, currency)
    assert Money.from_decimal_string(money.to_decimal_string(), currency) == money


@given(st.from_regex(r"[0-9]{1,16}(\.[0-9]{0,4})?", fullmatch=True), currencies)
def test_plain_amounts_parse_as_their_decimal_does(value: str, currency: str) -> None:
    # Plain digits take a shortcut past Decimal: it must agree with Decimal, refusals included.
    minor = Decimal(value).scaleb(currency_exponent(currency))
    if minor != minor.to_integral_value() or abs(minor) > MAX_MINOR_AMOUNT:
        with pytest.raises(MoneyError):
            Money.from_decimal_string(value, currency)
    else:
        assert Money.from_decimal_string(value, currency) == Money(int(minor), currency)


@given(amounts, amounts, amounts)
def test_addition_is_associative_and_subtraction_undoes_it(a: int, b: int, c: int) -> None:
    x, y, z = Money(a, "EUR"), Money(b, "EUR"), Money(c, "EUR")
    assert (x + y) + z == x + (y + z)
    assert (x + y) - y == x


@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=0, max_value=1000))
def test_multiplying_by_quantity_is_repeated_addition(amount: int, quantity: int) -> None:
    unit = Money(amount, "USD")
    total = Money(0, "USD")
    for _ in range(min(quantity, 20)):
        total = total + unit
    assert unit * min(quantity, 20) == total


def test_exponents_follow_iso_4217() -> None:
    assert Money(1999, "USD").to_decimal_string() == "19.99"
    assert Money(1999, "JPY").to_decimal_string() == "1999"
    assert Money(1999, "KWD").to_decimal_string() == "1.999"
    assert Money(-5, "USD").to_decimal_string() == "-0.05"


@pytest.mark.parametrize(
    ("value", "currency"),
    [
        ("19.999", "USD"),
        ("1.5", "JPY"),
        ("abc", "USD"),
        ("NaN", "USD"),
        ("Infinity", "USD"),
        ("1" * 40, "USD"),
        ("10", "usd"),
        ("10", "US"),
        ("1e20", "USD"),
        # Found by the fuzzer: scaling these overflowed the decimal context (INTERNAL), or rounded
        # the amount to 0 without a word.
        ("1e999999999", "USD"),
        ("-1e999999999", "USD"),
        ("1e-999999999", "USD"),
    ],
)
def test_unparseable_amounts_are_refused(value: str, currency: str) -> None:
    with pytest.raises(MoneyError):
        Money.from_decimal_string(value, currency)


def test_mixing_currencies_is_refused() -> None:
    with pytest.raises(MoneyError, match="cannot combine"):
        Money(1, "USD") + Money(1, "EUR")


def test_amount_must_be_an_integer() -> None:
    with pytest.raises(MoneyError):
        Money(1.5, "USD")  # type: ignore[arg-type]
    with pytest.raises(MoneyError):
        Money(True, "USD")
