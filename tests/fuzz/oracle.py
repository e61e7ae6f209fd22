"""What a generated request must never do, and the tally of what it did.

- an HTTP status of 500 or more;
- an error with `extensions.code` INTERNAL (or UNAVAILABLE: every engine is up, so that one hides a
  defect too), or a body that is not JSON;
- a write by a request that was refused: a query, or a mutation document every root field of which was
  refused (a top-level error, or a payload with `errors`), leaves every table of every context and
  every cart in Redis as it found them. In the quiet server nothing else writes (but the relay, which
  publishes accepted requests' events right after their commit and marks them later: an outbox row is
  fingerprinted by its event alone), so a before/after fingerprint (row count and a hash of every row,
  per table; every cart's serialized hash) is exact.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import text

from mercato.platform.db import Database
from tests.fuzz.request import Request

CONTEXT_SCHEMAS = ("catalog", "inventory", "customers", "payments", "orders")
FORBIDDEN_CODES = frozenset({"INTERNAL", "UNAVAILABLE"})


class Fingerprint:
    """Every table of the contexts' schemas and every cart key, as (rows, hash of rows) / raw dumps."""

    def __init__(self, db: Database, redis: Redis, namespace: str) -> None:
        self.db = db
        self.redis = redis
        self.cart_pattern = f"{namespace}:cart:*"
        self._sql = ""

    async def prepare(self) -> None:
        async with self.db.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT table_schema, table_name FROM information_schema.tables "
                    "WHERE table_schema = ANY(:s) AND table_type = 'BASE TABLE' ORDER BY 1, 2"
                ),
                {"s": list(CONTEXT_SCHEMAS)},
            )
            tables = [f'"{schema}"."{name}"' for schema, name in rows]
        assert tables, "no tables to watch"
        self._sql = " UNION ALL ".join(
            f"SELECT '{t}' AS table_name, count(*), coalesce(sum(hashtextextended({_row(t)}::text, 0)), 0) "
            f"FROM {t} x"
            for t in tables
        )

    async def take(self, carts: bool) -> dict[str, Any]:
        async with self.db.connect() as conn:
            state: dict[str, Any] = {t: (n, int(h)) for t, n, h in await conn.execute(text(self._sql))}
        if carts:
            keys = sorted([k async for k in self.redis.scan_iter(match=self.cart_pattern, count=1000)])
            async with self.redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.dump(key)
                dumps = await pipe.execute()
            state.update({f"redis {k!r}": d for k, d in zip(keys, dumps, strict=True)})
        return state


def _row(table: str) -> str:
    # An outbox row is the event it holds: the relay publishes the rows of requests that were accepted
    # earlier, and marks them (published_at, attempts) while later requests run; that is the relay's
    # bookkeeping, not a write by the request being judged.
    return "(x.id, x.subject, x.body)" if table.endswith('."outbox"') else "x"


def changed(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


@dataclass
class Finding:
    kind: str  # "5xx", "INTERNAL", "UNAVAILABLE", "not JSON", "partial write"
    label: str
    detail: str
    request: Request

    def __str__(self) -> str:
        return f"[{self.kind}] {self.detail}\n    {self.request!r}"


@dataclass
class Tally:
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    refused_writes: int = 0  # refused mutations whose fingerprint was compared
    labels: Counter[str] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)  # top-level errors' and payload errors' codes
    messages: Counter[str] = field(default_factory=Counter)  # validation errors' messages, roughly
    findings: list[Finding] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def count(self, kind: str) -> int:
        return sum(1 for f in self.findings if f.kind == kind)

    def summary(self) -> str:
        elapsed = time.monotonic() - self.started
        return (
            f"{self.requests} requests in {elapsed:.0f} s over {len(self.labels)} operations or kinds; "
            f"HTTP statuses {dict(sorted(self.statuses.items()))}; {self.refused_writes} refused mutations "
            f"checked for writes; 5xx {self.count('5xx')}, INTERNAL {self.count('INTERNAL')}, "
            f"UNAVAILABLE {self.count('UNAVAILABLE')}, not JSON {self.count('not JSON')}, "
            f"partial writes {self.count('partial write')}"
        )

    def report(self, limit: int = 25) -> str:
        distinct: dict[tuple[str, str, str], Finding] = {}
        for f in self.findings:
            distinct.setdefault((f.kind, f.label, f.detail[:120]), f)
        lines = [self.summary(), *(str(f) for f in list(distinct.values())[:limit])]
        return "\n".join(lines)


