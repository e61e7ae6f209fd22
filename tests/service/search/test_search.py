"""Search on real PostgreSQL: documents kept from the catalog's events, ranked lexical search.

The index is shared by the whole session, so every test searches for words only it uses."""

from __future__ import annotations

import random
import string
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import text

from mercato.catalog.bootstrap import CatalogService
from mercato.catalog.client import InProcessCatalogClient
from mercato.catalog.domain.commands import CreateProduct, NewVariant, UpdateProduct
from mercato.catalog.domain.events import ProductCreated, ProductsImported
from mercato.inventory.domain.events import StockLevelsImported
from mercato.platform.db import Database
from mercato.platform.errors import ClientError
from mercato.platform.events import Envelope
from mercato.platform.types import Money
from mercato.search import Correction, Facets, PriceRange, SearchFilter, SearchMode, SearchRequest
from mercato.search.bootstrap import SearchService
from mercato.search.service_layer import lexical
from mercato.search.service_layer.indexing import document_of, refresh_products
from mercato.search.service_layer.spelling import resolve
from tests.conftest import ref
from tests.service.catalog.builders import a_category, a_product


def a_word() -> str:
    """A made-up word no other test uses (letters only, so it is one word to the index)."""
    return "".join(random.choices(string.ascii_lowercase, k=10))


async def index(search: SearchService, *product_ids: uuid.UUID) -> None:
    async with search.uow() as uow:
        await refresh_products(product_ids, uow, search.catalog)
        await uow.commit()


async def ranked(search: SearchService, query: str, **kw: object) -> list[uuid.UUID]:
    result = await search.engine.search(SearchRequest(query=query, mode=SearchMode.LEXICAL, **kw))  # type: ignore[arg-type]
    return [h.product_id for h in result.hits]


async def docs_of(search: SearchService, term: str) -> int | None:
    async with search.db.connect() as conn:
        found = await conn.execute(text("SELECT docs FROM search.vocabulary WHERE term = :t"), {"t": term})
        return found.scalar()


async def test_the_name_outranks_categories_and_description(
    catalog: CatalogService, search: SearchService
) -> None:
    word = a_word()
    category = await a_category(catalog, name=f"{word} Gear")
    in_description, _ = await a_product(catalog, description=f"Goes well with any {word} outfit.")
    in_category, _ = await a_product(catalog, category_id=category)
    in_name, _ = await a_product(catalog, name=f"{word.title()} Jacket")
    await index(search, in_description, in_category, in_name)

    assert await ranked(search, word) == [in_name, in_category, in_description]


async def test_any_word_may_match_and_more_words_rank_higher(
    catalog: CatalogService, search: SearchService
) -> None:
    a, b = a_word(), a_word()
    both, _ = await a_product(catalog, name=f"{a} {b} Tee")
    one, _ = await a_product(catalog, name=f"{a} Tee")
    await index(search, both, one)

    result = await search.engine.search(SearchRequest(query=f"{a} {b} zzqqxxvvyy", mode=SearchMode.LEXICAL))

    assert [h.product_id for h in result.hits] == [both, one]
    assert result.interpretation.unknown == ("zzqqxxvvyy",)


async def test_a_typo_is_corrected_against_the_catalog_vocabulary(
    catalog: CatalogService, search: SearchService
) -> None:
    word = a_word()
    product, _ = await a_product(catalog, name=f"{word} Backpack")
    await index(search, product)
    # Two letters swapped: the first pair after the first letter that differ (a random word may
    # repeat a letter, and swapping two equal ones is no typo)
    i = next(i for i in range(1, len(word) - 1) if word[i] != word[i + 1])
    typo = word[:i] + word[i + 1] + word[i] + word[i + 2 :]

    result = await search.engine.search(SearchRequest(query=typo, mode=SearchMode.LEXICAL))

    assert [h.product_id for h in result.hits] == [product]
    assert result.interpretation.corrections == (Correction(typo, word),)


async def test_the_start_of_a_word_finds_it(catalog: CatalogService, search: SearchService) -> None:
    word = a_word()
    product, _ = await a_product(catalog, name=f"{word} Hoodie")
    await index(search, product)

    assert await ranked(search, word[:6]) == [product]


async def test_an_unpublished_product_leaves_the_index_and_its_words_the_vocabulary(
    catalog: CatalogService, search: SearchService
) -> None:
    word = a_word()
    product, _ = await a_product(catalog, name=f"{word} Watch")
    await index(search, product)
    assert await docs_of(search, word) == 1

    await catalog.handle(UpdateProduct(product, {"published": False}))
    await index(search, product)

    assert await ranked(search, word) == []
    assert await docs_of(search, word) == 0


