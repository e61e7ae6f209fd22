"""The spans of an event consumer: one CONSUMER span per message, a child of the trace context the
event was written in (the message's `traceparent` header, else the envelope's `trace`), and, for a batch
of several, one more CONSUMER span (`process batch`) that links to every message's span.

A run of several messages given to a batch handler at once runs under the batch span; the handler
makes one message's span current with `within_message(envelope)` around what it does for that message
alone (events it writes per message then continue that message's trace, as they do one by one)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator, Sequence
from contextvars import ContextVar

from nats.aio.msg import Msg
from opentelemetry import trace
from opentelemetry.trace import Link, Span, SpanKind

from mercato.platform import telemetry
from mercato.platform.events import Envelope
from mercato.platform.logs import message_fields

DUPLICATE = "mercato.inbox.duplicate"
ROLLED_BACK = "mercato.inbox.batch_rolled_back"
TRACER = "mercato.platform.inbox"

# The consumer spans of the messages of the run a batch handler is applying, by event id.
_RUN_SPANS: ContextVar[dict[uuid.UUID, Span] | None] = ContextVar("inbox_run_spans", default=None)


def message_span(msg: Msg, envelope: Envelope, durable: str) -> Span:
    """The message's CONSUMER span (started, not current), a child of the trace it was written in."""
    return telemetry.tracer(TRACER).start_span(
        f"process {envelope.type}",
        context=telemetry.extract(_trace_of(msg, envelope)),
        kind=SpanKind.CONSUMER,
        attributes={
            "messaging.system": "nats",
            "messaging.operation.type": "process",
            "messaging.destination.name": msg.subject,
            "messaging.consumer.group.name": durable,
            "messaging.message.id": str(envelope.id),
        },
    )


def batch_span(spans: Sequence[Span], durable: str) -> Span:
    """The span of a batch applied in one transaction, linked to each of its messages' spans."""
    return telemetry.tracer(TRACER).start_span(
        "process batch",
        kind=SpanKind.CONSUMER,
        links=[Link(s.get_span_context()) for s in spans],
        attributes={
            "messaging.system": "nats",
            "messaging.operation.type": "process",
            "messaging.consumer.group.name": durable,
            "messaging.batch.message_count": len(spans),
        },
    )


def log_fields_of(envelope: Envelope) -> dict[str, str]:
    return message_fields(envelope.type, envelope.aggregate_id, envelope.payload)


def end(*spans: Span) -> None:
    for span in spans:
        span.end()


def _trace_of(msg: Msg, envelope: Envelope) -> dict[str, str]:
    """The W3C entries the event was published with: headers first (what the relay set), else the body."""
    headers = msg.headers or {}
    if telemetry.TRACEPARENT in headers:
        return {k: headers[k] for k in telemetry.TRACE_KEYS if k in headers}
    return envelope.trace


@contextlib.contextmanager
def run_of(envelopes: Sequence[Envelope], spans: Sequence[Span]) -> Iterator[None]:
    """While a run is applied: each of its messages' span, for `within_message`."""
    token = _RUN_SPANS.set({e.id: s for e, s in zip(envelopes, spans, strict=True)})
    try:
        yield
    finally:
        _RUN_SPANS.reset(token)


@contextlib.contextmanager
def within_message(envelope: Envelope) -> Iterator[None]:
    """`envelope`'s consumer span current, inside a batch handler's run; anywhere else, nothing changes."""
    span = (_RUN_SPANS.get() or {}).get(envelope.id)
    if span is None:
        yield
        return
    with trace.use_span(span, record_exception=False, set_status_on_exception=False):
        yield
