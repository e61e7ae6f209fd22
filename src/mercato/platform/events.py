"""Domain events and the one envelope every event travels in.

Envelope (JSON, the NATS message body):
    id           uuid, unique per event; also the JetStream `Nats-Msg-Id` (broker-side dedup)
    type         e.g. "catalog.product_created"
    version      schema version of the payload, an integer
    occurred_at  RFC 3339 UTC timestamp
    aggregate_id id of the aggregate that changed
    trace        W3C trace context ({"traceparent": ...}) or {}
    payload      the event's fields
Subject: "<namespace>.<context>.v<version>.<name>", e.g. "mercato.catalog.v1.product_created".
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

import orjson


@dataclass(frozen=True, kw_only=True)
class DomainEvent:
    """Base for every context's events. Subclasses set `context` and `name`."""

    context: ClassVar[str]
    name: ClassVar[str]
    version: ClassVar[int] = 1

    aggregate_id: str
    event_id: uuid.UUID = field(default_factory=uuid.uuid4)
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @classmethod
    def type_name(cls) -> str:
        return f"{cls.context}.{cls.name}"

    def payload(self) -> dict[str, Any]:
        skip = {"aggregate_id", "event_id", "occurred_at"}
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in skip}


@dataclass(frozen=True, slots=True)
class Envelope:
    id: uuid.UUID
    type: str
    version: int
    occurred_at: datetime
    aggregate_id: str
    payload: dict[str, Any]
    trace: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, event: DomainEvent, trace: dict[str, str] | None = None) -> Envelope:
        return cls(
            id=event.event_id,
            type=event.type_name(),
            version=event.version,
            occurred_at=event.occurred_at,
            aggregate_id=event.aggregate_id,
            payload=event.payload(),
            trace=trace or {},
        )

    @property
    def context(self) -> str:
        return self.type.split(".", 1)[0]

    @property
    def name(self) -> str:
        return self.type.split(".", 1)[1]

    def subject(self, namespace: str) -> str:
        return f"{namespace}.{self.context}.v{self.version}.{self.name}"

    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "id": str(self.id),
                "type": self.type,
                "version": self.version,
                "occurred_at": self.occurred_at.isoformat(),
                "aggregate_id": self.aggregate_id,
                "trace": self.trace,
                "payload": self.payload,
            },
            option=orjson.OPT_PASSTHROUGH_DATACLASS,
            default=_json_default,
        )

    @classmethod
    def from_json(cls, data: bytes) -> Envelope:
        raw = orjson.loads(data)
        return cls(
            id=uuid.UUID(raw["id"]),
            type=raw["type"],
            version=int(raw["version"]),
            occurred_at=datetime.fromisoformat(raw["occurred_at"]),
            aggregate_id=raw["aggregate_id"],
            payload=raw["payload"],
            trace=raw.get("trace") or {},
        )


def _json_default(value: object) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, uuid.UUID | datetime):
        return str(value)
    if isinstance(value, tuple | frozenset | set):
        return list(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def stream_name(namespace: str, context: str) -> str:
    return f"{namespace}_{context}".upper()


def stream_subjects(namespace: str, context: str) -> list[str]:
    return [f"{namespace}.{context}.>"]


def event_subjects(namespace: str, context: str, event_types: Collection[str]) -> list[str] | None:
    """The subjects, any version, of the `event_types` (`<context>.<name>`) of `context`'s stream,
    sorted; None if one of them is not of that stream (then only every event covers them)."""
    names = []
    for event_type in event_types:
        source, _, name = event_type.partition(".")
        if source != context or not name or any(c in name for c in "*> ."):
            return None
        names.append(name)
    return sorted(f"{namespace}.{context}.*.{name}" for name in set(names)) or None
