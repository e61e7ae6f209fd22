"""The domain's rules over every record of an import, before anything is written.

Each record goes through the same model code as the use cases: `Product.create` (slug, name, text
boundary rule, SKU rule, attributes, media, prices, one currency per product, no SKU twice),
`Category.create`, `Warehouse.create` and the inventory's `check_count` for stock counts. What needs
the database (unknown category or warehouse, a SKU owned by another product, units below those
reserved) is checked by the writers, in the import's transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import partial

from mercato.app.bulk.records import ImportRecords, Rejected
from mercato.app.demo_data import ProductSpec
from mercato.catalog.domain.model import Category, Product, Variant
from mercato.inventory.domain.model import Warehouse, check_count
from mercato.platform.errors import ClientError, InputRejected, Problem
from mercato.platform.validation import Checks

Progress = Callable[[int], None]

# The model wants variant ids; validation throws the model away, so one id does for all.
_ANY_ID = uuid.UUID(int=0)


def validate(records: ImportRecords, progress: Progress | None = None) -> None:
    """Append a `Rejected` to `records.rejected` for every record the domain refuses."""
    for warehouse in records.warehouses:
        where = f"warehouse {warehouse.code!r}"
        _check(
            records,
            where,
            warehouse.code,
            partial(Warehouse.create, code=warehouse.code, name=warehouse.name),
        )
    for c in records.categories:
        create = partial(Category.create, slug=c.slug, name=c.name, parent_id=None, position=c.position)
        _check(records, f"category {c.slug!r}", c.slug, create)
    slugs: dict[str, str] = {}
    skus: dict[str, str] = {}
    for index, (product, where) in enumerate(zip(records.products, records.origins, strict=True)):
        _check(records, where, product.slug, partial(_product, product))
        if product.slug in slugs:
            records.rejected.append(Rejected(where, product.slug, f"slug also used at {slugs[product.slug]}"))
        slugs.setdefault(product.slug, where)
        for variant in product.variants:
            if skus.setdefault(variant.sku, where) != where:
                records.rejected.append(Rejected(where, variant.sku, f"SKU also used at {skus[variant.sku]}"))
        if progress is not None and index % 1000 == 999:
            progress(index + 1)
    if progress is not None:
        progress(len(records.products))


def _product(spec: ProductSpec) -> None:
    Product.create(
        slug=spec.slug,
        name=spec.name,
        description=spec.description,
        category_id=None,
        attributes=spec.attributes,
        media=list(spec.media),
        published=spec.published,
        variants=[
            Variant(id=_ANY_ID, sku=v.sku, attributes=v.attributes, price=v.price) for v in spec.variants
        ],
    )
    checks = Checks()
    for i, variant in enumerate(spec.variants):
        for code, units in variant.stock:
            check_count(checks, f"variants.{i}.stock.{code}", units)
    checks.raise_as(Problem)


def _check(records: ImportRecords, where: str, ref: str, action: Callable[[], object]) -> None:
    try:
        action()
    except InputRejected as exc:
        for error in exc.errors:
            records.rejected.append(Rejected(where, ref, error.message))
    except ClientError as exc:  # a business rule of the model (currency mismatch, SKU twice)
        records.rejected.append(Rejected(where, ref, exc.message))
