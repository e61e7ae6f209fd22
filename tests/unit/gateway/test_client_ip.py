"""Which address a request comes from: `X-Forwarded-For` is believed only from trusted proxies."""

from __future__ import annotations

import pytest

from mercato.gateway.client_ip import client_ip, parse_trusted
from mercato.platform.config import Settings

PROXIES = parse_trusted("10.0.0.0/8, 192.168.1.7, 2001:db8::/32")


def test_without_trusted_proxies_the_header_is_never_believed() -> None:
    assert client_ip("203.0.113.9", ["198.51.100.1"], ()) == "203.0.113.9"
    assert client_ip("10.0.0.2", ["198.51.100.1"], ()) == "10.0.0.2"


def test_an_untrusted_peer_is_the_client_whatever_its_header_says() -> None:
    # A client talking to the gateway directly, claiming to be someone else.
    assert client_ip("203.0.113.9", ["198.51.100.1, 10.0.0.2"], PROXIES) == "203.0.113.9"


def test_behind_a_trusted_proxy_the_right_most_untrusted_address_is_the_client() -> None:
    # The client sent a spoofed header; the proxy appended the address it really saw.
    assert client_ip("10.0.0.2", ["1.1.1.1, 198.51.100.7"], PROXIES) == "198.51.100.7"


def test_a_chain_of_trusted_proxies_is_skipped_across_header_lines() -> None:
    lines = ["6.6.6.6, 198.51.100.7", "192.168.1.7, 10.4.4.4"]
    assert client_ip("10.0.0.2", lines, PROXIES) == "198.51.100.7"
    assert client_ip("2001:db8::1", ["2001:db9::5"], PROXIES) == "2001:db9::5"


def test_ports_and_brackets_are_stripped() -> None:
    assert client_ip("10.0.0.2", ["198.51.100.7:5123"], PROXIES) == "198.51.100.7"
    assert client_ip("10.0.0.2", ["[2001:db9::5]:443"], PROXIES) == "2001:db9::5"


def test_garbage_or_a_missing_header_leaves_the_last_trusted_hop() -> None:
    assert client_ip("10.0.0.2", [], PROXIES) == "10.0.0.2"
    assert client_ip("10.0.0.2", ["198.51.100.7, unknown"], PROXIES) == "10.0.0.2"
    assert client_ip("10.0.0.2", ["192.168.1.7"], PROXIES) == "192.168.1.7"


def test_no_peer_is_no_address() -> None:
    assert client_ip(None, ["198.51.100.7"], PROXIES) is None


def test_the_setting_rejects_what_is_not_an_address_or_network() -> None:
    assert Settings(trusted_proxies="10.0.0.0/8,::1").trusted_proxies == "10.0.0.0/8,::1"
    with pytest.raises(ValueError, match="not-a-proxy"):
        Settings(trusted_proxies="10.0.0.0/8, not-a-proxy")
