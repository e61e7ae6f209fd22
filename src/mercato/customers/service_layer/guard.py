"""Running a use case so that every refusal carries a code of its mutation's enum."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import Enum
from typing import TypeVar

from sqlalchemy.exc import IntegrityError

from mercato.customers.domain.rules import EmailTaken
from mercato.platform.db import violated_constraint
from mercato.platform.errors import ClientError, recode

T = TypeVar("T")

EMAIL_CONSTRAINT = "accounts_email_key"


async def guarded(codes: type[Enum], action: Callable[[], Awaitable[T]]) -> T:
    """Run a use case; re-code its client errors into `codes`; turn a duplicate email (a race the
    unique constraint settles) into EMAIL_TAKEN."""
    try:
        return await action()
    except IntegrityError as exc:
        if violated_constraint(exc) == EMAIL_CONSTRAINT:
            raise recode(EmailTaken(), codes) from None
        raise
    except ClientError as exc:
        raise recode(exc, codes) from None
