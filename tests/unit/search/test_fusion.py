from __future__ import annotations

import uuid

from mercato.search.service_layer.requests import Hit
from mercato.search.service_layer.semantic import fuse


def hits(*ids: uuid.UUID) -> list[Hit]:
    return [Hit(i, 0.0) for i in ids]


def test_fusion_adds_each_lists_reciprocal_ranks() -> None:
    a, b, c = (uuid.uuid4() for _ in range(3))

    fused = fuse([(1.0, hits(a, b)), (0.5, hits(c, b))], k=60)

    assert [h.product_id for h in fused] == [b, a, c]
    assert fused[0].score == 1.0 / 62 + 0.5 / 62


def test_products_naming_every_word_lead_and_scores_still_fall_down_the_list() -> None:
    # Given a product both lists put first, and one only the words rank (low) that names every word
    close, named, other = (uuid.uuid4() for _ in range(3))

    fused = fuse([(1.0, hits(close, other, named)), (0.7, hits(close, other))], k=60, lead={named})

    assert [h.product_id for h in fused] == [named, close, other]
    assert fused[0].score == 1.0 + 1.0 / 63
    assert [h.score for h in fused] == sorted((h.score for h in fused), reverse=True)
