"""The `mercato` command: the servers (`dev`, `up`, `serve`) and the helpers every command shares.

The other commands live beside it and register themselves: `cli_data` (migrate, seed, search
reindex, admin, engines), `cli_ops` (verify, ops) and `cli_bulk` (import, export)."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from mercato.cli_data import register as register_data_commands
from mercato.cli_ops import register as register_operator_commands
from mercato.platform.config import Settings
from mercato.platform.engines import EmbeddedEngines, InstanceLock, resolve_engines
from mercato.platform.errors import MercatoError
from mercato.platform.logs import configure_logging

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Mercato, a headless commerce backend.")

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


SERVE_TARGETS = (
    "all",
    "gateway",
    "catalog",
    "inventory",
    "cart",
    "customers",
    "payments",
    "orders",
    "search",
)


@app.command()
def serve(
    target: Annotated[
        str,
        typer.Argument(
            help="all: every context and GraphQL in one process; gateway: GraphQL over gRPC; or one context "
            "(catalog, inventory, cart, customers, payments, orders, search): its gRPC service, relay and "
            "consumers.",
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


register_operator_commands(app)
register_data_commands(app)

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
