"""Hostile values for generated requests: text with control characters, NUL and lone surrogates, numbers
past every range, odd ids and cursors, JSON that nests and overflows, and wrong types, mixed with
realistic values (known ids, SKUs, emails) so that a good share of requests gets past validation and
reaches the use cases and the database.

A value is plain Python data, serialized by `to_json`; `Raw` holds a JSON token that Python's
encoder would refuse to write (an integer of 5,000 digits, `1e999`, deeply nested brackets)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson
from hypothesis import strategies as st

T = TypeVar("T")
Strategy = st.SearchStrategy


@dataclass(frozen=True)
class Raw:
    """A JSON token written as is (only `to_json` knows it)."""

    token: str


def to_json(value: Any) -> str:
    """JSON text for `value`: ASCII only, so a lone surrogate travels as the escape `\\ud800` (the only
    way a client can send one); NaN and infinities as Python writes them; `Raw` tokens verbatim."""
    if isinstance(value, Raw):
        return value.token
    if isinstance(value, dict):
        return "{" + ",".join(f"{to_json(str(k))}:{to_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(to_json(v) for v in value) + "]"
    if isinstance(value, float):
        return repr(value).replace("inf", "Infinity").replace("nan", "NaN")
    return json.dumps(value, ensure_ascii=True)


def weighted(*choices: tuple[int, Strategy[Any]]) -> Strategy[Any]:
    """One of `choices`, each drawn about `weight` times in the sum of the weights."""
    table = [s for w, s in choices for _ in range(w)]
    return st.integers(0, len(table) - 1).flatmap(lambda i: table[i])


# ---- text -----------------------------------------------------------------------------------------

HOSTILE_CHARS = [
    "\x00", "\x01", "\x08", "\x1b", "\x7f", "\x85", "\x9f", "\t", "\n", "\r",
    "\ud800", "\udbff", "\udc00", "\udfff", "\ud83d",
    "\u2028", "\u202e", "\u200b", "\ufeff", "\ufffe", "\uffff", "\U0001f600", "\U0010ffff", "\u0301",
]  # fmt: skip
SPECIAL_STRINGS = [
    "", " ", "  padded  ", "null", "None", "undefined", "NaN", "-0", "1e309", "0x1f", "true",
    "' OR '1'='1", "'; DROP TABLE catalog.products; --", "%00", "%", "_", "\\", '"', "\\u0000",
    "../../etc/passwd", "<script>alert(1)</script>", "${jndi:ldap://x}", "{{7*7}}", "\uff21\uff22\uff23",
    "\ud83d\ude00", "ß", "İ", "a\u0301", "\u0000" * 3, "\ud800\ud800", "\udc00\ud800",
]  # fmt: skip
LENGTHS = [64, 65, 200, 201, 250, 251, 255, 256, 1_000, 1_001, 4_096, 4_097, 100_001]
# Every code point, surrogates included (Hypothesis leaves category Cs out unless told).
ANY_CHAR = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=())


@st.composite
def _spliced(draw: st.DrawFn, base: Strategy[str]) -> str:
    value = draw(base)
    at = draw(st.integers(0, len(value)))
    return value[:at] + draw(st.sampled_from(HOSTILE_CHARS)) + value[at:]


def hostile_text(realistic: Strategy[str]) -> Strategy[str]:
    """Mostly realistic text (so use cases run), else realistic text with a hostile character spliced
    in, a special string, arbitrary code points, or a string of a length at or past a limit."""
    return weighted(
        (8, realistic),
        (4, _spliced(realistic)),
        (2, st.sampled_from(SPECIAL_STRINGS)),
        (2, st.text(ANY_CHAR, max_size=12)),
        (1, st.tuples(st.sampled_from(LENGTHS), st.sampled_from(["x", "é", "\U0001f600"])).map(_long)),
    )


def _long(spec: tuple[int, str]) -> str:
    length, char = spec
    return char * length


WORDS = st.sampled_from(["Ada", "Depot", "Blue shirt", "1 Way", "London", "SW1A 1AA", "+44 20 7946 0000"])
SHORT_TEXT = st.one_of(
    WORDS, st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=8)
)

# ---- numbers ----------------------------------------------------------------------------------------

INT_EDGES = [
    0, 1, -1, 2, 5, 20, 99, 100, 101, 1_000, 10_000,
    2**31 - 1, -(2**31), 2**31, -(2**31) - 1, 2**53 + 1, 2**63 - 1, 2**63, -(2**63) - 1, 10**20,
]  # fmt: skip
RAW_NUMBERS = [
    "1e999",
    "-1e999",
    "NaN",
    "Infinity",
    "-Infinity",
    "1" + "0" * 5_000,
    "1.0",
    "1.5",
    "-0",
    "1e2",
]
WRONG_TYPES: list[Any] = [0, 1.5, True, "1", "", [], {}, [1], {"a": 1}]


INT32 = [n for n in INT_EDGES if -(2**31) <= n < 2**31]


def hostile_int(in_range: bool = False) -> Strategy[Any]:
    """Integers around every limit; with `in_range` mostly ones a GraphQL Int holds (32 bits), so
    that the use case's own range check is what refuses them."""
    wild = st.one_of(
        st.sampled_from(INT_EDGES),
        st.integers(-(2**70), 2**70),
        st.sampled_from(RAW_NUMBERS).map(Raw),
        st.floats(allow_nan=True, allow_infinity=True),
    )
    return weighted((6, st.integers(-3, 120)), (4, st.sampled_from(INT32)), (1 if in_range else 8, wild))


