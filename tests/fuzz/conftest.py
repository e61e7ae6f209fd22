from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator

import pytest

from mercato.app.runtime import Runtime
from mercato.app.topology import GrpcTopology
from mercato.platform.config import Settings
from mercato.platform.engines import EngineUrls
from tests.fuzz.world import Target, build_target, quiet_runtime

# `make test` fuzzes the in-process topology; FUZZ_TOPOLOGY=grpc sends every call of the gateway to the
# contexts over gRPC instead (the gRPC edge applies the text rule again, and maps errors to statuses).
TOPOLOGY = os.environ.get("FUZZ_TOPOLOGY", "in-process")


@pytest.fixture(scope="package")
async def quiet(engine_urls: EngineUrls, settings: Settings) -> AsyncIterator[Runtime]:
    """Every context in process on a database of its own, with nothing running in the background."""
    async for runtime in quiet_runtime(engine_urls, settings):
        yield runtime


@contextlib.asynccontextmanager
async def serve(runtime: Runtime, topology: str) -> AsyncIterator[Target]:
    grpc = GrpcTopology(runtime) if topology == "grpc" else None
    built = await build_target(runtime, await grpc.start() if grpc else None)
    try:
        yield built
    finally:
        for http in built.callers.values():
            await http.aclose()
        if grpc is not None:
            await grpc.stop()


class Targets:
    """The gateway on each topology over the quiet runtime, each with its world, made when first asked
    for and shared by every test of the package."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.stack = contextlib.AsyncExitStack()
        self.served: dict[str, Target] = {}

    async def get(self, topology: str) -> Target:
        if topology not in self.served:
            self.served[topology] = await self.stack.enter_async_context(serve(self.runtime, topology))
        return self.served[topology]


@pytest.fixture(scope="package")
async def targets(quiet: Runtime) -> AsyncIterator[Targets]:
    made = Targets(quiet)
    yield made
    await made.stack.aclose()


@pytest.fixture(scope="package")
async def target(targets: Targets) -> Target:
    """The gateway the generated requests go to (FUZZ_TOPOLOGY), with its world."""
    return await targets.get(TOPOLOGY)


@pytest.fixture(scope="package", params=["in-process", "grpc"])
async def each_target(request: pytest.FixtureRequest, targets: Targets) -> Target:
    """The gateway on each topology: a found defect's test runs on both."""
    return await targets.get(request.param)
