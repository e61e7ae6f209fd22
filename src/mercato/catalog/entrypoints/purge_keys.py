"""Which edge-cached responses a catalog event makes stale, as purge keys (`platform.cdn`)."""

from __future__ import annotations

from mercato.catalog.domain.events import CategoryCreated, ProductsImported
from mercato.platform import cdn
from mercato.platform.events import Envelope


def purge_keys(envelope: Envelope) -> list[str]:
    """The product's own responses and every list (a change of name, price, category or publication
    can move it into, out of or within any of them); a new category changes only the tree; an
    import, its products (or the whole catalog when they are more than one purge takes)."""
    if envelope.type == CategoryCreated.type_name():
        return [cdn.CATEGORIES]
    if envelope.type == ProductsImported.type_name():
        ids = [*envelope.payload.get("created", ()), *envelope.payload.get("updated", ())]
        return cdn.bounded_keys([*map(cdn.product_key, ids), cdn.LISTINGS])
    return [cdn.product_key(envelope.aggregate_id), cdn.LISTINGS]


# A SKU going in or out of stock: cached responses never show stock, only lists filtered by it.
AVAILABILITY_KEYS = [cdn.AVAILABILITY]
