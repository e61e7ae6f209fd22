"""Per-IP sign-in throttling through the `tokenCreate` resolver, with and without trusted proxies:
a client cannot escape its counter (or charge another address) with a forged `X-Forwarded-For`."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from starlette.datastructures import Headers

from mercato.customers.client import InProcessCustomersClient
from mercato.platform.config import Settings
from tests.service.customers.conftest import PER_IP, new_email
from tests.service.customers.test_graphql import SCHEMA, TOKEN_CREATE

_counter = iter(range(1, 250))


def _ip(prefix: str = "198.51") -> str:
    """A documentation-range address no other test throttles (the Redis counters are shared)."""
    n = next(_counter)
    return f"{prefix}.{n // 250}.{n % 250}"


async def _sign_in(
    client: InProcessCustomersClient, settings: Settings, peer: str, forwarded: str | None, password: str
) -> str:
    raw = [(b"x-forwarded-for", forwarded.encode())] if forwarded is not None else []
    request = SimpleNamespace(client=SimpleNamespace(host=peer), headers=Headers(raw=raw))
    context = SimpleNamespace(
        clients=SimpleNamespace(customers=client), principal=None, request=request, settings=settings
    )
    result = await SCHEMA.execute(
        TOKEN_CREATE, variable_values={"email": new_email(), "password": password}, context_value=context
    )
    assert result.errors is None, result.errors
    data: Any = result.data
    errors = data["tokenCreate"]["errors"]
    return str(errors[0]["code"]) if errors else "OK"


async def test_a_spoofed_header_from_an_untrusted_peer_does_not_escape_the_peers_counter(
    client: InProcessCustomersClient, auth_settings: Settings
) -> None:
    # Given no trusted proxies: the direct peer is the client
    peer = _ip("203.0")

    # When it guesses, each time claiming another address
    codes = [await _sign_in(client, auth_settings, peer, _ip(), "wrong password") for _ in range(PER_IP + 1)]

    # Then its own address is throttled all the same
    assert codes == ["INVALID_CREDENTIALS"] * PER_IP + ["TOO_MANY_ATTEMPTS"]


async def test_behind_a_trusted_proxy_each_client_has_its_own_counter(
    client: InProcessCustomersClient, auth_settings: Settings
) -> None:
    # Given a trusted proxy through which every shopper arrives
    settings = auth_settings.model_copy(update={"trusted_proxies": "10.9.0.0/16"})
    proxy, guesser, shopper = "10.9.0.1", _ip(), _ip()

    # When one client behind it exhausts its limit
    guesses = [await _sign_in(client, settings, proxy, guesser, "wrong password") for _ in range(PER_IP + 1)]
    # Then another client behind the same proxy is not throttled
    other = await _sign_in(client, settings, proxy, shopper, "wrong password")

    assert guesses == ["INVALID_CREDENTIALS"] * PER_IP + ["TOO_MANY_ATTEMPTS"]
    assert other == "INVALID_CREDENTIALS"


async def test_behind_a_trusted_proxy_a_forged_left_part_of_the_header_is_ignored(
    client: InProcessCustomersClient, auth_settings: Settings
) -> None:
    # Given a trusted proxy that appends the address it saw to whatever the client sent
    settings = auth_settings.model_copy(update={"trusted_proxies": "10.9.0.0/16"})
    proxy, guesser = "10.9.0.1", _ip()

    # When the client forges a new address on every attempt
    codes = [
        await _sign_in(client, settings, proxy, f"{_ip('192.0')}, {guesser}", "wrong password")
        for _ in range(PER_IP + 1)
    ]

    # Then the right-most untrusted address (its real one) is what is throttled
    assert codes == ["INVALID_CREDENTIALS"] * PER_IP + ["TOO_MANY_ATTEMPTS"]
