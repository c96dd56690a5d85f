"""Syncing departments and inspecting the gateway's state from the shell."""

from __future__ import annotations

import typer
from rich.table import Table

from creditsync.cli.output import EXIT_INVALID, EXIT_OK, console, gateway_errors


def register(app: typer.Typer) -> None:
    app.command("sync")(sync)
    app.command("departments")(departments)


def sync(
    department: str = typer.Argument(..., help="Department id, e.g. market_supervision"),
    category: list[str] = typer.Option(None, "--category", "-c", help="Only these streams."),
    dry_run: bool = typer.Option(False, "--dry-run",
                                 help="Read, map and validate; show what would happen. Writes nothing."),
) -> None:
    """Run one department's sync exactly as its DAG does, without Airflow."""
    from creditsync.heap import settle_heap
    from creditsync.pipeline.runner import Gateway, sync_department

    with gateway_errors():
        gateway = Gateway.open()
        settle_heap()  # this process is the sync: what start-up built stays until it ends
        result = sync_department(gateway, department, categories=category or None, dry_run=dry_run)
    console.print_json(data=result)
    summary = result.get("report", {})
    raise typer.Exit(EXIT_INVALID if summary.get("quarantined") else EXIT_OK)


def departments() -> None:
    """List the configured departments and their DAG ids (`creditsync check` also checks each source's
    options against its adapter)."""
    from creditsync.departments import load_departments
    from creditsync.settings import load_settings

    with gateway_errors():  # a listing: the source adapters (lxml, SQLAlchemy, requests) are not loaded
        configs = load_departments(load_settings().adapters_dir, check_sources=False)
    table = Table("DAG", "department", "source", "streams", "schedule")
    for config in configs:
        table.add_row(f"sync__{config.department}", config.name, config.source.kind,
                      ", ".join(s.category for s in config.streams), str(config.schedule))
    console.print(table)

