from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from mercato.search.service_layer.departments import departments


@dataclass(frozen=True)
class Category:
    name: str
    parent_id: uuid.UUID | None = None
    id: uuid.UUID = field(default_factory=uuid.uuid4)


def tree(spec: dict[str, list[str]]) -> tuple[dict[str, Category], list[Category]]:
    """Roots by name and every category: {"Women": ["Tops", "Bottoms"], ...}."""
    roots = {name: Category(name) for name in spec}
    children = [Category(child, roots[name].id) for name, kids in spec.items() for child in kids]
    return roots, [*roots.values(), *children]


def test_roots_that_split_the_same_kinds_of_product_are_departments_and_the_others_are_not() -> None:
    # Luma's top level: two audiences, and roots for gear, videos, sales and what is new
    roots, categories = tree(
        {
            "Women": ["Tops", "Bottoms"],
            "Men": ["Tops", "Bottoms"],
            "Gear": ["Bags", "Fitness Equipment", "Watches"],
            "Training": ["Video Download"],
            "Sale": [],
            "What's New": [],
            "Promotions": ["Women Sale", "Men Sale", "Pants", "Tees"],
        }
    )

    found = departments(categories, attribute_values=[])

    assert found == {"women": roots["Women"].id, "men": roots["Men"].id}


def test_a_root_an_attribute_names_is_a_department_in_any_case() -> None:
    roots, categories = tree({"Women": ["Dresses"], "Gear": ["Bags"], "Kids": ["Toys"]})

    found = departments(categories, attribute_values=["women", "Unisex", "Waterproof"])

    assert found == {"women": roots["Women"].id}


def test_roots_of_one_name_are_not_parallel_and_children_below_the_top_do_not_count() -> None:
    # Two roots called "Outlet" with the same subcategory are one name twice, not two audiences; a
    # subcategory's own children never make the root a department.
    outlet_a, outlet_b = Category("Outlet"), Category("Outlet")
    gear, tops = Category("Gear"), Category("Tops")
    anything = Category("Anything", gear.id)
    categories = [
        outlet_a,
        outlet_b,
        Category("Tees", outlet_a.id),
        Category("Tees", outlet_b.id),
        gear,
        tops,
        anything,
        Category("Shirts", anything.id),
        Category("Shirts", tops.id),
    ]

    assert departments(categories, attribute_values=["Shirts", "Tees"]) == {}
