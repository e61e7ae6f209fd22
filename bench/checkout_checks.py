"""What the contended checkout runs (hot SKU, rush) must leave behind, read from the run's database and
the server's logs: stock of one SKU never oversold nor negative, every sold unit belonging to a
confirmed order, no deadlock and no consumer retry."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from bench.environment import BenchEngines, _asyncpg_dsn
from bench.server import Server, TopologyServer
from bench.validate import BadResponse

# asyncpg's DeadlockDetectedError says "deadlock detected"; the inbox logs "<consumer>: <event> failed
# (try N)", "consumer … failed; retrying" and "parking <id> after N tries".
DEADLOCK_LINE = re.compile(r"deadlock detected", re.IGNORECASE)
RETRY_LINE = re.compile(r"failed \(try \d+\)|failed; retrying|\bparking\b", re.IGNORECASE)


async def set_stock(engines: BenchEngines, units: dict[str, int], others_to_zero: bool = False) -> None:
    """Set one stock row of each SKU (its first warehouse's) to `units[sku]`, through the inventory
    service; with `others_to_zero`, the SKU's other rows to 0, so the SKU's stock is exactly that."""
    from mercato.app.runtime import Runtime
    from mercato.inventory import AdjustmentReason, AdjustStock

    conn = await asyncpg.connect(_asyncpg_dsn(engines.database_url))
    try:
        rows = await conn.fetch(
            "SELECT sku, warehouse_id FROM inventory.stock WHERE sku = ANY($1::text[]) "
            "ORDER BY sku, warehouse_id",
            list(units),
        )
    finally:
        await conn.close()
    found = {row["sku"] for row in rows}
    if found != set(units):
        raise BadResponse(f"checkout: no stock row for {sorted(set(units) - found)[:5]}")
    runtime = Runtime(engines.settings())
    try:
        seen: set[str] = set()
        for row in rows:
            first = row["sku"] not in seen
            seen.add(row["sku"])
            if not first and not others_to_zero:
                continue
            cmd = AdjustStock(
                sku=row["sku"],
                warehouse_id=row["warehouse_id"],
                reason=AdjustmentReason.COUNTED.name,
                actor="bench",
                set_on_hand=units[row["sku"]] if first else 0,
                note="checkout benchmark",
            )
            await runtime.inventory.handle(cmd)
    finally:
        await runtime.stop()


@dataclass(frozen=True)
class StockCheck:
    """One SKU after a run, against the units it was given before it."""

    sku: str
    stock: int  # units on hand before the run (every row of the SKU)
    on_hand: int  # after, every row
    reserved: int
    min_on_hand: int  # the lowest row
    min_reserved: int
    committed_units: int  # held by reservations COMMITTED (sold)
    confirmed_units: int  # in the lines of CONFIRMED orders

    @property
    def oversold(self) -> bool:
        sold = max(self.committed_units, self.confirmed_units)
        return sold > self.stock or self.min_on_hand < 0 or self.min_reserved < 0

    @property
    def consistent(self) -> bool:
        """Every unit that left the shelf is in a confirmed order, and nothing is still held."""
        return (
            self.on_hand == self.stock - self.committed_units
            and self.committed_units == self.confirmed_units
            and self.reserved == 0
        )

    def text(self) -> str:
        return (
            f"{self.sku}: {self.stock:,} units before; {self.confirmed_units:,} in confirmed orders, "
            f"{self.committed_units:,} committed by inventory; after: {self.on_hand:,} on hand, "
            f"{self.reserved:,} reserved (lowest row {self.min_on_hand:,} / {self.min_reserved:,})"
        )


async def stock_check(engines: BenchEngines, sku: str, stock: int) -> StockCheck:
    conn = await asyncpg.connect(_asyncpg_dsn(engines.database_url))
    try:
        row = await conn.fetchrow(
            "SELECT coalesce(sum(on_hand), 0) AS on_hand, coalesce(sum(reserved), 0) AS reserved, "
            "coalesce(min(on_hand), 0) AS min_on_hand, coalesce(min(reserved), 0) AS min_reserved "
            "FROM inventory.stock WHERE sku = $1",
            sku,
        )
        committed = await conn.fetchval(
            "SELECT coalesce(sum(a.quantity), 0) FROM inventory.reservation_allocations a "
            "JOIN inventory.reservations r ON r.id = a.reservation_id "
            "WHERE a.sku = $1 AND r.status = 'COMMITTED'",
            sku,
        )
        confirmed = await conn.fetchval(
            "SELECT coalesce(sum((line->>'quantity')::int), 0) FROM orders.orders o, "
            "jsonb_array_elements(o.lines) AS line WHERE o.status = 'CONFIRMED' AND line->>'sku' = $1",
            sku,
        )
    finally:
        await conn.close()
    assert row is not None
    return StockCheck(
        sku=sku,
        stock=stock,
        on_hand=int(row["on_hand"]),
        reserved=int(row["reserved"]),
        min_on_hand=int(row["min_on_hand"]),
        min_reserved=int(row["min_reserved"]),
        committed_units=int(committed),
        confirmed_units=int(confirmed),
    )


@dataclass
class Trouble:
    """Deadlocks and retried or parked messages during a run."""

    deadlocks: int = 0  # pg_stat_database.deadlocks of the run's database
    dead_letters: int = 0  # rows added to any context's dead_letters
    log_deadlocks: int = 0  # server log lines
    log_retries: int = 0
    samples: list[str] = field(default_factory=list)  # a few of those log lines

    @property
    def clean(self) -> bool:
        return not (self.deadlocks or self.dead_letters or self.log_deadlocks or self.log_retries)

    def text(self) -> str:
        return (
            f"{self.deadlocks} deadlocks (pg_stat_database), {self.log_deadlocks} `deadlock detected` "
            f"and {self.log_retries} consumer retry lines in the server logs, "
            f"{self.dead_letters} dead letters"
        )


def log_files(server: Server) -> list[Path]:
    """The server's own output, and (`mercato up`) each service's log."""
    files = [server.log_path]
    if isinstance(server, TopologyServer):
        files += sorted((server.data_dir / "logs").glob("*.log"))
    return files


def scan_logs(files: list[Path], offsets: dict[Path, int], trouble: Trouble) -> None:
    """Count the deadlock and retry lines written to `files` past `offsets`, into `trouble`."""
    for path in files:
        if not path.exists():
            continue
        with path.open("rb") as f:
            f.seek(offsets.get(path, 0))
            text = f.read().decode(errors="replace")
        for line in text.splitlines():
            if DEADLOCK_LINE.search(line):
                trouble.log_deadlocks += 1
            elif RETRY_LINE.search(line):
                trouble.log_retries += 1
            else:
                continue
            if len(trouble.samples) < 3:
                trouble.samples.append(line.strip()[:200])


class TroubleWatch:
    """Counters and log positions at the start of a run; `finish` reads what changed since."""

    def __init__(self, engines: BenchEngines, server: Server) -> None:
        self.engines = engines
        self.server = server
        self.offsets: dict[Path, int] = {}
        self.start: tuple[int, int] = (0, 0)

    async def begin(self) -> None:
        self.offsets = {p: p.stat().st_size for p in log_files(self.server) if p.exists()}
        self.start = await self._counters()

    async def finish(self) -> Trouble:
        deadlocks, dead_letters = await self._counters()
        trouble = Trouble(deadlocks - self.start[0], dead_letters - self.start[1])
        scan_logs(log_files(self.server), self.offsets, trouble)
        return trouble

    async def _counters(self) -> tuple[int, int]:
        conn = await asyncpg.connect(_asyncpg_dsn(self.engines.database_url))
        try:
            await conn.execute("SELECT pg_stat_clear_snapshot()")
            deadlocks = await conn.fetchval(
                "SELECT deadlocks FROM pg_stat_database WHERE datname = $1", self.engines.database
            )
            schemas = await conn.fetch(
                "SELECT table_schema FROM information_schema.tables WHERE table_name = 'dead_letters'"
            )
            parked = 0
            for row in schemas:
                parked += await conn.fetchval(f'SELECT count(*) FROM "{row["table_schema"]}".dead_letters')
        finally:
            await conn.close()
        return int(deadlocks or 0), parked
