"""Generated-input fuzzing (issue 12): requests generated from `schema.graphql` with hostile values, sent
to the real gateway in process, as an administrator, two customers and anonymously. None may get an
HTTP 5xx or an INTERNAL error, and none that was refused may have written anything.

`make test` sends a few hundred (derandomized: the same ones on every run); `make fuzz` sends
FUZZ_EXAMPLES of them (10,000) and prints the figures recorded in docs/security.md. Hypothesis runs in
a worker thread and hands each request to the session's event loop, so the server, its pools and
this suite's fixtures all stay on one loop; every finding is collected, none stops the run, and the
test fails at the end listing each distinct one."""

from __future__ import annotations

import asyncio
import logging
import os
from concurrent.futures import TimeoutError as FutureTimeout

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings

from tests.fuzz.operations import requests
from tests.fuzz.oracle import Errors, Finding, Fingerprint, Tally, judge
from tests.fuzz.request import Request
from tests.fuzz.world import Target

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "300"))
REQUEST_TIMEOUT = 30.0


async def send(target: Target, request: Request) -> httpx.Response:
    http = target.callers[request.caller]
    if request.method == "GET":
        return await http.get(f"/graphql?{request.params}")

    headers = {"content-type": request.content_type} if request.content_type else {}
    if request.authorization is not None:
        headers["authorization"] = request.authorization
    return await http.post("/graphql", content=request.body, headers=headers)


async def check(
    target: Target, fingerprint: Fingerprint, errors: Errors, request: Request, tally: Tally
) -> None:
    errors.take()
    before = await fingerprint.take(carts=True)
    try:
        response = await asyncio.wait_for(send(target, request), REQUEST_TIMEOUT)
    except TimeoutError:
        tally.findings.append(Finding("hang", request.label, f"no answer in {REQUEST_TIMEOUT} s", request))
        return
    except Exception as exc:  # noqa: BLE001 (out of the ASGI app: a server would answer it with a 500)
        tally.requests += 1
        tally.statuses[500] += 1
        tally.findings.append(Finding("5xx", request.label, f"the app raised {exc!r:.300}", request))
        return
    after = await fingerprint.take(carts=True)
    tally.requests += 1
    tally.statuses[response.status_code] += 1
    tally.labels[request.label] += 1
    tally.findings.extend(
        judge(tally, request, response.status_code, response.content, before, after, errors)
    )


# Hypothesis keeps a repr of what it drew; a 100,001-character string makes a long one, on purpose.
@pytest.mark.filterwarnings("ignore:Generating overly large repr")
async def test_generated_requests_get_no_5xx_no_internal_error_and_no_partial_write(target: Target) -> None:
    # Given the quiet server with its world, and a fingerprint of everything a request could write
    runtime = target.runtime
    fingerprint = Fingerprint(runtime.db, runtime.redis, runtime.settings.namespace)
    await fingerprint.prepare()
    errors = Errors()
    logging.getLogger().addHandler(errors)
    loop = asyncio.get_running_loop()
    tally = Tally()

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(requests(target.known))
    def one(request: Request) -> None:
        future = asyncio.run_coroutine_threadsafe(check(target, fingerprint, errors, request, tally), loop)
        try:
            future.result(timeout=REQUEST_TIMEOUT * 3)
        except FutureTimeout:
            tally.findings.append(Finding("hang", request.label, "the check did not finish", request))

    # When every generated request is sent
    try:
        await asyncio.to_thread(one)
    finally:
        logging.getLogger().removeHandler(errors)
    print(tally.summary())
    if os.environ.get("FUZZ_VERBOSE"):
        print(sorted(tally.codes.items()))
        print(*tally.messages.most_common(25), sep="\n")

    # Then none got a 5xx, an INTERNAL error or wrote anything it was refused
    assert tally.findings == [], tally.report()
    assert tally.requests == EXAMPLES
