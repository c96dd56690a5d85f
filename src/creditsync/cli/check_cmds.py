"""Onboarding a department: ``creditsync check`` tries its source and mappings end to end without
writing anything; ``creditsync source-schema`` gives a source kind's options as a JSON Schema."""

from __future__ import annotations

import json
from collections import Counter
from enum import StrEnum
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from creditsync.cli.output import EXIT_INCOMPLETE, EXIT_INVALID, EXIT_OK, console, gateway_errors, print_json

if TYPE_CHECKING:
    from creditsync.departments import DepartmentConfig, StreamConfig
    from creditsync.sources.base import SourceAdapter

SHOWN = 10  # problems listed per stream


class Format(StrEnum):
    table = "table"
    json = "json"


def register(app: typer.Typer) -> None:
    app.command("check")(check)
    app.command("source-schema")(source_schema)


def check(
    department: str = typer.Argument(..., help="Department id, e.g. urban_management"),
    category: list[str] = typer.Option(None, "--category", "-c", help="Only these streams."),
    cursor: str = typer.Option(None, "--cursor", help="Read from this cursor (default: from the start)."),
    limit: int = typer.Option(100, "--limit", min=1, help="Records read per stream at most (one page)."),
    output: Format = typer.Option(Format.table, "--format", "-f"),
) -> None:
    """Connect to the department's system, read one page of each stream, map and validate it, and show
    what a sync would publish and quarantine. Writes nothing: no store, no cursor, no moved file.
    Exit 0 all valid, 1 some would be quarantined, 2 configuration error, 3 the source failed."""
    from creditsync.departments import load_department
    from creditsync.exceptions import CreditSyncError
    from creditsync.settings import load_settings
    from creditsync.sources.registry import open_source

    with gateway_errors():
        settings = load_settings()
        config = load_department(settings.adapters_dir, department)
        streams = [s for s in config.streams if not category or s.category in category]
        adapter = open_source(config)
    report: dict[str, Any] = {"department": department, "connected": None, "streams": {}}
    with adapter:
        try:
            adapter.check()
            report["connected"] = True
        except CreditSyncError as exc:
            report["connected"] = f"failed: {exc}"
        for stream in streams:
            with gateway_errors():
                report["streams"][stream.category] = _stream(adapter, config, stream, settings.mappings_dir,
                                                             cursor, limit)
    _print(report, output)
    failed = report["connected"] is not True or any(s.get("source_error") for s in report["streams"].values())
    invalid = any(s["would"].get("quarantine") for s in report["streams"].values())
    raise typer.Exit(EXIT_INCOMPLETE if failed else EXIT_INVALID if invalid else EXIT_OK)


def _stream(adapter: SourceAdapter, config: DepartmentConfig, stream: StreamConfig, mappings_dir: Path,
            cursor: str | None, limit: int) -> dict[str, Any]:
    from creditsync.exceptions import CreditSyncError
    from creditsync.mapping import load_mapping
    from creditsync.pipeline.translate import Translator
    from creditsync.privacy import mask_text

    mapping = load_mapping(config.mapping_path(mappings_dir, stream))
    translator = Translator(stream.category, mapping, config.source.kind, stream.revoked_when)
    would: Counter[str] = Counter()
    problems: list[dict[str, Any]] = []
    result: dict[str, Any] = {"read": 0, "would": would, "problems": problems, "cursors": []}
    try:
        page = adapter.read(stream.category, stream.options, cursor, preview=True, max_pages=1)
        for raw in islice(page, limit):
            result["read"] += 1
            if raw.cursor is not None:
                first = result["cursors"][0] if result["cursors"] else str(raw.cursor)
                result["cursors"] = [first, str(raw.cursor)]
            errors = ([("(record)", str(raw.error))] if raw.error else
                      [(e.field, e.message) for e in translator.translate(raw.data).errors])
            if errors:
                would["quarantine"] += 1
                if len(problems) < SHOWN:
                    problems.append({"source_key": mask_text(raw.key),
                                     "errors": [{"field": f, "message": mask_text(m)} for f, m in errors]})
            else:
                would["withdraw_or_skip_revoked" if translator.is_revoked(raw.data) else "publish"] += 1
    except CreditSyncError as exc:
        result["source_error"] = mask_text(str(exc))
    result["would"] = dict(would)
    return result


def _print(report: dict[str, Any], output: Format) -> None:
    if output is Format.json:
        print_json(report)
        return
    connected = report["connected"]
    console.print(f"[bold]{report['department']}[/bold]: connection "
                  + ("[green]ok[/green]" if connected is True else f"[red]{connected}[/red]"))
    for category, stream in report["streams"].items():
        would = stream["would"]
        span = " → ".join(stream["cursors"]) or "no cursor"
        console.print(f"  {category}: read {stream['read']} ({span}); would publish "
                      f"{would.get('publish', 0)}, quarantine {would.get('quarantine', 0)}, "
                      f"withdraw or skip as revoked {would.get('withdraw_or_skip_revoked', 0)}")
        if stream.get("source_error"):
            console.print(f"    [red]source failed: {stream['source_error']}[/red]")
        for problem in stream["problems"]:
            for error in problem["errors"]:
                console.print(f"    {problem['source_key']}: {error['field']}: {error['message']}")


def source_schema(
    kind: str = typer.Argument(..., help="rest, xml, sql, file, or a custom kind"),
    output: Path = typer.Option(None, "--output", "-o", help="Write it here instead of printing it."),
) -> None:
    """The JSON Schema of a source kind's options (source level and per stream) and of source.limits,
    for editors and for review: every option, its type, default and description."""
    from creditsync.sources.limits import SourceLimits
    from creditsync.sources.registry import get_adapter_class

    with gateway_errors():
        adapter_class = get_adapter_class(kind)
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": f"{kind} source",
              "type": "object", "properties": {
                  "options": adapter_class.options_model.model_json_schema(),
                  "stream_options": adapter_class.stream_options_model.model_json_schema(),
                  "limits": SourceLimits.model_json_schema()}}
    text = json.dumps(schema, ensure_ascii=False, indent=2)
    if output:
        output.write_text(text + "\n", encoding="utf-8")
        console.print(f"wrote {output}")
    else:
        typer.echo(text)
