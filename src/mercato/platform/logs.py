"""Structured logs: one JSON object a line, with the trace, the span and what the line is about.

`configure_logging(level)` installs `JsonFormatter` on the root logger (`MERCATO_LOG_FORMAT=text`
keeps the human format for a terminal). Each line carries `trace_id` and `span_id` of the current
OpenTelemetry span when there is one — also a non-recording span continuing a caller's trace, so a
process without an exporter still stamps the trace the gateway started — and the fields bound with
`log_fields(...)` for the request or message being handled (the inbox binds the event type, its
aggregate id and the order it concerns).

Secrets never reach a line: whatever a message or an exception says, `redact` masks passwords,
bearer and JSON web tokens, refresh tokens and payment tokens before the line is written. The rule is
still never to log them; this is the net under it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace

_fields: ContextVar[Mapping[str, str]] = ContextVar("mercato_log_fields", default={})  # noqa: B039 - never mutated

MASK = "[redacted]"
_SECRETS = [
    # key=value or "key": "value" for keys that name a secret.
    re.compile(
        r"""(?i)(["']?(?:password|passwd|secret|token|access_?token|refresh_?token|payment_?token|"""
        r"""authorization|api_?key)["']?\s*[:=]\s*["']?)([^"'\s,}&]+)"""
    ),
    re.compile(r"(?i)(bearer\s+)([A-Za-z0-9._~+/=-]+)"),
    re.compile(r"()(eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*)"),  # a JWT
    re.compile(r"()\b(tok_[A-Za-z0-9_]+)"),  # a payment provider's card token
]


def redact(text: str) -> str:
    for pattern in _SECRETS:
        text = pattern.sub(lambda m: m.group(1) + MASK, text)
    return text


@contextlib.contextmanager
def log_fields(**fields: object) -> Iterator[None]:
    """Adds `fields` to every line logged inside the block (in this task and those it starts)."""
    merged = {**_fields.get(), **{k: str(v) for k, v in fields.items() if v not in (None, "")}}
    token = _fields.set(merged)
    try:
        yield
    finally:
        _fields.reset(token)


def message_fields(event_type: str, aggregate_id: str, payload: Mapping[str, Any]) -> dict[str, str]:
    """What an event's log lines should name: its type, its aggregate and the order it concerns."""
    fields = {"event_type": event_type, "aggregate_id": aggregate_id}
    for key in ("order_id", "order_reference", "reference"):
        value = payload.get(key)
        if isinstance(value, str) and value:
            fields["order_id"] = value
            break
    return fields


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            line["trace_id"] = format(context.trace_id, "032x")
            line["span_id"] = format(context.span_id, "016x")
        line.update(_fields.get())
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return redact(json.dumps(line, default=str, ensure_ascii=False))


class RedactingFormatter(logging.Formatter):
    """The human format, with the same net for secrets."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure_logging(level: str, fmt: str = "json") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "text":
        handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    else:
        handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("alembic").setLevel(logging.WARNING)
