"""The client's address, for per-IP throttling and rate limits.

`X-Forwarded-For` is whatever the client wants it to be, except for the entries a proxy we run
appended. So the header is read only when the direct peer is one of `settings.trusted_proxies`, and
then from the right: each trusted hop is skipped, and the first address that is not a trusted proxy
is the client (the right-most untrusted address). Anything a client wrote further left is ignored,
so a spoofed header can never pick another client's (or a fresh, unthrottled) address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from functools import lru_cache

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@lru_cache(maxsize=8)
def parse_trusted(spec: str) -> tuple[Network, ...]:
    """`10.0.0.0/8, 192.168.1.7, ::1` -> networks (a bare address is a /32 or /128). Raises
    ValueError for an entry that is neither (settings validation calls this at startup)."""
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in spec.split(",") if part.strip())


def _address(text: str) -> Address | None:
    text = text.strip()
    # `[2001:db8::1]:443` and `203.0.113.7:443` are how some proxies write a peer with its port.
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _trusted(address: Address, trusted: Sequence[Network]) -> bool:
    return any(address in network for network in trusted)


def client_ip(peer: str | None, forwarded_for: Sequence[str], trusted: Sequence[Network]) -> str | None:
    """The client's address: `peer` itself unless it is a trusted proxy, else the right-most address
    of `X-Forwarded-For` (every header line, in order) that is not a trusted proxy.

    When the walk meets an entry that is not an address ("unknown", garbage), or runs out with every
    hop trusted, the last trusted hop stands for the client: nothing left of it can be believed.
    """
    if peer is None:
        return None
    current = _address(peer)
    if current is None or not trusted or not _trusted(current, trusted):
        return peer
    hops = [hop for line in forwarded_for for hop in line.split(",") if hop.strip()]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            break
        current = address
        if not _trusted(address, trusted):
            break
    return str(current)
