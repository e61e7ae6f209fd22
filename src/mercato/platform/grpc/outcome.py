"""The status code a caller gets from a unary handler, whatever way the handler ends."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import grpc


def _deadline_passed(context: Any) -> bool:
    remaining = context.time_remaining()
    return remaining is not None and remaining <= 0


async def run_recording_code(
    inner: Callable[[Any, Any], Awaitable[Any]],
    request: Any,
    context: Any,
    record: Callable[[grpc.StatusCode], None],
) -> Any:
    """Run `inner(request, context)` and hand `record` the final status code: OK, the code the call
    aborted with, DEADLINE_EXCEEDED or CANCELLED when grpc cancelled it, UNKNOWN for an exception nobody
    mapped (what grpc answers then)."""
    code = grpc.StatusCode.UNKNOWN
    try:
        response = await inner(request, context)
        code = context.code() or grpc.StatusCode.OK
        return response
    except grpc.aio.AbortError:
        code = context.code() or grpc.StatusCode.UNKNOWN
        raise
    except asyncio.CancelledError:
        # grpc cancels the handler when the caller goes away or its deadline passes.
        code = grpc.StatusCode.DEADLINE_EXCEEDED if _deadline_passed(context) else grpc.StatusCode.CANCELLED
        raise
    finally:
        record(code)
