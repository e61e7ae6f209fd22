"""Which top-level categories a shopper names as a department ("women's jacket", "mens shorts").

Not every top-level category is one: a shop's roots also hold gear, video downloads, collections,
promotions and sales, and reading "strength training equipment" or "gear for staying hydrated" as a
department filter costs those queries their best answers (docs/search.md). A department is a root the
catalog itself treats as an audience, by either of two signs in its own data, never a list of names:

- **an attribute names it**: some product's attribute has the root's name as a value (the demo's and
  Luma's `gender` says "Women", "Men" on products the tree files elsewhere);
- **it splits the same kinds of product as another root**: one of its subcategories has the name of a
  subcategory of another root of another name (Women/Tops and Men/Tops): the shop sorts the same
  goods by who they are for. A root like "Gear" (Bags, Watches) or "Training" (Video Download) shares
  no subcategory with any other.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence

from mercato.search.domain.text import words
from mercato.search.service_layer.ports import CategoryInfo


def folded(name: str) -> str:
    """A name as the query reader compares it: "Bras & Tanks" -> "bras tanks"."""
    return " ".join(words(name))


def departments(
    categories: Sequence[CategoryInfo], attribute_values: Collection[str]
) -> dict[str, uuid.UUID]:
    """Folded name -> id of the roots that are departments; `attribute_values` are attribute values
    of the indexed products (any case; only those equal to a root's name matter)."""
    roots = [c for c in categories if c.parent_id is None]
    children: dict[uuid.UUID, set[str]] = {r.id: set() for r in roots}
    for c in categories:
        if c.parent_id in children:
            children[c.parent_id].add(folded(c.name))
    named = {folded(v) for v in attribute_values}
    found: dict[str, uuid.UUID] = {}
    for root in roots:
        name = folded(root.name)
        parallel = any(
            children[root.id] & children[other.id] for other in roots if folded(other.name) != name
        )
        if name and (name in named or parallel):
            found[name] = root.id
    return found
