"""The operator's commands of `mercato`: `verify` (the invariant checker). Kept out of `cli.py`, which
registers them (`register`), so that file stays the server commands."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from mercato.app.invariants import Limits, Report, Scope


def render(report: Report, console: Console, *, shown: int = 50) -> None:
    """The summary table, then the violations (the first `shown` of them)."""
    table = Table("check", "checked", "violations", "note")
    for result in report.results:
        failed = len(result.violations)
        table.add_row(
            result.name,
            str(result.checked),
            f"[bold red]{failed}[/]" if failed else "[green]0[/]",
            result.note,
        )
    console.print(table)
    violations = report.violations
    if violations:
        listing = Table("check", "subject", "violation")
        for violation in violations[:shown]:
            listing.add_row(violation.check, violation.subject, violation.detail)
        console.print(listing)
        if len(violations) > shown:
            console.print(f"… and {len(violations) - shown} more", highlight=False)


def verify(
    since_minutes: Annotated[
        float | None,
        typer.Option("--since-minutes", min=0, help="Check only events and messages of the last N minutes."),
    ] = None,
    grace: Annotated[
        float, typer.Option(min=0, help="Seconds an order may stay in flight past its saga's deadline.")
    ] = 60.0,
    quiescence: Annotated[
        float, typer.Option(min=0, help="Seconds after which an unpublished outbox event is a violation.")
    ] = 30.0,
) -> None:
    """Check the invariants across every context (read-only): orders settled or legitimately in flight,
    money reconciled, stock consistent, no double capture, no message applied twice, outboxes drained,
    carts of confirmed orders emptied. Exits 1 on any violation."""
    from mercato.app.components import redis_client
    from mercato.app.invariants import verify as run_checks
    from mercato.cli import _engines, _one_line_errors, _settings
    from mercato.platform.db import Database

    settings = _settings()
    scope = Scope(since=datetime.now(UTC) - timedelta(minutes=since_minutes) if since_minutes else None)
    limits = Limits(
        in_flight_grace=timedelta(seconds=grace),
        quiescence=timedelta(seconds=quiescence),
        cart_ttl=timedelta(seconds=settings.cart_ttl_seconds),
    )
    with _one_line_errors(), _engines(settings) as resolved:

        async def run() -> Report:
            db = Database(resolved.database_url or "", pool_size=1, application_name="mercato-verify")
            redis = redis_client(resolved.redis_url or "")
            try:
                return await run_checks(db, redis, resolved.namespace, scope=scope, limits=limits)
            finally:
                await redis.aclose()
                await db.dispose()

        report = asyncio.run(run())
    render(report, Console())
    if not report.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(verify)
