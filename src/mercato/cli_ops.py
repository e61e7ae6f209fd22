"""The operator's commands of `mercato`: `verify` (the invariant checker) and `ops` (repair tools).
Kept out of `cli.py`, which registers them (`register`), so that file stays the server commands."""

from __future__ import annotations

import asyncio
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from mercato.app.invariants import Limits, Report, Scope
from mercato.ops import cli_scaling  # noqa: F401 - registers `ops forecast` and `ops replay-scaling`
from mercato.ops.cli import ops_app  # one `mercato ops` group: the detector's commands and these
from mercato.platform.config import Settings

if TYPE_CHECKING:
    from mercato.app.ops import DeadLetter, StuckSaga


def _out() -> Console:
    """Standard output; piped (a script, a log), wide enough that ids are never wrapped."""
    return Console() if sys.stdout.isatty() else Console(width=220)


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
    render(report, _out())
    if not report.ok:
        raise typer.Exit(1)


def _audit_path(settings: Settings) -> Path:
    return settings.data_path / "ops-audit.jsonl"


def dead_letters(
    replay: Annotated[
        list[str] | None, typer.Option("--replay", help="Publish this parked event again (repeatable).")
    ] = None,
    replay_all: Annotated[
        bool, typer.Option("--replay-all", help="Publish every parked event again.")
    ] = False,
    actor: Annotated[str | None, typer.Option(help="Who acts (audit); default: the OS user.")] = None,
) -> None:
    """List the messages consumers parked after their last try; with --replay / --replay-all, publish them
    again (a new message id; every consumer is idempotent) and drop them from the list. Each replay is
    appended to <data dir>/ops-audit.jsonl."""
    from mercato.app.ops import Audit, replay_dead_letters
    from mercato.app.ops import dead_letters as parked
    from mercato.cli import _engines, _fail, _one_line_errors, _settings
    from mercato.platform.db import Database
    from mercato.platform.messaging import Broker

    settings = _settings()
    try:
        ids = [uuid.UUID(value) for value in replay or []]
    except ValueError:
        _fail("--replay takes an event id (a UUID)")
        raise
    with _one_line_errors(), _engines(settings) as resolved:

        async def run() -> tuple[list[DeadLetter], list[DeadLetter]]:
            db = Database(resolved.database_url or "", pool_size=2, application_name="mercato-ops")
            broker = Broker(resolved.nats_url or "", resolved.namespace)
            try:
                replayed: list[DeadLetter] = []
                if ids or replay_all:
                    await broker.connect()
                    audit = Audit(_audit_path(resolved), actor)
                    replayed = await replay_dead_letters(db, broker, audit, None if replay_all else ids)
                return replayed, await parked(db)
            finally:
                await broker.close()
                await db.dispose()

        replayed, left = asyncio.run(run())
    out = _out()
    if replayed:
        out.print(f"Replayed {len(replayed)} (audited in {_audit_path(settings)}).", highlight=False)
    table = Table("context", "consumer", "event id", "type", "failed at", "error")
    for letter in left:
        table.add_row(
            letter.schema,
            letter.consumer,
            str(letter.event_id),
            letter.type,
            f"{letter.failed_at:%Y-%m-%d %H:%M:%S}",
            letter.error[:80],
        )
    out.print(table)


