"""The `mercato` command: dev server, migrations, seeding, embedded engines."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from mercato.cli_ops import register as register_operator_commands
from mercato.platform.config import Settings
from mercato.platform.engines import EmbeddedEngines, InstanceLock, resolve_engines
from mercato.platform.errors import MercatoError
from mercato.platform.logs import configure_logging

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Mercato, a headless commerce backend.")
engines_app = typer.Typer(no_args_is_help=True, help="The embedded PostgreSQL, NATS and Redis.")
app.add_typer(engines_app, name="engines")
admin_app = typer.Typer(no_args_is_help=True, help="Administrators.")
app.add_typer(admin_app, name="admin")
search_app = typer.Typer(no_args_is_help=True, help="The product search index.")
app.add_typer(search_app, name="search")
catalog_app = typer.Typer(no_args_is_help=True, help="The catalog's read models.")
app.add_typer(catalog_app, name="catalog")

console = Console(stderr=True)


def _fail(message: str) -> None:
    console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


@contextmanager
def _one_line_errors() -> Iterator[None]:
    """Expected failures end the command with one line, never a traceback."""
    try:
        yield
    except MercatoError as exc:
        _fail(exc.message)
    except (OSError, ConnectionError) as exc:
        _fail(f"{type(exc).__name__}: {exc}")


def _settings(**overrides: Any) -> Settings:
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(
            f"MERCATO_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in exc.errors()
        )
        _fail(f"invalid configuration: {problems}")
        raise


def _resolved(settings: Settings) -> tuple[Settings, EmbeddedEngines | None]:
    urls, embedded = resolve_engines(settings)
    resolved = settings.model_copy(
        update={"database_url": urls.database, "nats_url": urls.nats, "redis_url": urls.redis}
    )
    return resolved, embedded


def _with_dev_secret(settings: Settings) -> Settings:
    """`mercato dev` signs tokens with a secret generated once and kept in the data dir (mode 600)."""
    if settings.auth_secret:
        return settings
    path = settings.data_path / "auth-secret"
    if not path.exists():
        settings.data_path.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48))
    return settings.model_copy(update={"auth_secret": path.read_text().strip()})


@contextmanager
def _engines(settings: Settings) -> Iterator[Settings]:
    """Settings with engine URLs for a one-shot command; stops the engines it had to start."""
    resolved, embedded = _resolved(settings)
    try:
        yield resolved
    finally:
        if embedded is not None:
            embedded.stop_launched()


@contextmanager
def _local_instance(settings: Settings, url: str) -> Iterator[Settings]:
    """One running instance per data dir (`dev`, `up`): its lock, the engines it had to start (stopped on
    the way out) and the dev signing secret; yields the settings with engine URLs."""
    lock = InstanceLock(settings.data_path)
    lock.acquire(url)
    embedded: EmbeddedEngines | None = None
    try:
        console.print("Starting engines…", highlight=False)
        resolved, embedded = _resolved(settings)
        yield _with_dev_secret(resolved)
    finally:
        if embedded is not None:
            console.print("Stopping engines…", highlight=False)
            embedded.stop()
        lock.release()


def _progress_bar() -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def _setup_logging(level: str) -> None:
    # JSON lines with trace ids (platform/logs.py) for collectors; plain text when a person watches a
    # terminal. MERCATO_LOG_FORMAT=json|text decides either way.
    default = "text" if sys.stderr.isatty() else "json"
    configure_logging(level, os.environ.get("MERCATO_LOG_FORMAT", default))


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _unwind_on_signals() -> None:
    """uvicorn re-raises the signal that stopped it once it returns. SIGTERM's default action would then
    kill the process before the engines are stopped, and for SIGINT asyncio.run's own handler would cancel
    the main task, cutting the runtime's stop short at its first await and leaving its tasks to a cancel-
    and-wait that a lost cancellation turns into a hang. Both raise KeyboardInterrupt instead: the
    `finally` that stops the runtime runs whole (bounded, see `platform.shutdown`), then the process exits."""
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)


@app.command()
def dev(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="HTTP port.")] = None,
    seed_products: Annotated[int, typer.Option(help="Demo products to create on first run.")] = 60,
) -> None:
    """Start engines, migrate, seed demo data on first run, serve GraphQL (what `make run` runs)."""
    import uvicorn

    from mercato.app.runtime import Runtime
    from mercato.gateway.app import create_app

    settings = _settings(http_host=host, http_port=port)
    _setup_logging(settings.log_level)
    _unwind_on_signals()
    url = f"http://{settings.http_host}:{settings.http_port}/graphql"
    with _one_line_errors(), _local_instance(settings, url) as settings:
        runtime = Runtime(settings)

        async def serve() -> None:
            from mercato.app.contexts import MIGRATIONS, context_roles
            from mercato.app.seed import catalog_is_empty, seed_demo
            from mercato.platform.migrations import migrate
            from mercato.platform.telemetry import configure_tracing

            configure_tracing("mercato")
            await migrate(runtime.db, MIGRATIONS, context_roles(runtime.settings))
            await runtime.start()
            try:
                if await catalog_is_empty(runtime.catalog):
                    console.print(f"Seeding a demo catalog of {seed_products} products…", highlight=False)
                    await seed_demo(runtime.catalog, runtime.inventory, products=seed_products)
                config = uvicorn.Config(
                    create_app(settings, runtime),
                    host=settings.http_host,
                    port=settings.http_port,
                    log_level="warning",
                    lifespan="on",
                )
                console.print(
                    f"[bold green]Mercato is up:[/] GraphiQL at {url}  (Ctrl-C stops it)", highlight=False
                )
                await uvicorn.Server(config).serve()
            finally:
                await runtime.stop()

        asyncio.run(serve())


@app.command()
def up(
    port: Annotated[
        int | None, typer.Option(help="The gateway's HTTP port; contexts take the next ones.")
    ] = None,
    grpc_port: Annotated[
        int, typer.Option(help="gRPC port of the first context; the others follow.")
    ] = 50051,
    seed_products: Annotated[int, typer.Option(help="Demo products to create on first run.")] = 60,
    gateway_workers: Annotated[int, typer.Option(min=1, max=64, help="The gateway's server processes.")] = 1,
) -> None:
    """The distributed topology on this machine: engines, one process per context, the gateway."""
    from mercato.app.launcher import Launcher, default_ports
    from mercato.app.up import external_engines, prepare, run_topology

    settings = _settings(http_port=port)
    _setup_logging(settings.log_level)
    url = f"http://{settings.http_host}:{settings.http_port}/graphql"
    external = external_engines(settings)  # before the embedded ones fill in the URLs
    with _one_line_errors(), _local_instance(settings, url) as settings:
        asyncio.run(prepare(settings, seed_products, console))
        launcher = Launcher(
            settings,
            default_ports(settings.http_port, grpc_port),
            log_dir=settings.data_path / "logs",
            host=settings.http_host,
            gateway_workers=gateway_workers,
        )
        asyncio.run(run_topology(launcher, url, console, external))


SERVE_TARGETS = ("all", "gateway", "catalog", "inventory", "cart", "customers", "payments", "orders")


@app.command()
def serve(
    target: Annotated[
        str,
        typer.Argument(
            help="all: every context and GraphQL in one process; gateway: GraphQL over gRPC; or one context "
            "(catalog, inventory, cart, customers, payments, orders): its gRPC service, relay and consumers.",
            show_default=True,
        ),
    ] = "all",
    host: Annotated[str | None, typer.Option(help="Address the HTTP port listens on.")] = None,
    port: Annotated[int | None, typer.Option(help="HTTP port (GraphQL; a context's health).")] = None,
    grpc_port: Annotated[int | None, typer.Option(help="gRPC port of a context.")] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Server processes (all, gateway).")] = 1,
) -> None:
    """Serve against the engines named by MERCATO_*_URL (production; starts no engine)."""
    if target not in SERVE_TARGETS:
        _fail(f"unknown target {target!r}: one of {', '.join(SERVE_TARGETS)}")
    launcher_pid = os.environ.get("MERCATO_LAUNCHER_PID", "")
    if launcher_pid.isdigit():  # started by `mercato up`: do not outlive it
        from mercato.app.launcher import stop_with_parent

        stop_with_parent(int(launcher_pid))
    settings = _settings(http_host=host, http_port=port, grpc_port=grpc_port)
    _setup_logging(settings.log_level)
    if target in ("all", "gateway"):
        _serve_graphql(settings, target, workers)
    elif workers != 1:
        _fail(f"`mercato serve {target}` runs one process: scale it with more replicas, not --workers")
    else:
        _serve_context(settings, target)


def _serve_graphql(settings: Settings, target: str, workers: int) -> None:
    import uvicorn

    if target == "all":
        needed = {
            "MERCATO_DATABASE_URL": settings.database_url,
            "MERCATO_NATS_URL": settings.nats_url,
            "MERCATO_REDIS_URL": settings.redis_url,
        }
        missing = [name for name, value in needed.items() if not value]
        factory = "mercato.gateway.asgi:create"
    else:
        from mercato.app.topology import missing_addresses

        missing = missing_addresses(settings) + ([] if settings.redis_url else ["MERCATO_REDIS_URL"])
        factory = "mercato.gateway.asgi:create_remote"
    if not settings.auth_secret:
        missing.append("MERCATO_AUTH_SECRET (32+ characters)")
    if missing:
        _fail(f"`mercato serve {target}` needs {', '.join(missing)}")
    uvicorn.run(
        factory,
        factory=True,
        host=settings.http_host,
        port=settings.http_port,
        workers=workers,
        # gRPC's asyncio integration is built and tested on the standard event loop.
        loop="asyncio" if target == "gateway" else "auto",
        log_level="warning",
        access_log=False,
    )


def _serve_context(settings: Settings, context: str) -> None:
    import uvicorn

    from mercato.app.service_process import ServiceProcess, missing_configuration
    from mercato.platform.telemetry import configure_tracing, shutdown_tracing

    missing = missing_configuration(settings, context)
    if missing:
        _fail(f"`mercato serve {context}` needs {', '.join(missing)}")
    _unwind_on_signals()

    async def run() -> None:
        configure_tracing(f"mercato-{context}")
        process = ServiceProcess(settings, context)
        await process.start()
        try:
            console.print(
                f"{context}: gRPC on {settings.grpc_host}:{process.grpc_port}, "
                f"health on http://{settings.http_host}:{settings.http_port}/readyz",
                highlight=False,
            )
            config = uvicorn.Config(
                process.http_app(),
                host=settings.http_host,
                port=settings.http_port,
                log_level="warning",
                lifespan="off",
                access_log=False,
            )
            await uvicorn.Server(config).serve()
        finally:
            await process.stop()
            shutdown_tracing()

    with _one_line_errors():
        try:
            asyncio.run(run())
        except (RuntimeError, ValueError) as exc:  # a port that is taken, say
            _fail(f"{context}: {exc}")


@app.command(name="migrate")
def migrate_command() -> None:
    """Bring every context's schema to the latest version (idempotent)."""
    from mercato.app.contexts import MIGRATIONS, context_roles
    from mercato.platform.db import Database
    from mercato.platform.migrations import migrate
    from mercato.search import semantic_schema

    settings = _settings()
    with _one_line_errors(), _engines(settings) as resolved:

        async def run() -> bool:
            db = Database(resolved.database_url or "")
            try:
                await migrate(db, MIGRATIONS, context_roles(resolved))
                return await semantic_schema(db)
            finally:
                await db.dispose()

        semantic = asyncio.run(run())
    console.print("Migrations are up to date.", highlight=False)
    if not semantic:
        console.print(
            "Semantic search is off: this PostgreSQL has no pgvector (search is lexical).",
            highlight=False,
            soft_wrap=True,
        )


