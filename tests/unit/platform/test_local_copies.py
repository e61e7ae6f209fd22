"""A process's local copies of cached entries: bounded, expiring, and never kept across a bump."""

from __future__ import annotations

import time

from mercato.platform.local_cache import LocalCopies


def listening(ttl: float = 60.0, max_bytes: int = 1_000) -> LocalCopies:
    copies = LocalCopies(ttl, max_bytes)
    copies.listening = True
    return copies


def test_a_copy_is_kept_only_while_the_bumps_are_heard() -> None:
    copies = LocalCopies(60.0, 1_000)
    copies.put("k", b"v", copies.epoch)
    assert copies.get("k") is None

    copies.listening = True
    copies.put("k", b"v", copies.epoch)
    assert copies.get("k") == b"v"


def test_a_bump_drops_every_copy_and_a_read_from_before_it_is_not_kept() -> None:
    copies = listening()
    copies.put("a", b"1", copies.epoch)
    read_before = copies.epoch

    copies.invalidate()
    copies.put("b", b"2", read_before)

    assert copies.get("a") is None
    assert copies.get("b") is None


def test_the_least_recently_used_copies_go_first_past_the_byte_bound() -> None:
    copies = listening(max_bytes=10)
    copies.put("a", b"xxxx", copies.epoch)
    copies.put("b", b"xxxx", copies.epoch)
    assert copies.get("a") == b"xxxx"  # now b is the least recently used

    copies.put("c", b"xxxx", copies.epoch)

    assert copies.get("b") is None
    assert copies.get("a") == b"xxxx"
    assert copies.get("c") == b"xxxx"


def test_a_copy_expires_after_its_ttl() -> None:
    copies = listening(ttl=0.01)
    copies.put("a", b"1", copies.epoch)
    time.sleep(0.02)
    assert copies.get("a") is None


def test_a_zero_ttl_keeps_nothing() -> None:
    copies = listening(ttl=0.0)
    copies.put("a", b"1", copies.epoch)
    assert copies.get("a") is None
