"""What can be asked of search besides a search: recommendations, and recording a purchase.

`RecordPurchase` runs inside the unit of work of the consumer of `orders.order_confirmed` (its inbox
row in the same transaction makes a redelivery a no-op). The two recommendation reads take many
products at once: a storefront page asks for all of its products in one call, never one each.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

# Recommendations per product a client may ask for: a carousel, not a listing.
RECOMMENDATIONS_MAX = 20


@dataclass(frozen=True)
class RecordPurchase:
    """The SKUs one confirmed order bought: each pair of their products was bought together once."""

    order_id: uuid.UUID
    skus: tuple[str, ...]


@dataclass(frozen=True)
class SimilarProducts:
    """Up to `first` products like each of `product_ids` (never the product itself)."""

    product_ids: tuple[uuid.UUID, ...]
    first: int = 8


@dataclass(frozen=True)
class BoughtTogether:
    """Up to `first` products bought in the same orders as each of `product_ids`, at least
    `min_support` orders each; topped up with `SimilarProducts` when there are fewer."""

    product_ids: tuple[uuid.UUID, ...]
    first: int = 8