class Errors(logging.Handler):
    """The last tracebacks logged at ERROR (an INTERNAL error is logged with its exception)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            self.records.append(f"{type(exc).__name__}: {str(exc)[:200]}")

    def take(self) -> str:
        taken = "; ".join(self.records[-3:])
        self.records.clear()
        return taken


# Refusals that write on purpose, by (root field, error code): the tables they may change.
DELIBERATE = {
    # A spent refresh token presented again revokes its whole sign-in, although the call fails
    # (customers/service_layer/sessions.py): a stolen token's use ends the thief's session too.
    ("tokenRefresh", "TOKEN_REUSED"): frozenset({'"customers"."refresh_token_families"'}),
}


def deliberate(request: Request, body: Any) -> frozenset[str]:
    """The tables the refusals in `body` may change on purpose."""
    data = body.get("data") if isinstance(body, dict) else None
    allowed: frozenset[str] = frozenset()
    for key, name in zip(request.keys, request.fields, strict=True):
        payload = data.get(key) if isinstance(data, dict) else None
        for error in (payload.get("errors") or []) if isinstance(payload, dict) else []:
            allowed |= DELIBERATE.get((name, error.get("code")), frozenset())
    return allowed


def refused(request: Request, body: Any) -> bool:
    """Whether every root field of the request was refused (or none ran at all)."""
    if not isinstance(body, dict):
        return True
    data = body.get("data")
    if not isinstance(data, dict):
        return True
    for key in request.keys:
        payload = data.get(key)
        if isinstance(payload, dict) and not payload.get("errors"):
            return False
    return True


def judge(
    tally: Tally, request: Request, status: int, content: bytes, before: Any, after: Any, errors: Errors
) -> list[Finding]:
    found: list[Finding] = []
    add = lambda kind, detail: found.append(Finding(kind, request.label, detail, request))  # noqa: E731
    if status >= 500:
        add("5xx", f"HTTP {status} {content[:200]!r} {errors.take()}")
    try:
        body = json.loads(content)
    except ValueError:
        add("not JSON", f"HTTP {status} {content[:200]!r}")
        return found
    for error in (body.get("errors") or []) if isinstance(body, dict) else []:
        code = (error.get("extensions") or {}).get("code")
        tally.codes[code] += 1
        if code == "GRAPHQL_VALIDATION_FAILED":
            tally.messages[re.sub(r"'[^']*'|\\d+", "_", str(error.get("message")))[:90]] += 1
        if code in FORBIDDEN_CODES:
            add(code, f"{error.get('message')} at {error.get('path')} {errors.take()}")
    data = body.get("data") if isinstance(body, dict) else None
    for key in request.keys if isinstance(data, dict) else ():
        payload = data.get(key)
        if isinstance(payload, dict) and "errors" in payload:
            codes = [e.get("code") for e in payload["errors"] or [] if isinstance(e, dict)]
            tally.codes.update(f"{key}: {c}" for c in codes or ["ok"])
    if before is not None and (request.kind != "mutation" or refused(request, body)):
        if request.kind == "mutation":
            tally.refused_writes += 1
        allowed = deliberate(request, body)
        diff = [table for table in changed(before, after) if table not in allowed]
        if diff:
            add("partial write", f"changed {diff[:6]}; response {content[:300]!r}")
    return found
