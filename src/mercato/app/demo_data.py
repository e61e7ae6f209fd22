"""Mercato's own demo catalog, generated from word lists (no external data), plus the plan shapes.

A `SeedPlan` is what `mercato seed` writes: warehouses, a category tree and products with their
variants and stock. This module builds one from code; `luma.py` builds one from a file; `seed.py`
applies either. Generation is pure and deterministic: product `i` depends only on `(seed, i)` and on
the products before it (for unique names), so the first 60 products of a 100-product plan are the
60 products of a 60-product plan, and growing `--products` later only adds new ones.
"""

from __future__ import annotations

import random
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from mercato.platform.types import Money

DEFAULT_SEED = 20_240_601
MEDIA_BASE = "https://cdn.example.com/mercato/demo"
CURRENCY = "USD"
SIZES = ("XS", "S", "M", "L", "XL")
COLORS = (
    "Black",
    "Navy",
    "Charcoal",
    "Olive",
    "Rust",
    "Sand",
    "White",
    "Teal",
    "Plum",
    "Slate",
    "Sage",
    "Ochre",
)


@dataclass(frozen=True)
class WarehouseSpec:
    code: str
    name: str


@dataclass(frozen=True)
class CategorySpec:
    slug: str
    name: str
    parent_slug: str | None
    position: int


@dataclass(frozen=True)
class VariantSpec:
    sku: str
    price: Money
    attributes: dict[str, Any] = field(default_factory=dict)
    stock: tuple[tuple[str, int], ...] = ()  # (warehouse code, units on hand)


@dataclass(frozen=True)
class ProductSpec:
    slug: str
    name: str
    description: str
    category_slug: str | None
    attributes: dict[str, Any]
    media: tuple[str, ...]
    published: bool
    variants: tuple[VariantSpec, ...]


@dataclass(frozen=True)
class Skipped:
    """Something the seed did not create, and why (one short phrase, grouped in summaries)."""

    ref: str  # the product's slug; the SKU for file entries that never became a product
    reason: str


@dataclass(frozen=True)
class SeedPlan:
    warehouses: tuple[WarehouseSpec, ...]
    categories: tuple[CategorySpec, ...]  # parents before children
    products: tuple[ProductSpec, ...]
    skipped: tuple[Skipped, ...] = ()


def slugify(text: str) -> str:
    """ASCII, lowercase words joined by hyphens (the catalog's slug rule); marks like ™ vanish."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def unique(candidate: str, taken: set[str], sep: str = "-") -> str:
    """`candidate`, or `candidate<sep>2`, `<sep>3`, ... whichever is free; records the result."""
    result, n = candidate, 1
    while result in taken:
        n += 1
        result = f"{candidate}{sep}{n}"
    taken.add(result)
    return result


WAREHOUSES = (WarehouseSpec("main", "Main warehouse"), WarehouseSpec("east", "East depot"))


@dataclass(frozen=True)
class _Kind:
    """One leaf category's kind of product: what it is called and what it costs."""

    label: str  # the leaf category's name
    nouns: tuple[tuple[str, str], ...]  # (name word, SKU code)
    fabrics: tuple[tuple[str, str], ...]  # (name word, material)
    price: tuple[int, int]  # dollars, inclusive; prices end in .99
    styles: tuple[str, ...]
    activities: tuple[str, ...]


