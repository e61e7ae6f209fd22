"""The postal address: one value object for every context that ships or keeps addresses.

A shared kernel like `platform.types.Money`: the customers' address book and the orders' shipping
address are the same concept with the same rules (one ISO country list, one set of limits), so they
are one class rather than near-copies that drift apart. Pure Python, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from mercato.platform.errors import Problem
from mercato.platform.validation import Checks

NAME_MAX = 100
LINE_MAX = 200
CITY_MAX = 100
POSTAL_CODE_MAX = 20
PHONE_MAX = 32

# ISO 3166-1 alpha-2, the 249 officially assigned codes. Kept here rather than as a dependency: it
# changes about once a decade, and a shipping address with a made-up country is useless downstream.
COUNTRY_CODES = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT
    BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH
    ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT
    HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS
    LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI
    NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG
    SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG
    UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
    """.split()  # noqa: SIM905 - a table to read, not 249 quoted strings
)

_POSTAL_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 -]*$")
# Loose on purpose (formats vary by country): an optional +, then digits with spaces, dots, dashes
# and parentheses; 6 to 15 digits in all (E.164 allows at most 15).
_PHONE_RE = re.compile(r"^\+?[0-9 ().-]+$")
_TEXT_FIELDS = (
    ("first_name", NAME_MAX, True),
    ("last_name", NAME_MAX, True),
    ("line1", LINE_MAX, True),
    ("line2", LINE_MAX, False),
    ("city", CITY_MAX, True),
)


@dataclass(frozen=True)
class PostalAddress:
    """What a customer types in. Optional fields are empty strings, never None."""

    first_name: str
    last_name: str
    line1: str
    city: str
    country: str
    line2: str = ""
    postal_code: str = ""
    phone: str = ""

    def cleaned(self) -> PostalAddress:
        """Checked and normalized (trimmed, country upper-cased); raises `InputRejected` (Problems)."""
        checks = Checks()
        address = self.check(checks)
        checks.raise_as(Problem)
        return address

    def check(self, checks: Checks, prefix: str = "") -> PostalAddress:
        """Add every problem of this address to `checks`, its fields named `prefix` + field name
        (e.g. `shippingAddress.` for a checkout); returns the normalized address."""
        for name, limit, required in _TEXT_FIELDS:
            # `text` applies the boundary rule for text too (no control characters).
            checks.text(prefix + name, getattr(self, name), max_length=limit, required=required)
        postal_code, phone = self.postal_code.strip(), self.phone.strip()
        if postal_code:
            checks.pattern(
                prefix + "postal_code",
                postal_code,
                _POSTAL_CODE_RE,
                "letters, digits, spaces or '-'",
                POSTAL_CODE_MAX,
            )
        if phone:
            digits = sum(ch.isdigit() for ch in phone)
            if len(phone) <= PHONE_MAX and _PHONE_RE.match(phone) and not 6 <= digits <= 15:
                checks.add(prefix + "phone", Problem.INVALID, "phone must have 6 to 15 digits")
            else:
                checks.pattern(prefix + "phone", phone, _PHONE_RE, "a phone number", PHONE_MAX)
        country = self.country.strip().upper()
        if not country:
            checks.add(prefix + "country", Problem.REQUIRED, "country is required")
        else:
            checks.that(
                country in COUNTRY_CODES,
                prefix + "country",
                Problem.INVALID,
                "country must be an ISO 3166 alpha-2 code",
            )
        return PostalAddress(
            first_name=self.first_name.strip(),
            last_name=self.last_name.strip(),
            line1=self.line1.strip(),
            line2=self.line2.strip(),
            city=self.city.strip(),
            postal_code=postal_code,
            country=country,
            phone=phone,
        )

    def to_document(self) -> dict[str, str]:
        """The address as stored and sent (JSON object, snake_case keys)."""
        return asdict(self)

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> PostalAddress:
        """The address a `to_document()` made; unknown keys are ignored, missing optional ones empty."""

        def field(name: str) -> str:
            value = document.get(name)
            return value if isinstance(value, str) else ""

        return cls(
            first_name=field("first_name"),
            last_name=field("last_name"),
            line1=field("line1"),
            city=field("city"),
            country=field("country"),
            line2=field("line2"),
            postal_code=field("postal_code"),
            phone=field("phone"),
        )
