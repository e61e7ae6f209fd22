from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from mercato.app.runtime import Runtime
from mercato.platform.config import Settings
from mercato.platform.engines import EngineUrls
from tests.fuzz.world import Target, build_target, quiet_runtime


@pytest.fixture(scope="package")
async def quiet(engine_urls: EngineUrls, settings: Settings) -> AsyncIterator[Runtime]:
    """Every context in process on a database of its own, with nothing running in the background."""
    async for runtime in quiet_runtime(engine_urls, settings):
        yield runtime


@pytest.fixture(scope="package")
async def target(quiet: Runtime) -> AsyncIterator[Target]:
    built = await build_target(quiet)
    yield built
    for http in built.callers.values():
        await http.aclose()
