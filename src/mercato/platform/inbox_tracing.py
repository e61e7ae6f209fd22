"""The spans of an event consumer: one CONSUMER span per message, a child of the trace context the
event was written in (the message's `traceparent` header, else the envelope's `trace`), and, for a batch
of several, one more CONSUMER span (`process batch`) that links to every message's span."""

from __future__ import annotations

from collections.abc import Sequence

from nats.aio.msg import Msg
from opentelemetry.trace import Link, Span, SpanKind

from mercato.platform import telemetry
from mercato.platform.events import Envelope
from mercato.platform.logs import message_fields

DUPLICATE = "mercato.inbox.duplicate"
ROLLED_BACK = "mercato.inbox.batch_rolled_back"
TRACER = "mercato.platform.inbox"


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
