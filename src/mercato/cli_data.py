"""The data and engine commands of `mercato`: `migrate`, `seed`, `search reindex`, `catalog
rebuild-availability`, `admin create` and `engines status|nats-config|stop`. Kept out of `cli.py` (the
servers), which registers them; they use its shared helpers (imported when a command runs, as
`cli_ops` and `cli_bulk` do, since `cli.py` imports this module)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from mercato.platform.engines import EmbeddedEngines

engines_app = typer.Typer(no_args_is_help=True, help="The embedded PostgreSQL, NATS and Redis.")
admin_app = typer.Typer(no_args_is_help=True, help="Administrators.")
search_app = typer.Typer(no_args_is_help=True, help="The product search index.")
catalog_app = typer.Typer(no_args_is_help=True, help="The catalog's read models.")


def migrate_command() -> None:
    """Bring every context's schema to the latest version (idempotent)."""
    from mercato import cli
    from mercato.app.contexts import MIGRATIONS, context_roles
    from mercato.platform.db import Database
    from mercato.platform.migrations import migrate
    from mercato.search import semantic_schema

    settings = cli._settings()
    with cli._one_line_errors(), cli._engines(settings) as resolved:

        async def run() -> bool:
            db = Database(resolved.database_url or "")
            try:
                await migrate(db, MIGRATIONS, context_roles(resolved))
                return await semantic_schema(db)
            finally:
                await db.dispose()

        semantic = asyncio.run(run())
    cli.console.print("Migrations are up to date.", highlight=False)
    if not semantic:
        cli.console.print(
            "Semantic search is off: this PostgreSQL has no pgvector (search is lexical).",
            highlight=False,
            soft_wrap=True,
        )


def seed(
    products: Annotated[int, typer.Option(min=1, max=200_000, help="Demo products to generate.")] = 60,
    from_file: Annotated[
        Path | None,
        typer.Option("--from", help="Load a catalog file (the Luma catalog.json format) instead."),
    ] = None,
) -> None:
    """Fill the catalog and stock: the project's own demo data, or a catalog file."""
    from mercato import cli
    from mercato.app import demo_data, luma
    from mercato.app.contexts import MIGRATIONS, context_roles
    from mercato.app.runtime import Runtime
    from mercato.app.search_index import reindex_search
    from mercato.app.seed import seed_plan
    from mercato.platform.migrations import migrate

    settings = cli._settings()
    with cli._one_line_errors():
        # Read and check the whole input before touching engines or drawing a progress bar.
        plan = luma.load(from_file) if from_file is not None else demo_data.generate(products)
        with cli._engines(settings) as resolved:
            runtime = Runtime(resolved.for_batch())

            async def run() -> Any:
                try:
                    await migrate(runtime.db, MIGRATIONS, context_roles(runtime.settings))
                    with Progress(
                        TextColumn("[progress.description]{task.description}"),
                        BarColumn(),
                        MofNCompleteColumn(),
                        TimeElapsedColumn(),
                        console=cli.console,
                    ) as bar:
                        task = bar.add_task("Seeding products", total=len(plan.products))

                        def progress(done: int, total: int) -> None:
                            bar.update(task, completed=done, total=total)

                        summary = await seed_plan(runtime.catalog, runtime.inventory, plan, progress=progress)
                        # Searchable at once, without waiting for the events to reach the index.
                        search = bar.add_task("Indexing for search", total=len(plan.products))
                        await reindex_search(runtime, lambda d, t: bar.update(search, completed=d, total=t))
                        return summary
                finally:
                    await runtime.stop()

            summary = asyncio.run(run())
    cli.console.print(f"Seeded: {summary}", highlight=False)


@search_app.command("reindex")
def search_reindex() -> None:
    """Rebuild every published product's search document from the catalog (idempotent)."""
    from mercato import cli
    from mercato.app.contexts import MIGRATIONS
    from mercato.app.runtime import Runtime
    from mercato.app.search_index import reindex_search
    from mercato.platform.migrations import migrate

    settings = cli._settings()
    with cli._one_line_errors(), cli._engines(settings) as resolved:
        runtime = Runtime(resolved.for_batch())

        async def run() -> int:
            try:
                await migrate(runtime.db, MIGRATIONS)
                with cli._progress_bar() as bar:
                    task = bar.add_task("Indexing products", total=None)
                    return await reindex_search(runtime, lambda d, t: bar.update(task, completed=d, total=t))
            finally:
                await runtime.stop()

        written = asyncio.run(run())
    cli.console.print(f"Search index rebuilt: {written} products.", highlight=False)


