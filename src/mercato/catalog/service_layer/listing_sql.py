"""The storefront listing's statement: one SELECT, read along the sort's index.

A page is the first `first + 1` published products in the sort's order (`(sort value, id)`, after the
cursor), read along the sort's index (`products_name_idx`, `products_price_idx`,
`products_created_idx`). What that walk costs depends on the filters:

- **Index ranges** (no filter; a price band sorted by price): the walk reads the page's rows and no
  others. A band is a range of the cheapest price (`min_price_amount`), plus the products that
  *straddle* its low end (cheapest variant below it, dearest at or above it), found through
  `products_price_span_idx` (GiST over `[cheapest, dearest]`, migration catalog_0003); the two ordered
  parts are merged. Before, the walk tested every product cheaper than `priceMin` against its variants
  (26k products, 0.6-1.6 s at 100k).
- **A search**: PostgreSQL assumes the matches are spread evenly along the sort and walks the index
  until it has a page; when they are not ("jacket" by price ascending: jackets are dear, 64k products
  tested for one page at 100k) the walk grows with the catalog. So the walk is bounded: at most
  `window` products along the sort are tested (lazily: it stops at the page's last match); if they
  hold a page, or are all that is left, that is the page. Otherwise the matches are found first
  through the search's GIN index (a `MATERIALIZED` CTE without ORDER BY, evaluated only in that case)
  and only they are sorted: a page costs at most the window plus the word's matches.
- **A category sorted by price** is bounded the same way (a window `CATEGORY_WINDOW_FACTOR` times a
  search's), its matches found through `products_category_idx`: a category at one end of the price
  range (jackets by price ascending) walked most of the catalog for a page (63k products at 100k).
- **Other filters** (a category under another sort, stock, attributes, a band under another sort)
  are tested by the walk, or served by their own index, as the planner sees fit.

Results are exactly what `WHERE <all conditions> ORDER BY sort, id LIMIT first + 1` gives
(tests/service/catalog/test_listing_shapes.py checks every shape against that).

The statement is built and compiled once per `ListingShape` (what its text depends on: sort, which
filters, a cursor or not), with every value a named parameter (`listing_parameters`): building it with
SQLAlchemy for every request and finding its compiled form was ~20% of an uncached listing's CPU.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    BindParameter,
    CompoundSelect,
    Integer,
    Select,
    String,
    Text,
    and_,
    bindparam,
    exists,
    func,
    literal_column,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql import ColumnElement

from mercato.catalog.adapters.tables import categories, products, sku_availability, variants
from mercato.catalog.service_layer.listing import Cursor, ListingRequest, ProductSort

# A search walks at most this many products along the sort before finding its matches first (and more
# for a long page). Matches spread over at least 1 product in 200 fill a page of 24 from the window;
# a common word bunched at the far end ("short" by price descending) costs the window and a scan.
WINDOW_PER_ROW = 40
WINDOW_MIN = 5_000

SORT_COLUMNS: dict[ProductSort, ColumnElement[Any]] = {
    ProductSort.NAME: products.c.name,
    ProductSort.PRICE: products.c.min_price_amount,
    ProductSort.CREATED_AT: products.c.created_at,
}
# The expression of `products_price_span_idx` exactly as the migration wrote it (the bound flags a
# literal, not a parameter, or a generic plan would not match the index).
_SPAN = func.int8range(products.c.min_price_amount, products.c.max_price_amount, literal_column("'[]'"))

# A category page sorted by price walks a window too (this many times a search's): a category can
# sit at one end of the price range (jackets are dear), and the page of its first products by price
# was a walk of most of the catalog (63k products at 100k). Twice a search's window: a root category
# spread over the range fills a page from it, where its matches would be thousands to sort. Under
# the other sorts a category is spread evenly: the plain walk.
CATEGORY_WINDOW_FACTOR = 2

# The statement's parameters (`listing_parameters` gives their values). Constants are literals: a
# parameter is a value that changes between requests of one shape.
_LIMIT = bindparam("limit", type_=Integer)
_WINDOW = bindparam("window", type_=Integer)
_CATEGORY = bindparam("category_id", type_=categories.c.id.type)
_SEARCH = bindparam("search", type_=String)
_LOW = bindparam("price_low", type_=BigInteger)
_HIGH = bindparam("price_high", type_=BigInteger)
_AFTER_ID = bindparam("after_id", type_=products.c.id.type)


def _attribute_name(i: int) -> BindParameter[str]:
    return bindparam(f"attribute_{i}", type_=Text)


def _attribute_values(i: int) -> BindParameter[Any]:
    return bindparam(f"attribute_values_{i}", type_=ARRAY(Text))


class ListingShape(NamedTuple):
    """What the listing statement's text depends on; the rest are its parameters' values."""

    sort: ProductSort
    descending: bool
    after: bool  # a cursor
    category: bool
    search: bool
    price_low: bool  # a lower bound above 0 (0 is none: prices are never negative)
    price_high: bool
    in_stock: bool | None
    attributes: int  # attribute filters

    @classmethod
    def of(cls, request: ListingRequest, cursor: Cursor | None) -> ListingShape:
        f = request.filter
        return cls(
            request.sort,
            request.descending,
            cursor is not None,
            f.category_id is not None,
            bool(f.search),
            bool(f.price_min),
            f.price_max is not None,
            f.in_stock,
            len(f.attributes),
        )


def listing_parameters(request: ListingRequest, cursor: Cursor | None) -> dict[str, Any]:
    """The values of the statement of `ListingShape.of(request, cursor)`, by parameter name."""
    f = request.filter
    limit = request.first + 1
    window = max(WINDOW_MIN, WINDOW_PER_ROW * limit)
    if f.category_id is not None and not f.search and request.sort is ProductSort.PRICE:
        window *= CATEGORY_WINDOW_FACTOR
    params: dict[str, Any] = {
        "limit": limit,
        "window": window,
        "category_id": f.category_id,
        "search": f.search,
        "price_low": f.price_min,
        "price_high": f.price_max,
    }
    if cursor is not None:
        params["after_value"] = cursor.value
        params["after_id"] = cursor.product_id
    for i, (name, values) in enumerate(f.attributes):
        params[f"attribute_{i}"] = name
        params[f"attribute_values_{i}"] = list(values)
    return params


def listing_statement(shape: ListingShape, columns: Sequence[ColumnElement[Any]]) -> Select[Any]:
    """`columns` of the page's products (and the one after it), in the sort's order: `limit` of them."""
    band = _PriceBand(shape.price_low, shape.price_high)
    by_price = shape.sort is ProductSort.PRICE
    filters = _filter_conditions(shape)
    # What the walk's window tests for: a search, else a category (see the module). A category with
    # a search is one more filter of the walk.
    sought: ColumnElement[bool] | None = None
    matching: ColumnElement[bool] | None = None  # the same, as the matches' own statement tests it
    if shape.search:
        # The text search configuration is the same for every search: a literal.
        sought = matching = products.c.search.op("@@")(
            func.websearch_to_tsquery(literal_column("'simple'"), _SEARCH)
        )
        if shape.category:
            filters.append(_in_category())
    elif shape.category and by_price:
        sought = _in_category()
        # The subtree's ids as one array (an InitPlan), not a subquery: so the planner reads the
        # matches through `products_category_idx`, where for `IN (subquery)` it scanned every product.
        subtree = func.array(_subtree().scalar_subquery())
        matching = products.c.category_id == func.any(subtree)
    elif shape.category:
        filters.append(_in_category())
    if band.condition is not None and not by_price:
        filters.append(band.condition)
    walk = _Walk(SORT_COLUMNS[shape.sort], shape.descending, shape.after, tuple(filters))
    ranges = band.branches() if by_price else [[]]
    if sought is None and len(ranges) == 1:
        return select(*columns).where(*walk.base, *ranges[0]).order_by(*walk.order).limit(_LIMIT)
    if sought is None or matching is None:
        page = walk.along(ranges, _LIMIT).subquery("page")
    else:
        # The matches' own statement tests the band too when the walk served it as ranges.
        every: list[ColumnElement[bool]] = [matching]
        if by_price and band.condition is not None:
            every.append(band.condition)
        page = _windowed(walk, ranges, sought, every).subquery("page")
    return select(*columns).where(products.c.id.in_(select(page.c.id))).order_by(*walk.order)


def _windowed(
    walk: _Walk,
    ranges: list[list[ColumnElement[bool]]],
    search: ColumnElement[bool],
    every: list[ColumnElement[bool]],
) -> CompoundSelect[Any]:
    """(id, k) of the first `limit` products in order that match `search`: from a window of the walk
    (`window` products) when it holds them, else from all the matches of `every` condition, sorted."""
    limit, window = _LIMIT, _WINDOW
    walked = walk.along(ranges, window, search.label("hit")).subquery("walked")
    # Read lazily: the walk stops at the page's last match, or at the window's end.
    hits = (
        select(walked.c.id, walked.c.k)
        .where(walked.c.hit)
        .order_by(*walk.ordered(walked.c.k, walked.c.id))
        .limit(limit)
        .cte("hits")
        .prefix_with("MATERIALIZED")
    )
    # The window answers when it holds a page, or is all that is left of the walk (counted again, and
    # only then: PostgreSQL evaluates the second operand of the OR only when the first is false). A
    # value of constants only: each branch below is gated on it (One-Time Filter), so the branch not
    # taken never runs, and neither does the matches' CTE.
    window_rows = select(func.count()).select_from(walk.along(ranges, window).subquery("again"))
    decided = select(
        or_(
            select(func.count()).select_from(hits).scalar_subquery() >= limit,
            window_rows.scalar_subquery() < window,
        ).label("settled")
    ).cte("decided")
    settled = select(decided.c.settled).scalar_subquery()
    from_window = select(hits.c.id, hits.c.k).where(settled)
    # MATERIALIZED: inlined, the matches would be walked along the sort's index again; as a CTE
    # without ORDER BY they are found through their own index (the search's GIN index).
    matches = (
        select(products.c.id, walk.sort_column.label("k"))
        .where(*walk.base, *every)
        .cte("matches")
        .prefix_with("MATERIALIZED")
    )
    from_matches = (
        select(matches.c.id, matches.c.k)
        .where(~settled)
        .order_by(*walk.ordered(matches.c.k, matches.c.id))
        .limit(limit)
    )
    return union_all(from_window, from_matches)


@dataclass(frozen=True)
class _Walk:
    """The sort's index walk: its order, the conditions it serves as index ranges, and the filters it
    tests on the way (as the planner sees fit)."""

    sort_column: ColumnElement[Any]
    descending: bool
    after: bool  # a cursor: the products after (`after_value`, `after_id`) in the sort's order
    filters: tuple[ColumnElement[bool], ...]

    @property
    def order(self) -> tuple[ColumnElement[Any], ...]:
        return self.ordered(self.sort_column, products.c.id)

    def ordered(self, key: ColumnElement[Any], id_: ColumnElement[Any]) -> tuple[ColumnElement[Any], ...]:
        return (key.desc(), id_.desc()) if self.descending else (key, id_)

    @property
    def base(self) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = [products.c.published, *self.filters]
        if self.after:
            keyset = tuple_(self.sort_column, products.c.id)
            after = tuple_(bindparam("after_value", type_=self.sort_column.type), _AFTER_ID)
            conditions.append(keyset < after if self.descending else keyset > after)
        return conditions

    def along(
        self,
        ranges: list[list[ColumnElement[bool]]],
        limit: BindParameter[int],
        *extra: ColumnElement[Any],
    ) -> Select[Any]:
        """(id, k = sort value, *extra) of the first `limit` products in order, each part of `ranges`
        read in order along its index and the parts merged."""
        parts = [
            select(products.c.id, self.sort_column.label("k"), *extra)
            .where(*self.base, *conditions)
            .order_by(*self.order)
            .limit(limit)
            for conditions in ranges
        ]
        if len(parts) == 1:
            return parts[0]
        merged = union_all(*parts).subquery("parts")
        return select(merged).order_by(*self.ordered(merged.c.k, merged.c.id)).limit(limit)


@dataclass(frozen=True)
class _PriceBand:
    """`priceMin`/`priceMax`: a product is in the band when one of its variants' prices is."""

    low: bool  # a lower bound (`price_low`; 0 is none: prices are never negative)
    high: bool  # an upper bound (`price_high`)

    def _within(self) -> list[ColumnElement[bool]]:
        """Cheapest variant inside the band: in it (a range of the price index)."""
        conditions: list[ColumnElement[bool]] = []
        if self.low:
            conditions.append(products.c.min_price_amount >= _LOW)
        else:
            # A product without variants has a cheapest price of 0 and no currency, and no variant in
            # any band. (With a low end above 0 its cheapest price of 0 already leaves it out.)
            conditions.append(products.c.currency.is_not(None))
        if self.high:
            conditions.append(products.c.min_price_amount <= _HIGH)
        return conditions

    def _straddling(self) -> list[ColumnElement[bool]]:
        """Cheapest variant below the band, dearest at or above its low end (the span index): in it
        when the dearest is inside, or when some variant between them is."""
        assert self.low
        conditions = [_SPAN.op("@>")(_LOW), products.c.min_price_amount < _LOW]
        if self.high:
            between = exists().where(
                variants.c.product_id == products.c.id,
                # As for attributes below: tested per product, not hashed over every variant in the band.
                products.c.published,
                variants.c.price_amount >= _LOW,
                variants.c.price_amount <= _HIGH,
            )
            conditions.append(or_(products.c.max_price_amount <= _HIGH, between))
        return conditions

    def branches(self) -> list[list[ColumnElement[bool]]]:
        """The band as ranges along the price index: the products inside, then those straddling it
        (all of which are cheaper: in ascending order they come first, in descending last)."""
        if not self.low:
            return [self._within() if self.high else []]
        return [self._within(), self._straddling()]

    @property
    def condition(self) -> ColumnElement[bool] | None:
        if not self.low and not self.high:
            return None
        if not self.low:
            return and_(*self._within())
        return or_(and_(*self._within()), and_(*self._straddling()))