@app.command()
def seed(
    products: Annotated[int, typer.Option(min=1, max=200_000, help="Demo products to generate.")] = 60,
    from_file: Annotated[
        Path | None,
        typer.Option("--from", help="Load a catalog file (the Luma catalog.json format) instead."),
    ] = None,
) -> None:
    """Fill the catalog and stock: the project's own demo data, or a catalog file."""
    from mercato.app import demo_data, luma
    from mercato.app.contexts import MIGRATIONS, context_roles
    from mercato.app.runtime import Runtime
    from mercato.app.search_index import reindex_search
    from mercato.app.seed import seed_plan
    from mercato.platform.migrations import migrate

    settings = _settings()
    with _one_line_errors():
        # Read and check the whole input before touching engines or drawing a progress bar.
        plan = luma.load(from_file) if from_file is not None else demo_data.generate(products)
        with _engines(settings) as resolved:
            runtime = Runtime(resolved)

            async def run() -> Any:
                try:
                    await migrate(runtime.db, MIGRATIONS, context_roles(runtime.settings))
                    with Progress(
                        TextColumn("[progress.description]{task.description}"),
                        BarColumn(),
                        MofNCompleteColumn(),
                        TimeElapsedColumn(),
                        console=console,
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
    console.print(f"Seeded: {summary}", highlight=False)


@search_app.command("reindex")
def search_reindex() -> None:
    """Rebuild every published product's search document from the catalog (idempotent)."""
    from mercato.app.contexts import MIGRATIONS
    from mercato.app.runtime import Runtime
    from mercato.app.search_index import reindex_search
    from mercato.platform.migrations import migrate

    settings = _settings()
    with _one_line_errors(), _engines(settings) as resolved:
        runtime = Runtime(resolved)

        async def run() -> int:
            try:
                await migrate(runtime.db, MIGRATIONS)
                with _progress_bar() as bar:
                    task = bar.add_task("Indexing products", total=None)
                    return await reindex_search(runtime, lambda d, t: bar.update(task, completed=d, total=t))
            finally:
                await runtime.stop()

        written = asyncio.run(run())
    console.print(f"Search index rebuilt: {written} products.", highlight=False)


@catalog_app.command("rebuild-availability")
def catalog_rebuild_availability() -> None:
    """Rewrite the catalog's availability read model from the inventory's current levels (idempotent;
    safe while the services run: a level an event brought in meanwhile is kept)."""
    from mercato.app.availability import rebuild_availability
    from mercato.app.contexts import MIGRATIONS
    from mercato.app.runtime import Runtime
    from mercato.platform.migrations import migrate

    settings = _settings()
    with _one_line_errors(), _engines(settings) as resolved:
        runtime = Runtime(resolved)

        async def run() -> Any:
            try:
                await migrate(runtime.db, MIGRATIONS)
                return await rebuild_availability(
                    runtime.inventory.queries, runtime.catalog.uow, runtime.catalog.queries
                )
            finally:
                await runtime.stop()

        done = asyncio.run(run())
    console.print(
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
    from mercato.app.contexts import MIGRATIONS, context_roles
    from mercato.app.runtime import Runtime
    from mercato.customers.bootstrap import create_admin
    from mercato.platform.migrations import migrate

    settings = _settings()
    with _one_line_errors(), _engines(settings) as resolved:
        runtime = Runtime(_with_dev_secret(resolved))

        async def run() -> str:
            try:
                await migrate(runtime.db, MIGRATIONS, context_roles(runtime.settings))
                account = await create_admin(runtime.customers, email, password)
                return str(account.email)
            finally:
                await runtime.stop()

        created = asyncio.run(run())
    console.print(f"Administrator {created} created.", highlight=False)


@engines_app.command("status")
def engines_status() -> None:
    """Show the embedded engines of this data directory."""
    settings = _settings()
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
    from mercato.app.engine_users import nats_config

    settings = _settings() if namespace is None else None
    sys.stdout.write(nats_config(namespace or (settings.namespace if settings else "mercato")))


@engines_app.command("stop")
def engines_stop() -> None:
    """Stop the embedded engines of this data directory (data is kept)."""
    settings = _settings()
    with _one_line_errors():
        EmbeddedEngines(settings.data_path).stop()
    console.print("Embedded engines stopped.", highlight=False)


register_operator_commands(app)

# Bulk import and export live in their own module (cli_bulk.py imports this one's helpers lazily).
from mercato.cli_bulk import export_command, import_command  # noqa: E402

app.command("import")(import_command)
app.command("export")(export_command)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
