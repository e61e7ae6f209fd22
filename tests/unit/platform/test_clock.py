"""The contexts' clock (platform/clock.py): the wall clock plus an offset, moved by a test's `step`
or followed from a file every process of a fault run reads; and a process hands the one clock it
built from its settings to every context it hosts (app/components.py)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import cast

import pytest

from mercato.app.components import (
    Engines,
    cart_component,
    customers_component,
    inventory_component,
    orders_component,
    payments_component,
)
from mercato.catalog.client import CatalogClient
from mercato.platform.clock import READ_EVERY_SECONDS, WallClock, utc_now, write_offset
from mercato.platform.config import Settings

JUMP = timedelta(seconds=150)


class Ticks:
    """A monotonic clock the test moves (how often the file is read, not what time it is)."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_a_clock_without_offset_reads_the_wall_clock() -> None:
    clock = WallClock()

    before = utc_now()
    read = clock()
    after = utc_now()

    assert before <= read <= after
    assert read.utcoffset() == timedelta(0)
    assert clock.offset == timedelta(0)


def test_a_step_moves_the_clock_by_exactly_the_step_and_back() -> None:
    clock = WallClock()

    clock.step(JUMP)
    before = utc_now()
    read = clock()
    after = utc_now()

    assert clock.offset == JUMP
    assert before + JUMP <= read <= after + JUMP
    clock.step(-JUMP)
    assert clock.offset == timedelta(0)


def test_a_clock_follows_the_offset_its_file_holds_from_the_first_reading(tmp_path: Path) -> None:
    path = tmp_path / "clock-offset"
    write_offset(path, JUMP)
    clock = WallClock(path)

    before = utc_now()
    read = clock()
    after = utc_now()

    assert clock.offset == JUMP
    assert before + JUMP <= read <= after + JUMP


def test_a_changed_file_is_followed_at_the_next_reading_interval_and_a_removed_one_means_no_offset(
    tmp_path: Path,
) -> None:
    path = tmp_path / "clock-offset"
    ticks = Ticks()
    clock = WallClock(path, monotonic=ticks)
    assert clock.offset == timedelta(0)  # no file yet: no jump yet

    write_offset(path, JUMP)
    assert clock.offset == timedelta(0)  # read less than an interval ago: not read again
    ticks.now += READ_EVERY_SECONDS
    assert clock.offset == JUMP

    write_offset(path, 2 * JUMP)
    ticks.now += READ_EVERY_SECONDS
    assert clock.offset == 2 * JUMP

    path.unlink()
    ticks.now += READ_EVERY_SECONDS
    assert clock.offset == timedelta(0)


def test_a_file_that_holds_no_number_keeps_the_last_offset(tmp_path: Path) -> None:
    path = tmp_path / "clock-offset"
    ticks = Ticks()
    write_offset(path, JUMP)
    clock = WallClock(path, monotonic=ticks)
    assert clock.offset == JUMP

    path.write_text("soon\n")
    ticks.now += READ_EVERY_SECONDS

    assert clock.offset == JUMP


def test_write_offset_leaves_only_the_file_behind(tmp_path: Path) -> None:
    path = tmp_path / "clock-offset"

    write_offset(path, -JUMP)

    assert [p.name for p in tmp_path.iterdir()] == ["clock-offset"]
    assert path.read_text() == "-150.0\n"


def test_a_clock_that_follows_a_file_cannot_be_stepped(tmp_path: Path) -> None:
    clock = WallClock(tmp_path / "clock-offset")

    with pytest.raises(ValueError, match="follows"):
        clock.step(JUMP)

    assert clock.offset == timedelta(0)


def test_every_context_of_a_process_reads_the_one_clock_its_settings_name(tmp_path: Path) -> None:
    path = tmp_path / "clock-offset"
    write_offset(path, JUMP)
    settings = Settings(
        database_url="postgresql://nobody@127.0.0.1:1/none",  # nothing connects when wired
        redis_url="redis://127.0.0.1:1/0",
        nats_url="nats://127.0.0.1:1",
        auth_secret="x" * 32,
        clock_offset_file=path,
        _env_file=None,
    )
    engines = Engines(settings)

    clocks = [
        inventory_component(engines).service.clock,
        orders_component(engines).service.clock,
        payments_component(engines).service.clock,
        customers_component(engines).service.clock,
        cart_component(engines, cast(CatalogClient, None)).service.deps.clock,  # never called here
    ]

    assert all(clock is engines.clock for clock in clocks)
    assert engines.clock.offset == JUMP


def test_no_offset_file_is_read_unless_a_setting_names_one() -> None:
    assert Settings(_env_file=None).clock_offset_file is None
