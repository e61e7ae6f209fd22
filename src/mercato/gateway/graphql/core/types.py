"""GraphQL types shared by every context's schema."""

from __future__ import annotations

from functools import lru_cache

import strawberry

from mercato.platform.types import Money as MoneyValue


@strawberry.type(description='An amount of money. `amount` is a decimal string in major units, e.g. "19.99".')
class Money:
    amount: str
    currency: str

    @classmethod
    def of(cls, amount: int, currency: str) -> Money:
        return money_of(amount, currency)


# A page shows the same few prices on every variant, and checking and formatting one was ~15% of a
# listing's execution. The objects are never changed after they are made, so pages can share them.
# (`Money.of` without the class method's call, for code that makes one per variant of a page.)
@lru_cache(maxsize=16_384)
def money_of(amount: int, currency: str) -> Money:
    return Money(amount=MoneyValue(amount, currency).to_decimal_string(), currency=currency)


@strawberry.input(description="An amount of money given as a decimal string in major units.")
class MoneyInput:
    amount: str
    currency: str


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None