async def test_the_consumer_indexes_a_product_from_its_event_and_a_replay_changes_nothing(
    catalog: CatalogService, search: SearchService
) -> None:
    word = a_word()
    product, skus = await a_product(catalog, name=f"{word} Shorts")
    envelope = Envelope.of(ProductCreated(aggregate_id=str(product), slug="s", skus=skus))
    products = next(s for s in search.subscriptions() if s.name == "products")
    handler = products.handlers[envelope.type]

    for _ in range(2):
        async with search.uow() as uow:
            await handler(envelope, uow)
            await uow.commit()

    assert await ranked(search, word) == [product]
    assert await docs_of(search, word) == 1


async def test_a_bulk_imports_batches_index_their_products_and_levels(
    catalog: CatalogService, search: SearchService
) -> None:
    # Given two products a bulk import wrote (no per-product events), and its stock batch
    word = a_word()
    first, first_skus = await a_product(catalog, name=f"{word} Parka")
    second, _ = await a_product(catalog, name=f"{word} Anorak")
    imported = Envelope.of(
        ProductsImported(aggregate_id=str(uuid.uuid4()), created=[str(first)], updated=[str(second)])
    )
    levels = Envelope.of(
        StockLevelsImported(
            aggregate_id=str(uuid.uuid4()),
            levels=[{"sku": first_skus[0], "available": 3, "version": 7}],
            adjustments=1,
        )
    )
    products, availability = (
        next(s for s in search.subscriptions() if s.name == name) for name in ("products", "availability")
    )
    # When search's consumers handle the batches (twice: a redelivery changes nothing)
    for _ in range(2):
        async with search.uow() as uow:
            await products.handlers[imported.type](imported, uow)
            await availability.handlers[levels.type](levels, uow)
            await uow.commit()
    # Then both products are found, and the SKU's level is the batch's
    assert sorted(await ranked(search, word)) == sorted([first, second])
    async with search.db.connect() as conn:
        found = await conn.execute(
            text("SELECT available, version FROM search.sku_availability WHERE sku = :s"),
            {"s": first_skus[0]},
        )
        assert found.all() == [(3, 7)]


async def test_attribute_values_are_counted_as_documents_are_written_and_dropped(
    catalog: CatalogService, search: SearchService
) -> None:
    # Given two products of a material of their own, one with a size of its own on its variant
    material, size = a_word().title(), a_word().upper()
    first, _ = await a_product(catalog, attributes={"material": material})
    second = await catalog.handle(
        CreateProduct(
            slug=ref("p"),
            name=f"{material} Shell",
            attributes={"material": material},
            published=True,
            variants=[
                NewVariant(sku=ref("SKU").upper(), price=Money(2500, "USD"), attributes={"size": size})
            ],
        )
    )
    await index(search, first, second)
    counted = await values_of(search, material, size)

    # When one of them is unpublished and reindexed
    await catalog.handle(UpdateProduct(first, {"published": False}))
    await index(search, first, second)

    # Then each value counts the documents holding it, the variant's size as a value variants differ by
    assert counted == [("material", material, False, 2), ("size", size, True, 1)]
    after = await values_of(search, material, size)
    assert after == [("material", material, False, 1), ("size", size, True, 1)]


async def values_of(search: SearchService, *values: str) -> list[tuple[str, str, bool, int]]:
    async with search.db.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT name, value, axis, docs FROM search.attribute_values"
                " WHERE value = ANY(:values) ORDER BY name, value"
            ),
            {"values": list(values)},
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


async def test_an_older_state_never_overwrites_a_newer_one(
    catalog: CatalogService, search: SearchService
) -> None:
    word, old_word = a_word(), a_word()
    product, _ = await a_product(catalog, name=f"{word} Tank")
    await index(search, product)
    (view,) = await search.catalog.products_by_ids([product])
    stale = document_of(view, {})
    stale = type(stale)(**{**stale.__dict__, "name": old_word, "updated_at": view.updated_at - timedelta(1)})

    async with search.uow() as uow:
        written = await uow.index.upsert(stale)
        await uow.commit()

    assert written is False
    assert await ranked(search, word) == [product]
    assert await ranked(search, old_word) == []


async def test_filters_narrow_a_search(catalog: CatalogService, search: SearchService) -> None:
    word = a_word()
    category = await a_category(catalog)
    cheap, cheap_skus = await a_product(catalog, name=f"{word} Tee", prices=(1500,), category_id=category)
    dear, _ = await a_product(catalog, name=f"{word} Tee", prices=(6000,))
    await index(search, cheap, dear)
    async with search.uow() as uow:
        await uow.index.record_availability(cheap_skus[0], 3, 1)
        await uow.commit()

    assert await ranked(search, word, filter=SearchFilter(price_max=2000)) == [cheap]
    assert await ranked(search, word, filter=SearchFilter(category_id=category)) == [cheap]
    assert await ranked(search, word, filter=SearchFilter(in_stock=True)) == [cheap]
    assert await ranked(search, word, filter=SearchFilter(in_stock=False)) == [dear]
    assert set(await ranked(search, word, filter=SearchFilter(attributes=(("size", ("S",)),)))) == {
        cheap,
        dear,
    }
    assert await ranked(search, word, filter=SearchFilter(attributes=(("size", ("XL",)),))) == []