def _subtree() -> Select[Any]:
    """The ids of the category's subtree (`category_id`)."""
    subtree_path = select(categories.c.path).where(categories.c.id == _CATEGORY).scalar_subquery()
    return select(categories.c.id).where(categories.c.path.startswith(subtree_path, autoescape=False))


def _in_category() -> ColumnElement[bool]:
    return products.c.category_id.in_(_subtree())


def _filter_conditions(shape: ListingShape) -> list[ColumnElement[bool]]:
    """Every filter but the search, the category and the price band, each a condition on a product
    row."""
    conditions: list[ColumnElement[bool]] = []
    if shape.in_stock is not None:
        sellable = exists().where(
            variants.c.product_id == products.c.id,
            # As for attributes below: tested per product of a window, not hashed over every variant.
            products.c.published,
            sku_availability.c.sku == variants.c.sku,
            sku_availability.c.available > literal_column("0"),
        )
        conditions.append(sellable if shape.in_stock else ~sellable)
    for i in range(shape.attributes):
        name, values = _attribute_name(i), _attribute_values(i)
        on_product = products.c.attributes[name].op("?|")(values)
        on_variant = exists().where(
            variants.c.product_id == products.c.id,
            # Always true here (a listing shows published products only), but a condition on the
            # outer row that is not an equality keeps PostgreSQL from turning this EXISTS, inside the
            # OR, into a hashed subquery over every variant matching the value (a sequential scan
            # of `variants`, or of a third of it through an index for a common size): each product
            # tested is checked through `variants_product_idx` instead
            # (tests/integration/test_listing_plans.py).
            products.c.published,
            # `= ANY(array)`, not `IN (...)`: one statement whatever the number of values.
            variants.c.attributes[name].astext == func.any(values),
        )
        conditions.append(or_(on_product, on_variant))
    return conditions
