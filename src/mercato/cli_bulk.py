"""`mercato import` and `mercato export` (registered on the `mercato` command by `cli.py`).

Both resolve engines as `mercato seed` does. Import reads and checks the whole file before it draws a
progress bar; a refused row is listed on stderr with its line and reason, and the command exits 1
with nothing written. Expected failures (a missing or garbled file) end in one line, never a traceback.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from mercato.app.bulk.records import FileFormat

FORMAT_HELP = "csv, jsonl or luma (default: from the file name: .csv, .jsonl, .json)"


def _format(value: str | None, path: Path) -> FileFormat | None:
    from mercato.cli import _fail

    if value is None:
        return None
    try:
        return FileFormat(value.lower())
    except ValueError:
        _fail(f"unknown format {value!r}: csv, jsonl or luma")
        raise


def _bar() -> Progress:
    from mercato.cli import console

    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def import_command(
    file: Annotated[Path, typer.Argument(help="The file to import.")],
    file_format: Annotated[str | None, typer.Option("--format", help=FORMAT_HELP)] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and count what would change; write nothing.")
    ] = False,
) -> None:
    """Import products, variants, categories, warehouses and stock from a file: all or nothing."""
    from mercato.app.bulk import readers
    from mercato.app.bulk.importer import import_records
    from mercato.app.contexts import MIGRATIONS
    from mercato.app.runtime import Runtime
    from mercato.cli import _engines, _one_line_errors, _settings, console
    from mercato.platform.migrations import migrate

    settings = _settings()
    chosen = _format(file_format, file)
    with _one_line_errors():
        records = readers.read(file, chosen)  # the whole file, before engines or a progress bar
        with _engines(settings) as resolved:
            runtime = Runtime(resolved.for_batch())

            async def run() -> Any:
                try:
                    await migrate(runtime.db, MIGRATIONS)
                    with _bar() as bar:
                        task = bar.add_task("Importing", total=len(records.products))

                        def progress(phase: str, done: int, total: int) -> None:
                            bar.update(task, description=phase.capitalize(), completed=done, total=total)

                        return await import_records(
                            runtime.catalog, runtime.inventory, records, dry_run=dry_run, progress=progress
                        )
                finally:
                    await runtime.stop()

            summary = asyncio.run(run())
    for rejected in summary.rejected:
        console.print(f"rejected: {rejected.describe()}", highlight=False, soft_wrap=True, markup=False)
    console.print(summary.describe(), highlight=False, soft_wrap=True, markup=False)
    if summary.rejected:
        raise typer.Exit(1)


def export_command(
    file: Annotated[Path, typer.Argument(help="The file to write (Luma: categories.json goes beside it).")],
    file_format: Annotated[str | None, typer.Option("--format", help=FORMAT_HELP)] = None,
) -> None:
    """Export the catalog with its stock in an import format (importing it back changes nothing)."""
    from mercato.app.bulk.exporter import export_catalog
    from mercato.app.runtime import Runtime
    from mercato.cli import _engines, _fail, _one_line_errors, _settings, console

    settings = _settings()
    chosen = _format(file_format, file) or FileFormat.of(file)
    if chosen is None:
        _fail(f"{file}: unknown format: name it .csv, .jsonl or .json (Luma), or pass --format")
        raise typer.Exit(1)
    with _one_line_errors(), _engines(settings) as resolved:
        runtime = Runtime(resolved.for_batch())

        async def run() -> Any:
            try:
                with _bar() as bar:
                    task = bar.add_task("Exporting", total=None)
                    return await export_catalog(
                        runtime.catalog, file, chosen, progress=lambda done: bar.update(task, completed=done)
                    )
            finally:
                await runtime.stop()

        summary = asyncio.run(run())
    console.print(f"Exported {summary.describe()}", highlight=False, soft_wrap=True, markup=False)