def sagas(
    stuck: Annotated[bool, typer.Option("--stuck", help="Orders whose saga nothing drives on.")] = False,
    grace: Annotated[
        float, typer.Option(min=0, help="Seconds past its deadline a saga counts as stuck.")
    ] = 60.0,
    drive: Annotated[bool, typer.Option(help="Run the saga sweeper once now (audited).")] = False,
    resume: Annotated[
        list[str] | None,
        typer.Option(help="Re-arm this parked saga (an order id; repeatable; audited)."),
    ] = None,
    actor: Annotated[str | None, typer.Option(help="Who acts (audit); default: the OS user.")] = None,
) -> None:
    """List stuck sagas (--stuck), parked ones with their reason; with --drive, give every due saga
    its timeout now (a re-send, or compensation once its retries are spent), as the sweeper would;
    with --resume ORDER, re-arm a parked saga so the next sweep re-sends what it awaits. A running
    orders process's relay publishes the commands written."""
    from mercato.app.ops import Audit, stuck_sagas
    from mercato.cli import _engines, _fail, _one_line_errors, _settings
    from mercato.orders import ResumeSaga
    from mercato.orders.bootstrap import build_orders
    from mercato.platform.db import Database

    if not stuck:
        _fail("say which sagas: --stuck")
    resumed_ids = [_order_id(value) for value in resume or ()]
    settings = _settings()
    with _one_line_errors(), _engines(settings) as resolved:

        async def run() -> tuple[int | None, list[StuckSaga]]:
            db = Database(resolved.database_url or "", pool_size=2, application_name="mercato-ops")
            try:
                driven: int | None = None
                if resumed_ids:
                    orders = build_orders(db, resolved)
                    audit = Audit(_audit_path(resolved), actor)
                    for order_id in resumed_ids:
                        done = await orders.handle(ResumeSaga(order_id, audit.actor))
                        audit.record("saga.resume", order_id=str(order_id), resumed=done)
                if drive:
                    before = await stuck_sagas(db, timedelta(seconds=grace))
                    driven = await build_orders(db, resolved).expire_due(1_000)
                    audit = Audit(_audit_path(resolved), actor)
                    audit.record("saga.drive", stuck=[str(s.order_id) for s in before], timeouts_fed=driven)
                return driven, await stuck_sagas(db, timedelta(seconds=grace))
            finally:
                await db.dispose()

        driven, left = asyncio.run(run())
    out = _out()
    if driven is not None:
        fed = f"Fed {driven} due sagas their timeout (audited in {_audit_path(settings)})."
        out.print(fed, highlight=False)
    if resumed_ids:
        out.print(f"Resumed what was parked of {len(resumed_ids)} order(s) (audited).", highlight=False)
    table = Table("order", "status", "deadline", "late (s)", "re-sends", "age (s)", "parked")
    for saga in left:
        deadline = f"{saga.deadline:%Y-%m-%d %H:%M:%S}" if saga.deadline else "-"
        table.add_row(
            str(saga.order_id),
            saga.status,
            deadline,
            f"{saga.late_seconds:.0f}",
            str(saga.attempts),
            f"{saga.age_seconds:.0f}",
            saga.parked or "",
        )
    out.print(table)
    if left:
        raise typer.Exit(1)


def top(
    urls: Annotated[
        list[str] | None,
        typer.Argument(
            help="/metrics URLs of the processes; none: this machine's, as `mercato serve|up` bind them."
        ),
    ] = None,
    topology: Annotated[
        str, typer.Option(help="Without URLs: single (`mercato serve|dev`) or distributed (`mercato up`).")
    ] = "single",
    interval: Annotated[float, typer.Option(help="Seconds between scrapes (the rates' window).")] = 5.0,
    once: Annotated[bool, typer.Option("--once", help="Scrape twice, print one frame and exit.")] = False,
) -> None:
    """Throughput, latency, orders and sagas, consumer lag and active anomalies of a topology, live."""
    import time

    import httpx
    from rich.live import Live

    from mercato.cli import _fail, _settings
    from mercato.ops.cli import scrape
    from mercato.ops.top import Top
    from mercato.ops.top_view import render

    if interval <= 0:
        _fail("--interval must be positive")
    if topology not in ("single", "distributed"):
        _fail("--topology is single or distributed")
    watched = Top(urls or _local_metrics_urls(_settings(), topology))

    def scrape_all(http: httpx.Client) -> None:
        for url in watched.urls:
            exposition, error = scrape(http, url)
            watched.feed(url, time.time(), exposition, error)

    with httpx.Client(timeout=min(interval, 10.0)) as http:
        scrape_all(http)
        if once:
            time.sleep(interval)
            scrape_all(http)
            _out().print(render(watched.frame()))
            return
        try:
            with Live(render(watched.frame()), console=Console(), auto_refresh=False) as live:
                while True:
                    time.sleep(interval)
                    scrape_all(http)
                    live.update(render(watched.frame()), refresh=True)
        except KeyboardInterrupt:
            pass


def _local_metrics_urls(settings: Settings, topology: str) -> list[str]:
    """Where `mercato serve|dev` (single) or `mercato up` (distributed) serve /metrics with these settings."""
    from mercato.app.launcher import default_ports

    host = settings.http_host if settings.http_host not in ("0.0.0.0", "::") else "127.0.0.1"
    if topology == "single":
        return [f"http://{host}:{settings.http_port}/metrics"]
    ports = default_ports(settings.http_port, settings.grpc_port)
    return [f"http://{host}:{p.http}/metrics" for p in ports.values()]


ops_app.command("top")(top)
ops_app.command("dead-letters")(dead_letters)
ops_app.command("sagas")(sagas)


def register(app: typer.Typer) -> None:
    app.command()(verify)
    app.add_typer(ops_app, name="ops")


def _order_id(value: str) -> uuid.UUID:
    from mercato.cli import _fail

    try:
        return uuid.UUID(value)
    except ValueError:
        _fail(f"--resume: {value[:80]!r} is not an order id")
        raise  # unreachable: _fail exits
