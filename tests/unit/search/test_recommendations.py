"""How recommendation candidates become the short list a shopper sees."""

from __future__ import annotations

import uuid

from mercato.search.domain.recommendations import DEPARTMENT_BOOST, Candidate, choose


def ids(n: int) -> list[uuid.UUID]:
    return sorted(uuid.uuid4() for _ in range(n))


def test_the_best_come_first_and_the_product_itself_never() -> None:
    me, a, b, c = ids(4)
    candidates = [
        Candidate(b, 0.5, in_stock=True),
        Candidate(me, 1.0, in_stock=True),
        Candidate(a, 0.9, in_stock=True),
    ]

    assert choose(candidates, 8, exclude=[me]) == (a, b)
    assert choose([*candidates, Candidate(c, 0.1, in_stock=True)], 2, exclude=[me]) == (a, b)


def test_stock_is_preferred_among_the_closest_only() -> None:
    # Given first = 1: a pool of 3 (POOL_FACTOR) best candidates
    gone, close, closer_gone, far = ids(4)
    candidates = [
        Candidate(gone, 0.95),
        Candidate(closer_gone, 0.9),
        Candidate(close, 0.8, in_stock=True),
        Candidate(far, 0.1, in_stock=True),
    ]
    # Then the one in stock inside the pool wins over closer ones out of stock
    assert choose(candidates, 1) == (close,)
    # and a product in stock but far from the pool does not displace what is close
    assert choose(
        [
            Candidate(gone, 0.95),
            Candidate(closer_gone, 0.9),
            Candidate(close, 0.8),
            Candidate(far, 0.1, in_stock=True),
        ],
        1,
    ) == (gone,)
    # With first = 3 every candidate is in the pool: those in stock, then the rest, each by score
    assert choose(candidates, 3) == (close, far, gone)


def test_the_same_department_is_boosted() -> None:
    other_department, same_department = ids(2)
    candidates = [
        Candidate(other_department, 0.80, in_stock=True),
        Candidate(same_department, 0.80 - DEPARTMENT_BOOST / 2, same_department=True, in_stock=True),
    ]

    assert choose(candidates, 2) == (same_department, other_department)


def test_a_candidate_found_twice_counts_once_with_its_best_score() -> None:
    a, b = ids(2)
    candidates = [
        Candidate(a, 0.2, in_stock=True),
        Candidate(b, 0.5, in_stock=True),
        Candidate(a, 0.7, in_stock=True),
    ]

    assert choose(candidates, 5) == (a, b)
