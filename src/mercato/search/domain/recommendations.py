"""How recommendation candidates become a short list: best first, in stock preferred.

Whatever found the candidates (embedding neighbours, shared words, orders in common), the list a
shopper sees is chosen the same way: the `pool` best by score (a candidate of the same department
gets `DEPARTMENT_BOOST` more), then those that can be bought now before those that cannot, each
group in score order. Preferring stock only inside the pool keeps a barely related product in stock
from displacing a close one that is out of stock for a day.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

# Added to a candidate's score when it shares the product's department (top-level category). Cosine
# similarities of related products differ by a few hundredths: 0.1 moves a same-department neighbour
# ahead of most others without putting an unrelated one first.
DEPARTMENT_BOOST = 0.1
# How many of the best candidates stock may reorder, per product shown.
POOL_FACTOR = 3


@dataclass(frozen=True)
class Candidate:
    product_id: uuid.UUID
    score: float  # higher is closer; comparable only between candidates of one product
    same_department: bool = False
    in_stock: bool = False

    @property
    def rank_score(self) -> float:
        return self.score + (DEPARTMENT_BOOST if self.same_department else 0.0)


def choose(
    candidates: Iterable[Candidate], first: int, *, exclude: Iterable[uuid.UUID] = ()
) -> tuple[uuid.UUID, ...]:
    """Up to `first` product ids: the best `POOL_FACTOR * first`, in stock first (see the module)."""
    excluded = set(exclude)
    best: dict[uuid.UUID, Candidate] = {}
    for c in candidates:
        if c.product_id not in excluded and (
            c.product_id not in best or best[c.product_id].rank_score < c.rank_score
        ):
            best[c.product_id] = c
    ranked = sorted(best.values(), key=lambda c: (-c.rank_score, str(c.product_id)))
    pool = ranked[: POOL_FACTOR * first]
    pool.sort(key=lambda c: not c.in_stock)  # stable: score order within each group
    return tuple(c.product_id for c in pool[:first])
