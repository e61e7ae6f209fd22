"""`mercato up`: prepare the data, run the launcher with a live status table, stop everything on a signal."""

from __future__ import annotations

import asyncio
import signal
from urllib.parse import urlsplit

from rich.console import Console
from rich.live import Live
from rich.table import Table

from mercato.app.contexts import MIGRATIONS
from mercato.app.launcher import Launcher, ServiceStatus
from mercato.app.runtime import Runtime
from mercato.app.seed import catalog_is_empty, seed_demo
from mercato.platform.config import Settings
from mercato.platform.engines import ENGINE_NAMES, EmbeddedEngines
from mercato.platform.migrations import migrate
from mercato.platform.shutdown import wait_event


def external_engines(settings: Settings) -> set[str]:
    """The engines whose URL is given (the others are embedded ones `mercato up` starts or reuses)."""
    return {name for name, url in zip(ENGINE_NAMES, _engine_urls(settings), strict=True) if url is not None}


def _engine_urls(settings: Settings) -> tuple[str | None, str | None, str | None]:
    return settings.database_url, settings.nats_url, settings.redis_url


def engine_rows(settings: Settings, external: set[str]) -> list[ServiceStatus]:
    """The engines as rows of the status table: embedded ones with their pid, the others as given."""
    embedded = {s.name: s for s in EmbeddedEngines(settings.data_path).status()}
    rows = []
    for name, url in zip(ENGINE_NAMES, _engine_urls(settings), strict=True):
        where = urlsplit(url or "").netloc.rsplit("@", 1)[-1]  # never show credentials
        if name in external:
            rows.append(ServiceStatus(name, "external", None, 0, where))
        else:
            status = embedded.get(name)
            running = status is not None and status.running
            pid = status.pid if status is not None else None
            rows.append(ServiceStatus(name, "serving" if running else "down", pid, 0, where))
    return rows


async def prepare(settings: Settings, seed_products: int, console: Console) -> None:
    """Migrate every schema and seed the demo catalog on first run."""
    runtime = Runtime(settings)
    try:
        await migrate(runtime.db, MIGRATIONS)
        if await catalog_is_empty(runtime.catalog):
            console.print(f"Seeding a demo catalog of {seed_products} products…", highlight=False)
            # The catalog's and inventory's own processes publish the events this writes to their outboxes.
            await seed_demo(runtime.catalog, runtime.inventory, products=seed_products)
    finally:
        await runtime.stop()


async def run_topology(launcher: Launcher, url: str, console: Console, external: set[str]) -> None:
    """Run the processes with a live status table until Ctrl-C or SIGTERM; then stop them all."""

    def engines() -> list[ServiceStatus]:
        return engine_rows(launcher.settings, external)

    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    launcher.start()
    announced = False
    try:
        with Live(status_table(await launcher.status(), []), console=console, auto_refresh=False) as live:
            while not stopping.is_set():
                launcher.supervise()
                statuses = await launcher.status()
                live.update(status_table(statuses, engines()), refresh=True)
                if not announced and all(s.state == "serving" for s in statuses):
                    announced = True
                    live.console.print(
                        f"[bold green]Mercato is up:[/] GraphiQL at {url}  (Ctrl-C stops it; logs in "
                        f"{launcher.log_dir})",
                        highlight=False,
                    )
                await wait_event(stopping, 1.0)
            # The state the stop found, not the one of up to a second before.
            live.update(status_table(await launcher.status(), engines()), refresh=True)
    finally:
        if not console.is_terminal:
            console.print()  # a Live display leaves no line break behind when it is not on a terminal
        console.print("Stopping services…", highlight=False)
        await launcher.stop()


def status_table(statuses: list[ServiceStatus], engines: list[ServiceStatus]) -> Table:
    colours = {"serving": "green", "external": "green", "starting": "yellow"}
    table = Table("service", "state", "pid", "restarts", "address", title="mercato up")
    for s in [*engines, *statuses]:
        colour = colours.get(s.state, "red")
        table.add_row(s.name, f"[{colour}]{s.state}[/]", str(s.pid or "-"), str(s.restarts), s.address)
    return table
