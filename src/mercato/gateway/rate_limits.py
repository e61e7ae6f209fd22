"""The gateway's rate limits on what an anonymous client can make the system store or do at will.

`cartCreate` without a sign-in stores a cart in Redis for a week, so one address could fill Redis; and
`checkoutComplete` reaches payments' vault and the orders, so one customer (or one address without a
sign-in) could flood them; `passwordResetRequest` sends an email, so one client could flood an inbox.
Each is a fixed-window counter (`platform.rate_limit`, shared with the sign-in throttle) keyed by the
client address `gateway.client_ip` gives (X-Forwarded-For only from MERCATO_TRUSTED_PROXIES), by the
customer, or by the email a reset is asked for. A signed-in customer's `cartCreate` is not limited: it
answers their one cart. Redis down: fail open, like the throttle.
"""

from __future__ import annotations

from redis.asyncio import Redis

from mercato.platform.auth import Principal
from mercato.platform.config import Settings
from mercato.platform.rate_limit import FixedWindow, RateLimited


class GatewayRateLimits:
    def __init__(self, redis: Redis, settings: Settings) -> None:
        self.settings = settings
        self.window = FixedWindow(
            redis, settings.namespace, "ratelimit", window_seconds=settings.rate_limit_window_seconds
        )
        self.reset_window = FixedWindow(
            redis,
            settings.namespace,
            "ratelimit:reset",
            window_seconds=settings.password_reset_window_seconds,
        )

    async def cart_create(self, principal: Principal | None, ip: str | None) -> None:
        """Raise `RateLimited` when an anonymous address created too many carts in the window."""
        if principal is None and ip is not None:
            await self._count(
                "cart creations", self.window.key("cart_create", "ip", ip), self.settings.cart_create_per_ip
            )

    async def checkout(self, principal: Principal | None, ip: str | None) -> None:
        """Raise `RateLimited` when this customer (or anonymous address) tried too many checkouts."""
        if principal is not None:
            key = self.window.key("checkout", "customer", str(principal.user_id))
            await self._count("checkout attempts", key, self.settings.checkout_per_customer)
        elif ip is not None:
            await self._count(
                "checkout attempts", self.window.key("checkout", "ip", ip), self.settings.checkout_per_ip
            )

    async def password_reset_request(self, email: str, ip: str | None) -> None:
        """Raise `RateLimited` when this email (or this address) asked for too many reset emails.

        The email is counted case-folded and trimmed, as the account lookup matches it, so spelling it
        differently does not buy more emails."""
        window = self.reset_window
        keys = [window.key("email", email.strip().casefold())]
        limits = [self.settings.password_reset_requests_per_email]
        if ip is not None:
            keys.append(window.key("ip", ip))
            limits.append(self.settings.password_reset_requests_per_ip)
        counts = await window.hit(keys)
        if counts is not None and any(count > limit for count, limit in zip(counts, limits, strict=True)):
            raise RateLimited("password reset requests", window.window_seconds)

    async def _count(self, what: str, key: str, limit: int) -> None:
        counts = await self.window.hit([key])
        if counts is not None and counts[0] > limit:
            raise RateLimited(what, self.window.window_seconds)