async def test_pages_follow_the_cursor_and_refuse_another_searchs(
    catalog: CatalogService, search: SearchService
) -> None:
    word = a_word()
    ids = [(await a_product(catalog, name=f"{word} Bag {i}"))[0] for i in range(3)]
    await index(search, *ids)
    first = await search.engine.search(SearchRequest(query=word, first=2, mode=SearchMode.LEXICAL))
    after = SearchRequest(query=word, first=2, mode=SearchMode.LEXICAL).cursor(1)

    second = await search.engine.search(
        SearchRequest(query=word, first=2, after=after, mode=SearchMode.LEXICAL)
    )

    assert first.has_next_page is True and second.has_next_page is False
    assert {h.product_id for h in (*first.hits, *second.hits)} == set(ids)
    with pytest.raises(ClientError):
        await search.engine.search(SearchRequest(query="other", after=after, mode=SearchMode.LEXICAL))


async def test_a_department_word_is_read_as_its_filter(
    catalog: CatalogService, db: Database, namespace: str
) -> None:
    # Given a department Women with a jacket (a top-level category that sorts the same kinds of
    # product as another, Men), and a jacket of another top-level category
    word = a_word()
    women = await a_category(catalog, name="Women")
    jackets = await a_category(catalog, parent=women, name="Jackets")
    await a_category(catalog, parent=await a_category(catalog, name="Men"), name="Jackets")
    hers, _ = await a_product(catalog, name=f"{word} Jacket", category_id=jackets)
    other, _ = await a_product(
        catalog, name=f"{word} Jacket", category_id=await a_category(catalog, name=a_word())
    )
    # A service built as the application builds it (its departments read afresh, not the session's)
    search = SearchService(db, InProcessCatalogClient(catalog), namespace)
    await index(search, hers, other)

    result = await search.engine.search(
        SearchRequest(query=f"women's {word} jacket", mode=SearchMode.LEXICAL)
    )

    # Then "women's" is read as the department Women: a filter that orders the answer
    assert ("department", "women") in result.interpretation.sources
    read_as = result.interpretation.filter.category_id
    named_women = {
        c.id for c in await catalog.queries.categories() if c.parent_id is None and c.name == "Women"
    }
    assert women in named_women and read_as in named_women
    if read_as == women:  # the session's catalog may hold another "Women" (tests/service/catalog)
        assert [h.product_id for h in result.hits][:2] == [hers, other]


async def test_a_top_level_category_the_catalog_gives_no_audience_is_not_a_department(
    catalog: CatalogService, db: Database, namespace: str
) -> None:
    # Given a top-level category (as Luma's "Gear" or "Training") whose subcategories no other
    # top-level category has, and whose name no product's attribute gives
    word, gear = a_word(), a_word()
    bags = await a_category(catalog, parent=await a_category(catalog, name=gear.title()), name=a_word())
    bag, _ = await a_product(catalog, name=f"{word} Bag", category_id=bags)
    search = SearchService(db, InProcessCatalogClient(catalog), namespace)
    await index(search, bag)

    result = await search.engine.search(SearchRequest(query=f"{gear} {word} bag", mode=SearchMode.LEXICAL))

    # Then its name is a word searched for, not a filter (other tests' bags match "bag" too)
    assert result.interpretation.sources == ()
    assert result.interpretation.filter == SearchFilter()
    assert result.hits[0].product_id == bag


async def test_an_attribute_naming_a_top_level_category_makes_it_a_department(
    catalog: CatalogService, db: Database, namespace: str
) -> None:
    # Given a top-level category with no parallel one, whose name a product's attribute gives (the
    # products' names are words of this test's own: the session's catalog holds other tests' caps)
    word, kind, audience = a_word(), a_word(), a_word()
    root = await a_category(catalog, name=audience.title())
    theirs, _ = await a_product(
        catalog, name=f"{word} {kind}", category_id=await a_category(catalog, parent=root, name=a_word())
    )
    elsewhere, _ = await a_product(catalog, name=f"{word} {kind}", attributes={"gender": audience.title()})
    search = SearchService(db, InProcessCatalogClient(catalog), namespace)
    await index(search, theirs, elsewhere)

    result = await search.engine.search(
        SearchRequest(query=f"{audience}s {word} {kind}", mode=SearchMode.LEXICAL)
    )

    assert result.interpretation.sources == (("department", f"{audience}s"),)
    assert result.interpretation.filter.category_id == root
    assert [h.product_id for h in result.hits] == [theirs, elsewhere]


