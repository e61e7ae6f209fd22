"""The address book: each account's postal addresses, checked here, owned by exactly one account.

Pure Python, no I/O; the current time is passed in.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from mercato.customers.domain.rules import AddressLimitReached
from mercato.platform.errors import Problem
from mercato.platform.validation import Checks

MAX_ADDRESSES = 20
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


@dataclass(frozen=True)
class AddressFields:
    """What a customer types in. Optional fields are empty strings, never None."""

    first_name: str
    last_name: str
    line1: str
    city: str
    country: str
    line2: str = ""
    postal_code: str = ""
    phone: str = ""

    def cleaned(self) -> AddressFields:
        """Checked and normalized (trimmed, country upper-cased); raises `InputRejected` (Problems)."""
        checks = Checks()
        for name, limit, required in (
            ("first_name", NAME_MAX, True),
            ("last_name", NAME_MAX, True),
            ("line1", LINE_MAX, True),
            ("line2", LINE_MAX, False),
            ("city", CITY_MAX, True),
        ):
            value = getattr(self, name)
            # `text` applies the boundary rule for text too (no control characters).
            checks.text(name, value, max_length=limit, required=required)
        postal_code, phone = self.postal_code.strip(), self.phone.strip()
        if postal_code:
            checks.pattern(
                "postal_code", postal_code, _POSTAL_CODE_RE, "letters, digits, spaces or '-'", POSTAL_CODE_MAX
            )
        if phone:
            digits = sum(ch.isdigit() for ch in phone)
            if len(phone) <= PHONE_MAX and _PHONE_RE.match(phone) and not 6 <= digits <= 15:
                checks.add("phone", Problem.INVALID, "phone must have 6 to 15 digits")
            else:
                checks.pattern("phone", phone, _PHONE_RE, "a phone number", PHONE_MAX)
        country = self.country.strip().upper()
        if not country:
            checks.add("country", Problem.REQUIRED, "country is required")
        else:
            checks.that(
                country in COUNTRY_CODES,
                "country",
                Problem.INVALID,
                "country must be an ISO 3166 alpha-2 code",
            )
        checks.raise_as(Problem)
        return AddressFields(
            first_name=self.first_name.strip(),
            last_name=self.last_name.strip(),
            line1=self.line1.strip(),
            line2=self.line2.strip(),
            city=self.city.strip(),
            postal_code=postal_code,
            country=country,
            phone=phone,
        )


@dataclass(frozen=True)
class Address:
    id: uuid.UUID
    account_id: uuid.UUID
    fields: AddressFields
    created_at: datetime
    updated_at: datetime

    @classmethod
    def add(cls, account_id: uuid.UUID, fields: AddressFields, *, existing: int, now: datetime) -> Address:
        """A new address for an account that holds `existing` ones; fields must be `cleaned()`."""
        if existing >= MAX_ADDRESSES:
            raise AddressLimitReached(MAX_ADDRESSES)
        return cls(id=uuid.uuid4(), account_id=account_id, fields=fields, created_at=now, updated_at=now)