def wrong_type() -> Strategy[Any]:
    return st.sampled_from(WRONG_TYPES)


# Decimal strings in major units (`MoneyInput.amount`, `priceMin`): every spelling `Decimal()` takes.
AMOUNTS = [
    "19.99", "1.00", "0", "0.00", "-1", "-0.01", "0.001", "10.005", "1e3", "1E-2", "1e-999", "NaN", "sNaN",
    "Infinity", "-Infinity", "99999999999999999999999999999999.99", "92233720368547758.07",
    "92233720368547758.08", "1e999999999", "1e18", "٣", "1_0", " 1", "1.", ".5", "+1", "0x10", "",
]  # fmt: skip
CURRENCIES = ["USD", "EUR", "GBP", "usd", "XXX", "US", "USDD", "", "€"]


DECIMALS = st.sampled_from(["19.99", "1.00", "0.50", "12.50", "100"])


# ---- ids, cursors and JSON ---------------------------------------------------------------------------


def odd_ids() -> Strategy[Any]:
    """Ids that are not ids the server gave: random, nil, other spellings of a UUID, ints, junk."""
    return st.one_of(
        st.uuids().map(str),
        st.sampled_from(["00000000-0000-0000-0000-000000000000", "0", "-1", "", "null", "1" * 65]),
        st.uuids().map(lambda u: u.hex),
        st.uuids().map(lambda u: "{" + str(u).upper() + "}"),
        st.uuids().map(lambda u: f"urn:uuid:{u}"),
        st.integers(-(2**40), 2**40),
        hostile_text(st.uuids().map(str)),
    )


def _b64(raw: Any) -> str:
    data = raw if isinstance(raw, bytes) else orjson.dumps(raw, option=orjson.OPT_PASSTHROUGH_SUBCLASS)
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


CURSOR_VALUES: list[Any] = [
    "a\x00b", "\ud800", "", 2**70, -(2**70), 1.5, None, True, [], {}, "9999-12-31T23:59:59+00:00",
    "0001-01-01T00:00:00+01:00", "0001-01-01T00:00:00-14:00", "2020-01-01T00:00:00", "not a date",
]  # fmt: skip


def _safe_b64(parts: list[Any]) -> str:
    try:
        return _b64(parts)
    except (TypeError, orjson.JSONEncodeError):  # a lone surrogate: orjson refuses it, so write it raw
        return base64.urlsafe_b64encode(to_json(parts).encode()).decode().rstrip("=")


def cursors(known: Sequence[str]) -> Strategy[Any]:
    """Cursors given out by the server, and forged ones of the right shape with values of the wrong
    kind (the products cursor is `[1, sort, descending, value, id]`, the orders one `[1, at, id]`)."""
    value = st.sampled_from(CURSOR_VALUES)
    forged = st.one_of(
        st.tuples(st.sampled_from(["NAME", "PRICE", "CREATED_AT"]), st.booleans(), value, st.uuids()).map(
            lambda t: _safe_b64([1, t[0], t[1], t[2], str(t[3])])
        ),
        st.tuples(value, st.uuids()).map(lambda t: _safe_b64([1, t[0], str(t[1])])),
        st.sampled_from([b"", b"[]", b"{}", b"null", b"[1]", b"\xff\xfe", b"[1,2,3,4,5,6]"]).map(_b64),
        st.sampled_from(["!!!", "=", "a", "====", "%%"]),
    )
    options: list[Strategy[Any]] = [forged, hostile_text(st.just("abc"))]
    if known:
        options.insert(0, st.sampled_from(list(known)))
    return st.one_of(*options)


