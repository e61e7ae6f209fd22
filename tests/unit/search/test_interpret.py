from __future__ import annotations

import uuid

from mercato.search import SearchFilter
from mercato.search.service_layer.interpret import Lexicon, read

WOMEN, MEN = uuid.uuid4(), uuid.uuid4()
LEXICON = Lexicon(
    departments={"women": WOMEN, "men": MEN, "gear": uuid.uuid4()},
    axes={
        "color": {"red": ("color", "Red"), "black": ("color", "Black")},
        "size": {"m": ("size", "M"), "32": ("size", "32"), "xl": ("size", "XL")},
    },
)


def test_department_colour_and_price_come_out_of_the_words() -> None:
    reading = read("women's red jacket under $60", LEXICON, SearchFilter())

    assert reading.text == "jacket"
    assert reading.searched == "women red jacket"
    assert reading.filter == SearchFilter(
        category_id=WOMEN, price_max=6000, attributes=(("color", ("Red",)),)
    )
    assert reading.sources == (("price_max", "under $60"), ("color", "red"), ("department", "women"))


def test_a_size_needs_its_attribute_name_and_mens_finds_the_department() -> None:
    reading = read("mens shorts size 32 in black", LEXICON, SearchFilter())

    assert reading.text == "shorts in"
    assert reading.filter == SearchFilter(
        category_id=MEN, attributes=(("size", ("32",)), ("color", ("Black",)))
    )


def test_a_lone_size_letter_is_a_word_not_a_filter() -> None:
    assert read("m tee", LEXICON, SearchFilter()).filter == SearchFilter()


def test_ranges_and_stock() -> None:
    assert read("tee between $20 and 40 in stock", LEXICON, SearchFilter()).filter == SearchFilter(
        price_min=2000, price_max=4000, in_stock=True
    )


def test_the_clients_filter_wins_and_two_departments_mean_none() -> None:
    base = SearchFilter(price_max=1000)

    reading = read("men and women tees under $60", LEXICON, base)

    assert reading.filter == base
    assert reading.text == "men and women tees"
