"""The judged query set of `make search-eval` (bench/search_eval): well formed, every query answerable."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from bench.search_eval.judge import load, mrr, ndcg, recall

CATALOG = Path(__file__).resolve().parents[4] / "shared" / "data" / "luma" / "catalog.json"


def test_metrics_on_a_known_ranking() -> None:
    grades = {"a": 2, "b": 1, "c": 2}

    assert ndcg(["a", "c", "b"], grades) == pytest.approx(1.0)
    assert ndcg(["x", "a"], grades) < ndcg(["a", "x"], grades)
    assert mrr(["b", "x", "c"], grades) == pytest.approx(1 / 3)
    assert recall(["a", "b"], grades) == pytest.approx(0.5)


@pytest.mark.skipif(not CATALOG.exists(), reason="the Luma catalog (../shared/data/luma) is absent")
def test_every_query_has_relevant_products_and_every_kind_is_covered() -> None:
    queries = load(json.loads(CATALOG.read_text()))

    assert len(queries) >= 60
    assert set(Counter(q.kind for q in queries)) == {
        "keyword", "descriptive", "nl_filter", "misspelled", "attribute",
    }  # fmt: skip
    assert [q.text for q in queries if 2 not in q.grades.values()] == []
