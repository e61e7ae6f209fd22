"""Building search documents from the catalog's current state, and the indexing use cases."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence

from mercato.search.domain.model import SearchDocument, attribute_text, facet_values
from mercato.search.service_layer.ports import CatalogPort, CategoryInfo, ProductInfo
from mercato.search.service_layer.semantic import Semantic
from mercato.search.service_layer.unit_of_work import SearchUnitOfWork


def category_chain(
    category_id: uuid.UUID | None, tree: Mapping[uuid.UUID, CategoryInfo]
) -> list[CategoryInfo]:
    """The category and its ancestors, root first (a cycle or a missing parent ends the chain)."""
    chain: list[CategoryInfo] = []
    seen: set[uuid.UUID] = set()
    while category_id is not None and category_id in tree and category_id not in seen:
        seen.add(category_id)
        chain.append(tree[category_id])
        category_id = tree[category_id].parent_id
    return chain[::-1]


def document_of(product: ProductInfo, tree: Mapping[uuid.UUID, CategoryInfo]) -> SearchDocument:
    chain = category_chain(product.category_id, tree)
    facets = facet_values(product.attributes, (v.attributes for v in product.variants))
    return SearchDocument(
        product_id=product.id,
        slug=product.slug,
        name=product.name,
        category_text=" ".join(c.name for c in chain),
        attribute_text=attribute_text(facets),
        description=product.description,
        updated_at=product.updated_at,
        category_ids=tuple(c.id for c in chain),
        skus=tuple(v.sku for v in product.variants),
        prices=tuple(v.price_amount for v in product.variants),
        facets=facets,
        variant_axes=tuple(sorted({name for v in product.variants for name in v.attributes})),
    )


async def category_tree(catalog: CatalogPort) -> dict[uuid.UUID, CategoryInfo]:
    return {c.id: c for c in await catalog.categories()}


async def refresh_products(
    product_ids: Iterable[uuid.UUID],
    uow: SearchUnitOfWork,
    catalog: CatalogPort,
    semantic: Semantic | None = None,
) -> int:
    """Bring the documents of `product_ids` to the catalog's current state: written when the product
    is published, removed when it is not (or no longer exists). Returns the documents written.

    Runs inside the caller's unit of work (an event batch's): it never commits."""
    ids = sorted(set(product_ids))
    if not ids:
        return 0
    found = {p.id: p for p in await catalog.products_by_ids(ids, include_unpublished=True)}
    tree = await category_tree(catalog) if found else {}
    published = [p for product_id in ids if (p := found.get(product_id)) is not None and p.published]
    shown = {p.id for p in published}
    written, _ = await uow.index.apply(
        [document_of(p, tree) for p in published], [i for i in ids if i not in shown]
    )
    if semantic is not None:
        # One inference for the batch, and only for documents whose text changed.
        await semantic.index(uow.conn, written)
    return len(written)


async def reindex(
    catalog: CatalogPort,
    uow_factory: Callable[[], SearchUnitOfWork],
    all_ids: Sequence[uuid.UUID],
    *,
    semantic: Semantic | None = None,
    batch: int = 100,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Rebuild the documents of every product in `all_ids` (the catalog's products), drop documents
    of products no longer in it, recount the vocabulary, then refresh the planner's statistics. One
    transaction per batch."""
    written = 0
    for start in range(0, len(all_ids), batch):
        async with uow_factory() as uow:
            written += await refresh_products(all_ids[start : start + batch], uow, catalog, semantic)
            await uow.commit()
        if progress is not None:
            progress(min(batch, len(all_ids) - start))
    async with uow_factory() as uow:
        for gone in sorted(await uow.index.indexed_ids() - set(all_ids)):
            await uow.index.remove(gone)
        await uow.index.recount_vocabulary()
        await uow.commit()
    async with uow_factory() as uow:
        await uow.index.refresh_statistics()
        await uow.commit()
    return written
