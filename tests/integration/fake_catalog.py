"""A catalog servicer's backing service for gRPC plumbing tests: `categories` answers, hangs or fails as
the test picks, and records the trace span each call ran in."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanContext
from sqlalchemy.exc import TimeoutError as PoolTimeout

from mercato.catalog.service_layer.views import CategoryView
from mercato.platform.errors import Conflict
from mercato.platform.grpc import auth


class FakeQueries:
    """`mode`: "ok" (one category), "principal" (its name tells the calling service and end user),
    "conflict" (a mapped error), "boom" (an unmapped one, with SQL in it), "hang" (never answers),
    "no connection" (the database pool had none free in time)."""

    def __init__(self, mode: str = "ok") -> None:
        self.mode = mode
        self.seen: list[SpanContext] = []

    async def categories(self) -> list[CategoryView]:
        self.seen.append(trace.get_current_span().get_span_context())
        if self.mode == "hang":
            await asyncio.Event().wait()
        if self.mode == "conflict":
            raise Conflict("already there", code="TAKEN", field="slug")
        if self.mode == "boom":
            raise RuntimeError("SELECT secret FROM catalog.products")
        if self.mode == "no connection":
            raise PoolTimeout("QueuePool limit of size 10 overflow 10 reached, connection timed out")
        name = "name"
        if self.mode == "principal":
            principal = auth.current_principal.get()
            name = f"{auth.current_caller.get()}:{principal.email if principal else '-'}"
        return [CategoryView(uuid.UUID(int=0), "slug", name, None, 0)]


class FakeCatalog:
    def __init__(self, mode: str = "ok") -> None:
        self.queries = FakeQueries(mode)

    async def handle(self, command: Any) -> Any:
        raise NotImplementedError
