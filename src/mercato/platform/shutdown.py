"""Stopping background work within a grace period, whatever it is doing.

Why not `task.cancel(); await task`: on Python 3.11 a cancellation can be lost. `asyncio.wait_for`
returns the awaited result instead of raising CancelledError when the result and the cancellation
arrive in the same loop iteration, and the NATS client's `next_msg` (what `fetch` waits in) runs
`wait_for` in a task of its own, so the consumer that called it never sees the cancellation either: it
carries on with its loop, and whoever awaits it waits forever (`mercato dev` ignoring Ctrl-C).

So every loop that runs until stopped also checks a flag of its own (`Stopping`) at each turn, and
`stop_tasks` cancels, waits, cancels again what is still running, and gives up after the grace period
instead of waiting for ever. Our own waits use `wait_event` (`asyncio.timeout`, which never loses a
cancellation) rather than `wait_for`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Iterable

log = logging.getLogger(__name__)

# How long a process's background work gets to stop before it is abandoned (the process then exits
# anyway; what was in flight is redelivered or taken by another process's poll).
STOP_GRACE_SECONDS = 5.0
# How often a task that has not finished is cancelled again.
RECANCEL_SECONDS = 0.5


class Stopping:
    """A flag a run-until-stopped loop checks at every turn, set by whoever stops it."""

    def __init__(self) -> None:
        self._set = False

    def set(self) -> None:
        self._set = True

    def clear(self) -> None:
        self._set = False

    def __bool__(self) -> bool:
        return self._set


async def wait_event(event: asyncio.Event, timeout: float) -> bool:  # noqa: ASYNC109 - the helper is the timeout
    """Whether `event` was set within `timeout` seconds; `asyncio.wait_for(event.wait(), timeout)`
    without its lost cancellations."""
    try:
        async with asyncio.timeout(timeout):
            await event.wait()
    except TimeoutError:
        return False
    return True


async def stop_tasks(tasks: Iterable[asyncio.Task[object]], grace: float = STOP_GRACE_SECONDS) -> int:
    """Cancel `tasks` and wait for them up to `grace` seconds, cancelling again every
    `RECANCEL_SECONDS` those still running. Returns how many did not stop (logged, left behind)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace
    pending = {task for task in tasks if not task.done()}
    for task in pending:
        task.cancel()
    while pending:
        left = deadline - loop.time()
        if left <= 0:
            break
        _, pending = await asyncio.wait(pending, timeout=min(RECANCEL_SECONDS, left))
        for task in pending:
            task.cancel()  # its last cancellation may have been lost: ask again
    for task in pending:
        log.error("task %s did not stop within %.1f s; leaving it behind", task.get_name(), grace)
    return len(pending)


async def within(step: Awaitable[object], seconds: float, what: str) -> bool:
    """Run a shutdown step for at most `seconds`; whether it finished (a failure is logged, never
    raised: the rest of the shutdown goes on)."""
    task = asyncio.ensure_future(step)
    done, _ = await asyncio.wait({task}, timeout=max(seconds, 0.0))
    if not done:
        log.error("%s did not finish within %.1f s; going on without it", what, seconds)
        await stop_tasks([task], grace=RECANCEL_SECONDS)
        return False
    if not task.cancelled() and task.exception() is not None:
        log.error("%s failed", what, exc_info=task.exception())
        return False
    return True