@catalog_app.command("rebuild-availability")
def catalog_rebuild_availability() -> None:
    """Rewrite the catalog's availability read model from the inventory's current levels (idempotent;
    safe while the services run: a level an event brought in meanwhile is kept)."""
    from mercato import cli
    from mercato.app.availability import rebuild_availability
    from mercato.app.contexts import MIGRATIONS
    from mercato.app.runtime import Runtime
    from mercato.platform.migrations import migrate

    settings = cli._settings()
    with cli._one_line_errors(), cli._engines(settings) as resolved:
        runtime = Runtime(resolved.for_batch())

        async def run() -> Any:
            try:
                await migrate(runtime.db, MIGRATIONS)
                return await rebuild_availability(
                    runtime.inventory.queries, runtime.catalog.uow, runtime.catalog.queries
                )
            finally:
                await runtime.stop()

        done = asyncio.run(run())
    cli.console.print(
        f"Availability rebuilt: {done.skus} SKUs, {done.flipped} changed between in and out of stock.",
        highlight=False,
    )


@admin_app.command("create")
def admin_create(
    email: Annotated[str, typer.Option(help="The administrator's email.")],
    password: Annotated[
        str,
        typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, envvar="MERCATO_ADMIN_PASSWORD"),
    ],
) -> None:
    """Create an administrator (the first one bootstraps staff management)."""
    from mercato import cli
    from mercato.app.contexts import MIGRATIONS, context_roles
    from mercato.app.runtime import Runtime
    from mercato.customers.bootstrap import create_admin
    from mercato.platform.migrations import migrate

    settings = cli._settings()
    with cli._one_line_errors(), cli._engines(settings) as resolved:
        runtime = Runtime(cli._with_dev_secret(resolved).for_batch())

        async def run() -> str:
            try:
                await migrate(runtime.db, MIGRATIONS, context_roles(runtime.settings))
                account = await create_admin(runtime.customers, email, password)
                return str(account.email)
            finally:
                await runtime.stop()

        created = asyncio.run(run())
    cli.console.print(f"Administrator {created} created.", highlight=False)


@engines_app.command("status")
def engines_status() -> None:
    """Show the embedded engines of this data directory."""
    from mercato import cli

    settings = cli._settings()
    table = Table("engine", "running", "pid", "url", "data")
    for status in EmbeddedEngines(settings.data_path).status():
        table.add_row(
            status.name,
            "yes" if status.running else "no",
            str(status.pid or "-"),
            status.url or "-",
            str(status.data_dir),
        )
    Console().print(table)


@engines_app.command("nats-config")
def engines_nats_config(
    namespace: Annotated[
        str | None, typer.Option(help="The installation's namespace (default: MERCATO_NAMESPACE).")
    ] = None,
) -> None:
    """Print nats-server's users: one per context, allowed its own subjects and what it consumes."""
    from mercato import cli
    from mercato.app.engine_users import nats_config

    settings = cli._settings() if namespace is None else None
    sys.stdout.write(nats_config(namespace or (settings.namespace if settings else "mercato")))


@engines_app.command("stop")
def engines_stop() -> None:
    """Stop the embedded engines of this data directory (data is kept)."""
    from mercato import cli

    settings = cli._settings()
    with cli._one_line_errors():
        EmbeddedEngines(settings.data_path).stop()
    cli.console.print("Embedded engines stopped.", highlight=False)


def register(app: typer.Typer) -> None:
    app.command(name="migrate")(migrate_command)
    app.command()(seed)
    app.add_typer(engines_app, name="engines")
    app.add_typer(admin_app, name="admin")
    app.add_typer(search_app, name="search")
    app.add_typer(catalog_app, name="catalog")