JSON_KEYS = st.one_of(st.sampled_from(["color", "size", "description", "", "a.b", "0"]), hostile_text(WORDS))


def json_values(max_leaves: int = 8, hostile: bool = True) -> Strategy[Any]:
    """JSON values for a JSON scalar: with `hostile`, hostile strings and keys, overflowing numbers
    and nesting; else plain attributes."""
    if not hostile:
        return st.dictionaries(st.sampled_from(["color", "size", "fabric"]), WORDS, max_size=3)
    leaves = st.one_of(
        st.none(),
        st.booleans(),
        hostile_int(),
        hostile_text(WORDS),
    )
    tree = st.recursive(
        leaves,
        lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(JSON_KEYS, inner, max_size=3)),
        max_leaves=max_leaves,
    )
    deep = st.sampled_from([20, 31, 32, 33, 200]).map(lambda n: Raw('{"a":' * n + "1" + "}" * n))
    return weighted((8, tree), (1, deep))


def deep_list(depth: int) -> Raw:
    return Raw("[" * depth + "]" * depth)


@dataclass
class Known:
    """Values the server gave out, by kind: the generator mixes them in so requests reach deep."""

    ids: dict[str, list[str]] = field(default_factory=dict)
    skus: list[str] = field(default_factory=list)
    slugs: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    passwords: list[str] = field(default_factory=list)
    refresh_tokens: list[str] = field(default_factory=list)
    access_tokens: list[str] = field(default_factory=list)
    cursors: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)

    def all_ids(self) -> list[str]:
        return sorted({i for ids in self.ids.values() for i in ids})


def known_or(values: Sequence[T], fresh: Strategy[T]) -> Strategy[T]:
    return st.one_of(st.sampled_from(list(values)), fresh) if values else fresh


def fresh_slug() -> Strategy[str]:
    return st.uuids().map(lambda u: f"fz-{u.hex[:10]}")


def fresh_email() -> Strategy[str]:
    return st.uuids().map(lambda u: f"fz-{u.hex[:10]}@example.com")


def fresh_key() -> Strategy[str]:
    return st.uuids().map(lambda u: f"key-{u.hex}")


def by_name(known: Known, hostile: bool) -> dict[str, Callable[[], Strategy[Any]]]:
    """Strategies for a String or ID argument or input field, by its name (the last part of its path):
    realistic values, made hostile now and then when `hostile`."""
    h: Callable[[Strategy[Any]], Strategy[Any]] = hostile_text if hostile else (lambda s: s)
    odd = odd_ids() if hostile else st.uuids().map(str)
    ids = lambda: known_or(known.all_ids(), odd)  # noqa: E731
    sku = lambda: h(known_or(known.skus, fresh_slug().map(str.upper)))  # noqa: E731
    amounts = st.one_of(st.sampled_from(AMOUNTS), st.decimals(places=2).map(str)) if hostile else DECIMALS
    return {
        "sku": sku,
        "skus": sku,
        "slug": lambda: h(known_or(known.slugs, fresh_slug())),
        "email": lambda: h(known_or(known.emails, fresh_email())),
        "password": lambda: h(known_or(known.passwords, st.just("a long enough password"))),
        "currency": lambda: h(st.sampled_from(CURRENCIES if hostile else ["USD", "EUR"])),
        "amount": lambda: h(amounts),
        "priceMin": lambda: h(amounts),
        "priceMax": lambda: h(amounts),
        "country": lambda: h(
            st.sampled_from(["GB", "US", "gb", "ZZ", "GBR", ""] if hostile else ["GB", "US"])
        ),
        "paymentToken": lambda: h(
            st.sampled_from(["tok_success", "tok_decline", "tok_insufficient_funds", "tok_ok_1", "nope"])
        ),
        "idempotencyKey": lambda: h(known_or(known.keys, fresh_key())),
        "refreshToken": lambda: h(known_or(known.refresh_tokens, st.just("eyJhbGciOiJub25lIn0.e30."))),
        "after": lambda: cursors(known.cursors) if hostile else known_or(known.cursors, st.none()),
        "media": lambda: h(st.sampled_from(["https://example.com/a.jpg", "http://x", "javascript:alert(1)"])),
        "code": lambda: h(fresh_slug()),
        "id": ids,
        "": lambda: h(SHORT_TEXT),
    } | {
        # An id of the kind the field wants, mostly: a request then reaches the use case.
        f"id:{kind}": (
            lambda kind=kind: weighted((6, st.sampled_from(known.ids[kind])), (1, ids()), (1, odd))
        )
        for kind in known.ids
    }
