"""JSON log lines: trace ids, bound fields, and secrets masked whatever a message says."""

from __future__ import annotations

import json
import logging

from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from mercato.platform.logs import MASK, JsonFormatter, log_fields, message_fields, redact


def record(message: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("mercato.test", logging.INFO, __file__, 1, message, args, None)


def test_a_line_carries_the_trace_and_the_bound_fields() -> None:
    context = SpanContext(trace_id=0xABC, span_id=0xDEF, is_remote=True, trace_flags=TraceFlags(1))

    with trace.use_span(NonRecordingSpan(context)), log_fields(order_id="o-1", empty=""):
        line = json.loads(JsonFormatter().format(record("captured %s", "o-1")))

    assert {k: line[k] for k in ("level", "logger", "message", "trace_id", "span_id", "order_id")} == {
        "level": "INFO",
        "logger": "mercato.test",
        "message": "captured o-1",
        "trace_id": f"{0xABC:032x}",
        "span_id": f"{0xDEF:016x}",
        "order_id": "o-1",
    }
    assert "empty" not in line


def test_outside_a_span_and_a_block_a_line_has_neither() -> None:
    line = json.loads(JsonFormatter().format(record("plain")))

    assert set(line) == {"ts", "level", "logger", "message"}


def test_secrets_are_masked() -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlX2hlcmU"
    text = (
        f'password=hunter2 {{"refresh_token": "rt_secret"}} Authorization: Bearer {jwt} '
        f"paymentToken: tok_visa_4242 token={jwt}"
    )

    masked = redact(text)

    assert masked == (
        f'password={MASK} {{"refresh_token": "{MASK}"}} Authorization: {MASK} {MASK} '
        f"paymentToken: {MASK} token={MASK}"
    )


def test_a_message_names_the_order_it_concerns() -> None:
    assert message_fields("payments.payment_captured", "intent-1", {"order_reference": "o-9"}) == {
        "event_type": "payments.payment_captured",
        "aggregate_id": "intent-1",
        "order_id": "o-9",
    }
