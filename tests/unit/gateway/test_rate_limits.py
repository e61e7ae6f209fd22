"""The gateway's rate limits when Redis does not answer: they let requests through (and say so), as
the sign-in throttle does, so a Redis outage never stops carts or checkouts."""

from __future__ import annotations

import logging
import uuid

import pytest
from redis.asyncio import Redis

from mercato.gateway.rate_limits import GatewayRateLimits
from mercato.platform.auth import Principal, Role
from mercato.platform.config import Settings


async def test_the_limits_fail_open_when_redis_is_unreachable(caplog: pytest.LogCaptureFixture) -> None:
    # Given limits of one, on a Redis that refuses connections (nothing listens on port 1)
    settings = Settings(cart_create_per_ip=1, checkout_per_customer=1, checkout_per_ip=1, _env_file=None)  # type: ignore[call-arg]
    redis = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    limits = GatewayRateLimits(redis, settings)
    customer = Principal(user_id=uuid.uuid4(), email="c@example.com", role=Role.CUSTOMER)

    # When more requests than the limits allow arrive
    with caplog.at_level(logging.WARNING, logger="mercato.platform.rate_limit"):
        for _ in range(3):
            await limits.cart_create(None, "192.0.2.7")
            await limits.checkout(customer, "192.0.2.7")
            await limits.checkout(None, "192.0.2.7")
            await limits.password_reset_request("c@example.com", "192.0.2.7")
    await redis.aclose()

    # Then none was refused (no RateLimited raised), and each was reported
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 12
    assert all(w.startswith("rate limit unavailable") for w in warnings)
