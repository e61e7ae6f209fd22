"""Recommendations on real PostgreSQL: co-purchases counted from order confirmations (through the
inbox, as the consumer runs them), the minimum support, the fall back to similar products, and
similar products by shared words (this server has no pgvector; by embeddings: test_semantic.py).

The index is shared by the whole session: every product here is named with words only it uses."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import text

from mercato.catalog.bootstrap import CatalogService
from mercato.orders.domain.events import OrderConfirmed
from mercato.platform.business_metrics import BUSINESS
from mercato.platform.db import Database
from mercato.platform.events import Envelope
from mercato.platform.inbox import EventConsumer
from mercato.platform.messaging import Broker
from mercato.search import BoughtTogether, SimilarProducts
from mercato.search.bootstrap import SearchService
from tests.service.catalog.builders import a_category, a_product
from tests.service.search.test_search import a_word, index


@dataclass
class Delivered:
    """A JetStream message as the consumer sees it: its body, and whether it was acknowledged."""

    data: bytes
    subject: str = "orders.order_confirmed"
    metadata: SimpleNamespace = field(default_factory=lambda: SimpleNamespace(num_delivered=1))
    headers: dict[str, str] | None = None
    acked: int = 0

    async def ack(self) -> None:
        self.acked += 1

    async def nak(self, delay: float | None = None) -> None:
        raise AssertionError("a confirmation failed to count")

    async def in_progress(self) -> None:
        pass


def confirmation(*skus: str) -> Envelope:
    order = uuid.uuid4()
    return Envelope.of(
        OrderConfirmed(
            aggregate_id=str(order),
            order_id=str(order),
            customer_id=str(uuid.uuid4()),
            lines=[{"sku": sku, "quantity": 1} for sku in skus],
        )
    )


def orders_consumer(search: SearchService, db: Database, broker: Broker) -> EventConsumer:
    (orders,) = [s for s in search.subscriptions() if s.source_context == "orders"]
    return EventConsumer(db, broker, search.schema, orders, search.uow)


async def deliver(consumer: EventConsumer, *envelopes: Envelope) -> None:
    await consumer.handle(*(cast(Any, Delivered(e.to_json())) for e in envelopes))


def lags_observed() -> float:
    labels = {"type": "orders.order_confirmed"}
    return BUSINESS.get_sample_value("mercato_search_index_lag_seconds_count", labels) or 0.0


async def together(db: Database, a: uuid.UUID, b: uuid.UUID) -> list[int]:
    async with db.connect() as conn:
        found = await conn.execute(
            text("""SELECT orders FROM search.co_purchases
                    WHERE (product_id, other_id) IN ((:a, :b), (:b, :a)) ORDER BY product_id = :a DESC"""),
            {"a": a, "b": b},
        )
        return [r.orders for r in found]


async def named(
    catalog: CatalogService, word: str | None = None, category: uuid.UUID | None = None
) -> tuple[uuid.UUID, list[str]]:
    """A product named `word` and a word of its own, in `category` (else a category of its own)."""
    category = category or await a_category(catalog, name=a_word())
    return await a_product(catalog, name=f"{word or a_word()} {a_word()}", category_id=category)


Pair = tuple[uuid.UUID, list[str], uuid.UUID, list[str]]


async def unrelated_pair(catalog: CatalogService, search: SearchService) -> Pair:
    """Two indexed products sharing no category and no word: neither is similar to the other."""
    tent, tent_skus = await named(catalog)
    lamp, lamp_skus = await named(catalog)
    await index(search, tent, lamp)
    return tent, tent_skus, lamp, lamp_skus


async def test_a_redelivered_confirmation_counts_once(
    catalog: CatalogService, search: SearchService, db: Database, broker: Broker
) -> None:
    # Given two indexed products, and an order that bought both (one SKU twice)
    tent, tent_skus, lamp, lamp_skus = await unrelated_pair(catalog, search)
    confirmed = confirmation(tent_skus[0], lamp_skus[0], tent_skus[0])
    consumer = orders_consumer(search, db, broker)
    lags_before = lags_observed()
    # When the confirmation is delivered, again alone, then twice in one batch
    await deliver(consumer, confirmed)
    await deliver(consumer, confirmed)
    await deliver(consumer, confirmed, confirmed)
    # Then the pair counts one order, both ways, and the index lag was observed once
    assert await together(db, tent, lamp) == [1, 1]
    assert lags_observed() == lags_before + 1


async def test_a_pair_is_shown_from_the_minimum_support_on(
    catalog: CatalogService, search: SearchService, db: Database, broker: Broker
) -> None:
    tent, tent_skus, lamp, lamp_skus = await unrelated_pair(catalog, search)
    consumer = orders_consumer(search, db, broker)
    ask = BoughtTogether((tent, lamp), first=3)

    await deliver(consumer, confirmation(tent_skus[0], lamp_skus[0]))
    # One order (under the default support of 2): not shown; similar products fill the list, and
    # the lamp is not among them (no category, no word in common)
    once = await search.handle(ask)
    assert lamp not in once[tent] and tent not in once[lamp]
    # A shop asking for less support shows it already
    eager = SearchService(db, search.catalog, "unused", min_support=1)
    assert (await eager.handle(ask))[tent][0] == lamp

    await deliver(consumer, confirmation(lamp_skus[0], tent_skus[0]))
    # Two orders: shown first, both ways
    twice = await search.handle(ask)
    assert (twice[tent][0], twice[lamp][0]) == (lamp, tent)
    assert await together(db, tent, lamp) == [2, 2]


async def test_without_support_bought_together_is_the_similar_list(
    catalog: CatalogService, search: SearchService
) -> None:
    word = a_word()
    category = await a_category(catalog, name=a_word())
    products = [(await named(catalog, word, category))[0] for _ in range(3)]
    await index(search, *products)

    bought = await search.handle(BoughtTogether(tuple(products), first=2))
    similar = await search.handle(SimilarProducts(tuple(products), first=2))

    assert bought == similar
    assert {p: set(bought[p]) for p in products} == {p: set(products) - {p} for p in products}


async def test_similar_prefers_what_is_in_stock_and_never_names_the_product_itself(
    catalog: CatalogService, search: SearchService
) -> None:
    # Given a product, a close one out of stock (same category and name word) and a less close one in
    # stock (same category only), and one sharing nothing
    word = a_word()
    category = await a_category(catalog, name=a_word())
    shell, _ = await named(catalog, word, category)
    twin, _ = await named(catalog, word, category)
    cousin, cousin_skus = await named(catalog, category=category)
    stranger, _ = await named(catalog)
    await index(search, shell, twin, cousin, stranger)
    async with search.uow() as uow:
        await uow.index.record_availability(cousin_skus[0], 4, 1)
        await uow.commit()
    # When similar products are asked for it (first = 1: its best 3 may be reordered by stock)
    found = await search.handle(SimilarProducts((shell,), first=1))
    found_all = await search.handle(SimilarProducts((shell,), first=8))
    # Then the one in stock comes first; the closer one next; nothing unrelated, never itself
    assert found == {shell: (cousin,)}
    assert found_all == {shell: (cousin, twin)}


async def test_recommendations_for_many_products_cost_the_statements_of_one(
    catalog: CatalogService, search: SearchService, db: Database
) -> None:
    word = a_word()
    category = await a_category(catalog, name=a_word())
    products = [(await named(catalog, word, category))[0] for _ in range(5)]
    await index(search, *products)

    counts = []
    for asked in (products[:1], products):
        with db.count_statements() as counter:
            await search.handle(BoughtTogether(tuple(asked), first=4))
            await search.handle(SimilarProducts(tuple(asked), first=4))
        counts.append(counter.count)

    # bought together: the pairs, then the similar fill (the documents' words, the candidates);
    # similar: the documents' words, the candidates (semantic.ready asks once per process)
    assert counts[0] == counts[1]
