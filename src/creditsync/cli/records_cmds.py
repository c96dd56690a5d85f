"""Working on record files: validate canonical records, dry-run a mapping, push a handed-over file."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from creditsync.cli.output import (
    EXIT_INCOMPLETE,
    EXIT_INVALID,
    EXIT_OK,
    console,
    errors,
    gateway_errors,
    print_json,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from creditsync.departments import DepartmentConfig
    from creditsync.exceptions import FieldError


class Format(StrEnum):
    table = "table"
    json = "json"


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)
    app.command("map")(map_sample)
    app.command("push")(push_file_cmd)


def _check_category(category: str) -> str:
    from creditsync.schema import CATEGORIES

    if category not in CATEGORIES:
        raise typer.BadParameter(f"unknown category {category!r}; known: {', '.join(sorted(CATEGORIES))}")
    return category


def validate(
    category: str = typer.Option(..., "--category", "-c", callback=_check_category,
                                 help="penalty, license, enforcement, inspection, … (docs/categories.md)"),
    input_path: Path = typer.Option(..., "--input", "-i", exists=True, dir_okay=False,
                                    help="Canonical records: JSONL, JSON array, or CSV/XLSX "
                                         "with standard codes as headers."),
    output: Format = typer.Option(Format.table, "--format", "-f"),
) -> None:
    """Check canonical records against the municipal schema. Exit 0 all valid, 1 any invalid."""
    from creditsync.pipeline.handover import read_template_file
    from creditsync.schema import validate_record

    invalid = 0
    with gateway_errors():
        for index, raw in enumerate(read_template_file(input_path, category)):
            problems = (_unreadable(raw.error) if raw.error
                        else validate_record(category, raw.data).errors)
            invalid += bool(problems)
            _print_result(output, index, raw.key, problems)
    if output is Format.table:
        console.print(f"{index + 1 if 'index' in locals() else 0} records, {invalid} invalid")
    raise typer.Exit(EXIT_INVALID if invalid else EXIT_OK)


def _unreadable(reason: str) -> list[FieldError]:
    from creditsync.exceptions import FieldError

    return [FieldError("(record)", f"记录无法读取：{reason}", f"record is unreadable: {reason}")]


def _print_result(output: Format, index: int, key: str, problems: list[FieldError]) -> None:
    if output is Format.json:
        print_json({"index": index, "valid": not problems, "errors": _shown(problems)})
        return
    if not problems:
        return
    console.print(f"[bold]record {index}[/bold] ({key}): [red]invalid[/red]")
    for problem in _shown(problems):
        console.print(f"  {problem['field']}: {problem['message']}")


def _shown(problems: list[FieldError]) -> list[dict[str, str]]:
    """Messages may quote the bad value, e.g. an ID number typed into a date column: mask it."""
    from creditsync.privacy import mask_text

    return [{"field": e.field, "message": mask_text(e.message)} for e in problems]


def map_sample(
    mapping_path: Path = typer.Option(..., "--mapping", "-m", exists=True, dir_okay=False),
    input_path: Path = typer.Option(..., "--input", "-i", exists=True, dir_okay=False,
                                    help="A raw source sample: JSONL, JSON array, CSV, XLSX or XML."),
    output: Format = typer.Option(Format.table, "--format", "-f"),
) -> None:
    """Dry-run a mapping on a raw source sample: the mapped records (ID numbers masked) and errors."""
    from creditsync.mapping import load_mapping
    from creditsync.pipeline.handover import department_of_mapping, read_template_file
    from creditsync.schema import validate_record

    bad = 0
    with gateway_errors():
        spec = load_mapping(mapping_path)
        department = department_of_mapping(mapping_path)  # its XML samples: record_tag, namespaces
        as_source = _source_values(department, spec.category)
        for index, raw in enumerate(read_template_file(input_path, spec.category, department)):
            data = raw.data if raw.error else as_source(raw.data)
            if raw.error or not isinstance(data, dict):
                mapped, problems = {}, _unreadable(str(raw.error or getattr(data, "reason", "unreadable")))
            else:
                result = spec.apply(data)
                failed = {e.field for e in result.errors}
                checks = validate_record(spec.category, result.data).errors
                mapped = result.data
                problems = list(result.errors) + [e for e in checks if e.field not in failed]
            bad += bool(problems)
            _print_mapped(output, index, mapped, problems)
    raise typer.Exit(EXIT_INVALID if bad else EXIT_OK)


def _source_values(department: DepartmentConfig | None, category: str) -> Callable[[dict[str, Any]], Any]:
    """A sample's values read as the department's source reads them in a sync (creditsync.sources)."""
    from creditsync.sources.registry import sample_values

    if department is None or category not in {stream.category for stream in department.streams}:
        return lambda data: data
    return sample_values(department, category)


def _print_mapped(output: Format, index: int, mapped: dict[str, object], problems: list[FieldError]) -> None:
    from creditsync.privacy import mask_record

    shown = mask_record(mapped)
    if output is Format.json:
        print_json({"index": index, "valid": not problems, "record": shown, "errors": _shown(problems)})
        return
    status = "[green]ok[/green]" if not problems else "[red]invalid[/red]"
    console.print(f"[bold]record {index}[/bold] {status}")
    for code, value in shown.items():
        console.print(f"  {code} = {value}")
    for problem in _shown(problems):
        console.print(f"  [red]{problem['field']}: {problem['message']}[/red]")


def push_file_cmd(
    category: str = typer.Option(..., "--category", "-c", callback=_check_category),
    input_path: Path = typer.Option(..., "--input", "-i", exists=True, dir_okay=False,
                                    help="The standard template as CSV, XLSX or JSONL."),
    department: str = typer.Option("manual_handover", "--department", "-d"),
) -> None:
    """Validate, store, queue and push a handed-over file; safe to run again until it exits 0.

    Exit 0 every valid record acknowledged, 1 some rejected or quarantined, 3 delivery incomplete."""
    from creditsync.pipeline.runner import Gateway, push_file
    from creditsync.settings import PLATFORM_URL

    if not PLATFORM_URL.read():
        errors.print("[yellow]CREDITSYNC_PLATFORM_URL is not set: using the platform Connection[/yellow]")
    code = EXIT_OK
    with gateway_errors():
        gateway = Gateway.open()
        try:
            result = push_file(gateway, input_path, category, department)
        finally:
            gateway.store.dispose()
    summary = result["summary"]
    console.print_json(data={"run_id": result["run_id"], **summary})
    if summary["pending_department"]:
        code = EXIT_INCOMPLETE
    elif any(summary["records"].get(k) for k in ("quarantined", "still_rejected")) or \
            summary["outbox"].get("rejected"):
        code = EXIT_INVALID
    raise typer.Exit(code)