async def test_what_meets_the_filters_read_first_must_hold_a_word_no_filter_came_from(
    catalog: CatalogService, db: Database, namespace: str
) -> None:
    # Given a colour only a tee has, and a shell of another colour
    colour, kind = a_word(), a_word()
    tee, shell = [
        await catalog.handle(
            CreateProduct(
                slug=ref("p"),
                name=name,
                published=True,
                variants=[NewVariant(sku=ref("SKU"), price=Money(2500, "USD"), attributes={"color": value})],
            )
        )
        for name, value in (("Plain Tee", colour.title()), (f"{kind.title()} Shell", a_word().title()))
    ]
    search = SearchService(db, InProcessCatalogClient(catalog), namespace)
    await index(search, tee, shell)

    result = await search.engine.search(SearchRequest(query=f"{colour} {kind}", mode=SearchMode.LEXICAL))

    # Then the colour is read as a filter; the tee meets it but is no `kind`: the shell, which is one
    # in another colour, comes before it (the tee is still found, by its colour word)
    assert result.interpretation.sources == (("color", colour),)
    assert [h.product_id for h in result.hits] == [shell, tee]


async def test_the_lexical_ranking_tells_which_products_name_every_word(
    catalog: CatalogService, search: SearchService
) -> None:
    fabric, kind = a_word(), a_word()
    named, _ = await a_product(catalog, name=f"{fabric.title()} {kind.title()}")
    by_attribute, _ = await a_product(catalog, name=kind.title(), attributes={"material": fabric.title()})
    mentioned, _ = await a_product(
        catalog, name=f"{kind.title()} Hoodie", description=f"Lined with {fabric}, for cold days."
    )
    await index(search, named, by_attribute, mentioned)

    async with search.db.connect() as conn:
        resolution = await resolve(conn, [fabric, kind])
        ranked = await lexical.rank(conn, resolution.terms, resolution.documents, SearchFilter(), 10)

    assert {h.product_id for h in ranked.hits} == {named, by_attribute, mentioned}
    assert ranked.complete == {named, by_attribute}


async def test_documents_missing_a_word_are_ranked_only_when_too_few_hold_every_word(
    catalog: CatalogService, search: SearchService
) -> None:
    # Given two products holding both words and one holding the first only
    a, b = a_word(), a_word()
    tee, _ = await a_product(catalog, name=f"{a.title()} {b.title()} Tee")
    cap, _ = await a_product(catalog, name=f"{a.title()} {b.title()} Cap")
    bag, _ = await a_product(catalog, name=f"{a.title()} Bag")
    await index(search, tee, cap, bag)

    # When rankings of two and of three are asked for
    async with search.db.connect() as conn:
        resolution = await resolve(conn, [a, b])
        two = await lexical.rank(conn, resolution.terms, resolution.documents, SearchFilter(), 2)
        three = await lexical.rank(conn, resolution.terms, resolution.documents, SearchFilter(), 3)

    # Then two hold both words, so the product missing one is not scored; three need it
    assert {h.product_id for h in two.hits} == {tee, cap}
    assert {h.product_id for h in three.hits[:2]} == {tee, cap}
    assert three.hits[2].product_id == bag


async def test_facets_count_categories_prices_variant_values_and_stock_in_one_statement(
    catalog: CatalogService, search: SearchService, db: Database
) -> None:
    # Given three products of one word: two in a category, at three price ranges, one in stock
    word = a_word()
    category = await a_category(catalog)
    tee, tee_skus = await a_product(catalog, name=f"{word} Tee", prices=(1500, 1700), category_id=category)
    shell, _ = await a_product(catalog, name=f"{word} Shell", prices=(6000,), category_id=category)
    cap, _ = await a_product(catalog, name=f"{word} Cap", prices=(25000,))
    await index(search, tee, shell, cap)
    async with search.uow() as uow:
        await uow.index.record_availability(tee_skus[0], 3, 1)
        await uow.commit()

    # When the search asks for facets
    request = SearchRequest(query=word, mode=SearchMode.LEXICAL, interpret=False, facets=True)
    with db.count_statements() as counter:
        result = await search.engine.search(request)

    # Then every count comes back, from the spelling lookup, the ranking and one facet statement
    assert result.facets == Facets(
        categories=((category, 2),),
        prices=(PriceRange(0, 2500, 1), PriceRange(5000, 10000, 1), PriceRange(20000, None, 1)),
        attributes=(("size", (("S", 3), ("M", 1))),),
        in_stock=1,
        counted=3,
    )
    assert counter.count == 3
