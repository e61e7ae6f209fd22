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
        return _money(amount, currency)


# A page shows the same few prices on every variant, and checking and formatting one was ~15% of a
# listing's execution. The objects are never changed after they are made, so pages can share them.
@lru_cache(maxsize=16_384)
def _money(amount: int, currency: str) -> Money:
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
