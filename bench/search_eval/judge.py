"""Grades of the judged query set, computed from the Luma catalog by the rules in queries.json."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

QUERIES = Path(__file__).with_name("queries.json")


@dataclass(frozen=True)
class Query:
    kind: str
    text: str
    grades: dict[str, int]  # product SKU -> 1 or 2 (absent: 0)


def _values(product: Mapping[str, Any], code: str) -> set[str]:
    found: set[str] = set()
    variants = [v["attributes"] for v in product.get("variants", [])]
    for attributes in (product.get("attributes", {}), *variants):
        value = attributes.get(code)
        if isinstance(value, list):
            found.update(str(v) for v in value)
        elif value is not None and not isinstance(value, bool):
            found.add(str(value))
    return found


def _prices(product: Mapping[str, Any]) -> list[Decimal]:
    prices = [Decimal(v["price"]) for v in product.get("variants", []) if v.get("price")]
    return prices or ([Decimal(product["price"])] if product.get("price") else [])


def _holds(clause: Mapping[str, Any], product: Mapping[str, Any]) -> bool:
    paths = ["/".join(path) for path in product.get("categories", [])]
    name = product["name"].lower()
    text = f"{name} {product.get('description', '')}".lower()
    checks = [
        "cat" not in clause or any(c in p for c in clause["cat"] for p in paths),
        "name" not in clause or any(w in name for w in clause["name"]),
        "text" not in clause or any(w in text for w in clause["text"]),
        "flag" not in clause or all(product.get("attributes", {}).get(f) is True for f in clause["flag"]),
        "price_max" not in clause or any(p <= Decimal(clause["price_max"]) for p in _prices(product)),
        "price_min" not in clause or any(p >= Decimal(clause["price_min"]) for p in _prices(product)),
    ]
    for code, wanted in clause.get("attr", {}).items():
        checks.append(bool(_values(product, code) & set(wanted)))
    return all(checks)


def grade(query: Mapping[str, Any], product: Mapping[str, Any]) -> int:
    if any(_holds(c, product) for c in query["must"]):
        return 2
    return 1 if any(_holds(c, product) for c in query["partial"]) else 0


def load(catalog: Sequence[Mapping[str, Any]]) -> list[Query]:
    visible = [p for p in catalog if p.get("visibility") == "catalog_search" and p.get("price") is not None]
    spec = json.loads(QUERIES.read_text())
    queries = []
    for q in spec["queries"]:
        grades = {p["sku"]: g for p in visible if (g := grade(q, p)) > 0}
        queries.append(Query(q["kind"], q["q"], grades))
    return queries


def ndcg(ranked: Sequence[str], grades: Mapping[str, int], k: int = 10) -> float:
    def dcg(gains: Sequence[int]) -> float:
        return sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(gains[:k]))

    ideal = dcg(sorted(grades.values(), reverse=True))
    return dcg([grades.get(sku, 0) for sku in ranked]) / ideal if ideal else 0.0


def mrr(ranked: Sequence[str], grades: Mapping[str, int]) -> float:
    """Reciprocal rank of the first fully relevant (grade 2) result."""
    return next((1 / (i + 1) for i, sku in enumerate(ranked) if grades.get(sku) == 2), 0.0)


def recall(ranked: Sequence[str], grades: Mapping[str, int], k: int = 50) -> float:
    """Share of the fully relevant (grade 2) products found in the first k."""
    relevant = {sku for sku, g in grades.items() if g == 2}
    return len(relevant & set(ranked[:k])) / len(relevant) if relevant else 0.0
