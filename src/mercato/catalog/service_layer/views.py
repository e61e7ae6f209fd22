"""Read-side shapes of the catalog: what queries return and the cache stores."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, TypeVar

import orjson


@dataclass(frozen=True, slots=True)
class VariantView:
    id: uuid.UUID
    product_id: uuid.UUID
    sku: str
    attributes: dict[str, Any]
    price_amount: int
    currency: str


@dataclass(frozen=True, slots=True)
class SkuPrice:
    """What pricing a cart line needs of one SKU, read in one join: its variant's price, and its
    product's name when the product is for sale (None: the product is not published)."""

    sku: str
    variant_id: uuid.UUID
    product_id: uuid.UUID
    price_amount: int
    currency: str
    product_name: str | None


@dataclass(frozen=True, slots=True)
class ProductView:
    id: uuid.UUID
    slug: str
    name: str
    description: str
    category_id: uuid.UUID | None
    attributes: dict[str, Any]
    media: list[str]
    published: bool
    min_price_amount: int
    currency: str | None
    created_at: datetime
    updated_at: datetime
    variants: tuple[VariantView, ...]


@dataclass(frozen=True, slots=True)
class CategoryView:
    id: uuid.UUID
    slug: str
    name: str
    parent_id: uuid.UUID | None
    position: int


@dataclass(frozen=True, slots=True)
class ProductPage:
    items: tuple[ProductView, ...]
    has_next_page: bool
    # Units available per SKU of the page's variants, when the listing was asked for them (from the
    # catalog's availability read model; never cached with the page). None: not asked.
    available: dict[str, int] | None = None
    # The categories of the page's products, each once, read with the page (in the products'
    # statement). None: not read with it (a page from the catalog's gRPC service): ask `categories()`.
    # What saves the caller a load, not what the page is: left out of equality.
    categories: tuple[CategoryView, ...] | None = field(default=None, compare=False)


def _variant(raw: dict[str, Any]) -> VariantView:
    return VariantView(
        id=uuid.UUID(raw["id"]),
        product_id=uuid.UUID(raw["product_id"]),
        sku=raw["sku"],
        attributes=raw["attributes"],
        price_amount=raw["price_amount"],
        currency=raw["currency"],
    )


def _product(raw: dict[str, Any]) -> ProductView:
    return ProductView(
        id=uuid.UUID(raw["id"]),
        slug=raw["slug"],
        name=raw["name"],
        description=raw["description"],
        category_id=uuid.UUID(raw["category_id"]) if raw["category_id"] else None,
        attributes=raw["attributes"],
        media=raw["media"],
        published=raw["published"],
        min_price_amount=raw["min_price_amount"],
        currency=raw["currency"],
        created_at=datetime.fromisoformat(raw["created_at"]),
        updated_at=datetime.fromisoformat(raw["updated_at"]),
        variants=tuple(_variant(v) for v in raw["variants"]),
    )


V = TypeVar("V")


def by_position(cls: type[V], *, trailing: int = 0, json: Collection[str] = ()) -> Callable[..., V]:
    """A constructor of the frozen view `cls` from its fields' values in order, for the rows of a
    listing (~300 variants a page): it fills the slots through their descriptors, where a frozen
    dataclass's `__init__` calls `object.__setattr__` by name for each field (about twice the time).
    The view is the same: equal, hashed and frozen as `cls(...)` makes it. `trailing`: that many more
    values after the fields', ignored (a row's other columns). `json`: fields given as JSON text,
    parsed here (a jsonb column read as text: SQLAlchemy's jsonb codec, a Python function asyncpg calls
    per value, was ~6% of an uncached listing; asyncpg decodes text in C and `orjson.loads` is called
    from this function's own code)."""
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    if unknown := set(json) - set(names):
        raise ValueError(f"not fields of {cls.__name__}: {sorted(unknown)}")
    scope: dict[str, Any] = {"new": object.__new__, "cls": cls, "loads": orjson.loads}
    scope.update((f"set{i}", getattr(cls, name).__set__) for i, name in enumerate(names))
    args = ", ".join(f"v{i}" for i in range(len(names) + trailing))
    body = "".join(
        f"    set{i}(view, loads(v{i}))\n" if name in json else f"    set{i}(view, v{i})\n"
        for i, name in enumerate(names)
    )
    exec(f"def make({args}):\n    view = new(cls)\n{body}    return view\n", scope)  # noqa: S102
    make: Callable[..., V] = scope["make"]
    return make


def encode(value: object) -> bytes:
    # asyncpg hands back its own UUID subclass, which orjson does not serialise natively.
    return orjson.dumps(value, default=str)


def decode_page(data: bytes) -> ProductPage:
    raw = orjson.loads(data)
    categories = raw.get("categories")  # absent from pages cached before it was read with them
    return ProductPage(
        items=tuple(_product(p) for p in raw["items"]),
        has_next_page=raw["has_next_page"],
        categories=tuple(_category(c) for c in categories) if categories is not None else None,
    )


def decode_product(data: bytes) -> ProductView | None:
    raw = orjson.loads(data)
    return _product(raw) if raw is not None else None


def _category(raw: dict[str, Any]) -> CategoryView:
    return CategoryView(
        id=uuid.UUID(raw["id"]),
        slug=raw["slug"],
        name=raw["name"],
        parent_id=uuid.UUID(raw["parent_id"]) if raw["parent_id"] else None,
        position=raw["position"],
    )


def decode_categories(data: bytes) -> list[CategoryView]:
    return [_category(c) for c in orjson.loads(data)]
