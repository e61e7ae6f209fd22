"""The address book: each account's postal addresses, checked here, owned by exactly one account.

Pure Python, no I/O; the current time is passed in.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from mercato.customers.domain.rules import AddressLimitReached
from mercato.platform.postal import PostalAddress

MAX_ADDRESSES = 20

# The address book holds the shared postal address (one country list, one set of limits with the
# orders' shipping address); the name stays for the book's callers.
AddressFields = PostalAddress


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