_TEES = _Kind(
    "Tees",
    (("Crew", "CRW"), ("Tee", "TEE"), ("V-Neck", "VNK"), ("Henley", "HNL"), ("Long-Sleeve", "LSL")),
    (
        ("Merino", "Merino Wool"),
        ("Organic", "Organic Cotton"),
        ("Tech", "Recycled Polyester"),
        ("Bamboo", "Bamboo Viscose"),
    ),
    (20, 49),
    ("Classic", "Relaxed", "Slim"),
    ("Running", "Hiking", "Everyday", "Yoga", "Travel"),
)
_HOODIES = _Kind(
    "Hoodies & Sweaters",
    (("Hoodie", "HOD"), ("Quarter-Zip", "QZP"), ("Pullover", "PLV"), ("Crewneck Sweater", "SWT")),
    (
        ("Fleece", "Polyester Fleece"),
        ("Merino", "Merino Wool"),
        ("Terry", "French Terry"),
        ("Grid", "Grid Fleece"),
    ),
    (49, 119),
    ("Full Zip", "Pullover", "Relaxed"),
    ("Hiking", "Everyday", "Climbing", "Travel"),
)
_JACKETS = _Kind(
    "Jackets",
    (
        ("Shell", "SHL"),
        ("Puffer", "PUF"),
        ("Windbreaker", "WND"),
        ("Rain Jacket", "RNJ"),
        ("Softshell", "SFS"),
    ),
    (
        ("Ripstop", "Ripstop Nylon"),
        ("Down", "Goose Down"),
        ("Storm", "3-Layer Nylon"),
        ("Thermal", "Synthetic Insulation"),
    ),
    (89, 249),
    ("Hooded", "Packable", "Insulated", "Lightweight"),
    ("Hiking", "Skiing", "Climbing", "Commuting", "Trail Running"),
)
_PANTS = _Kind(
    "Pants",
    (("Jogger", "JOG"), ("Trail Pant", "TRP"), ("Legging", "LEG"), ("Chino", "CHN")),
    (
        ("Stretch", "Nylon-Spandex"),
        ("Canvas", "Cotton Canvas"),
        ("Tech", "Recycled Polyester"),
        ("Organic", "Organic Cotton"),
    ),
    (39, 99),
    ("Tapered", "Straight", "Relaxed"),
    ("Hiking", "Yoga", "Climbing", "Everyday"),
)
_SHORTS = _Kind(
    "Shorts",
    (("Run Short", "RSH"), ("Trail Short", "TSH"), ("Board Short", "BSH")),
    (("Stretch", "Nylon-Spandex"), ("Ripstop", "Ripstop Nylon"), ("Recycled", "Recycled Polyester")),
    (25, 59),
    ("5-inch", "7-inch", "Lined"),
    ("Running", "Swimming", "Hiking", "Gym"),
)
_GEAR: dict[str, _Kind] = {
    "gear-bags": _Kind(
        "Bags & Packs",
        (("Daypack", "DPK"), ("Duffel", "DUF"), ("Sling", "SLG"), ("Hip Pack", "HPK")),
        (("Ripstop", "Ripstop Nylon"), ("Waxed", "Waxed Canvas"), ("Recycled", "Recycled Polyester")),
        (29, 149),
        ("Backpack", "Duffel", "Messenger"),
        ("Hiking", "Travel", "Commuting", "Gym"),
    ),
    "gear-hydration": _Kind(
        "Bottles & Mugs",
        (("Insulated Bottle", "BTL"), ("Trail Flask", "FLK"), ("Travel Mug", "MUG")),
        (("Steel", "Stainless Steel"), ("Titanium", "Titanium"), ("Eco", "Recycled Plastic")),
        (20, 45),
        ("Wide Mouth", "Insulated", "Collapsible"),
        ("Hiking", "Running", "Commuting"),
    ),
    "gear-camp": _Kind(
        "Camp & Trail",
        (("Headlamp", "HDL"), ("Trekking Poles", "TPL"), ("Camp Stove", "STV"), ("Hammock", "HMK")),
        (("Alloy", "Aluminum"), ("Carbon", "Carbon Fibre"), ("Ripstop", "Ripstop Nylon")),
        (25, 189),
        ("Ultralight", "Compact", "Rugged"),
        ("Camping", "Hiking", "Backpacking"),
    ),
    "gear-fitness": _Kind(
        "Fitness",
        (("Yoga Mat", "MAT"), ("Resistance Bands", "BND"), ("Foam Roller", "RLR"), ("Jump Rope", "JRP")),
        (("Cork", "Cork"), ("Grip", "Natural Rubber"), ("Eco", "Recycled Foam")),
        (20, 89),
        ("Studio", "Travel", "Home Gym"),
        ("Yoga", "Gym", "Recovery", "Pilates"),
    ),
    "gear-accessories": _Kind(
        "Hats, Socks & Gaiters",
        (("Beanie", "BNI"), ("Trail Cap", "CAP"), ("Neck Gaiter", "GTR"), ("Hiking Socks", "SCK")),
        (("Merino", "Merino Wool"), ("Recycled", "Recycled Polyester"), ("Organic", "Organic Cotton")),
        (20, 39),
        ("Classic", "Reflective", "Lightweight"),
        ("Hiking", "Running", "Skiing", "Everyday"),
    ),
}
_APPAREL: dict[str, _Kind] = {
    "tees": _TEES,
    "hoodies": _HOODIES,
    "jackets": _JACKETS,
    "pants": _PANTS,
    "shorts": _SHORTS,
}
_APPAREL_TREE = (
    ("tops", "Tops", ("tees", "hoodies", "jackets")),
    ("bottoms", "Bottoms", ("pants", "shorts")),
)
# Departments: (slug, name, SKU prefix, share of products).
_DEPARTMENTS = (("women", "Women", "WW", 0.38), ("men", "Men", "MW", 0.38), ("gear", "Gear", "GR", 0.24))
# Model names; their first three letters are the SKU code, so those must differ (a test checks).
MODELS = (
    "Aurora", "Basalt", "Cascade", "Drift", "Ember", "Fjord", "Glacier", "Halcyon", "Ionic", "Juniper",
    "Kestrel", "Lumen", "Meridian", "Nimbus", "Orion", "Pinnacle", "Quarry", "Redwood", "Solstice",
    "Tamarack", "Umber", "Vista", "Willow", "Yarrow", "Zephyr", "Alder", "Boreal", "Cirrus", "Dune",
    "Everest", "Flint", "Granite", "Harbor", "Kodiak", "Larch", "Mesa", "Nova", "Obsidian", "Pioneer",
    "Ridge", "Sierra", "Tundra", "Vale", "Wren",
)  # fmt: skip
_FEATURES = (
    "Flatlock seams keep it comfortable under a pack.",
    "A dropped back hem adds coverage when you lean into the climb.",
    "Reflective details help you stay seen after dark.",
    "It packs down small and shrugs off a day at the bottom of a bag.",
    "Made in a fair-trade certified factory.",
    "Odour-resistant treatment means fewer washes between adventures.",
    "Backed by our lifetime repair promise.",
)


def categories() -> tuple[CategorySpec, ...]:
    """The demo tree (22 nodes, 3 levels for apparel, 2 for gear), parents first."""
    tree: list[CategorySpec] = []
    for position, (dept, dept_name, _, _) in enumerate(_DEPARTMENTS):
        tree.append(CategorySpec(dept, dept_name, None, position))
        if dept == "gear":
            tree += [CategorySpec(slug, kind.label, dept, i) for i, (slug, kind) in enumerate(_GEAR.items())]
            continue
        for i, (group, group_name, leaves) in enumerate(_APPAREL_TREE):
            tree.append(CategorySpec(f"{dept}-{group}", group_name, dept, i))
            tree += [
                CategorySpec(f"{dept}-{leaf}", _APPAREL[leaf].label, f"{dept}-{group}", j)
                for j, leaf in enumerate(leaves)
            ]
    return tuple(tree)


def generate(products: int = 60, *, seed: int = DEFAULT_SEED) -> SeedPlan:
    """A demo plan with `products` products; the same arguments always give the same plan."""
    if products < 0:
        raise ValueError("products must be >= 0")
    names: set[str] = set()
    slugs: set[str] = set()
    bases: set[str] = set()
    items = tuple(_product(random.Random(f"{seed}:{i}"), names, slugs, bases) for i in range(products))
    return SeedPlan(WAREHOUSES, categories(), items)


def _product(rng: random.Random, names: set[str], slugs: set[str], bases: set[str]) -> ProductSpec:
    dept, dept_name, prefix, _ = rng.choices(_DEPARTMENTS, weights=[d[3] for d in _DEPARTMENTS])[0]
    if dept == "gear":
        category = rng.choice(sorted(_GEAR))
        kind = _GEAR[category]
    else:
        leaf = rng.choice(sorted(_APPAREL))
        category, kind = f"{dept}-{leaf}", _APPAREL[leaf]
    noun, noun_code = rng.choice(kind.nouns)
    fabric, material = rng.choice(kind.fabrics)
    # Re-draw the model a few times before accepting a duplicate name (then only the slug differs).
    for _ in range(8):
        model = rng.choice(MODELS)
        name = f"{model} {fabric} {noun}"
        if name not in names:
            break
    names.add(name)
    slug = unique(slugify(name), slugs)
    base = unique(f"{prefix}-{slugify(model)[:3].upper()}-{noun_code}", bases, sep="")
    price = Money(rng.randint(*kind.price) * 100 - 1, CURRENCY)
    activities = sorted(rng.sample(kind.activities, k=min(2, len(kind.activities))))
    style = rng.choice(kind.styles)
    colors = rng.sample(COLORS, k=rng.randint(2, 4) if dept != "gear" else 1)
    description = (
        f"The {name} is a {style.lower()} {noun.lower()} for {activities[0].lower()} and "
        f"{activities[1].lower()}, made from {material.lower()} that feels good from the first mile "
        f"to the last. {rng.choice(_FEATURES)}"
    )
    attributes: dict[str, Any] = {"material": [material], "activity": activities, "style": style}
    if dept != "gear":
        attributes["gender"] = dept_name
        grid = [(size, color) for color in colors for size in SIZES]
        variants = [
            VariantSpec(f"{base}-{size}-{color.upper()}", price, {"size": size, "color": color})
            for size, color in grid
        ]
    else:
        variants = [VariantSpec(base, price, {"color": colors[0]})]
    # Some products sell out entirely and some single variants do, so `inStock` filters bite.
    sold_out = rng.random() < 0.08
    variants = [_with_stock(rng, v, sold_out) for v in variants]
    media = tuple(f"{MEDIA_BASE}/{slug}-{n}.jpg" for n in range(1, rng.randint(1, 3) + 1))
    published = rng.random() < 0.9
    return ProductSpec(slug, name, description, category, attributes, media, published, tuple(variants))


def _with_stock(rng: random.Random, variant: VariantSpec, sold_out: bool) -> VariantSpec:
    if sold_out or rng.random() < 0.12:
        stock = (("main", 0), ("east", 0))
    else:
        stock = (("main", rng.randint(0, 60)), ("east", rng.randint(0, 25)))
    return VariantSpec(variant.sku, variant.price, variant.attributes, stock)
